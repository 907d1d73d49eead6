/**
 * `lease: take`: a node's subnet given to another host while the node is away, as happens when its lease
 * expires during a long outage and a new node joins. The lease is rewritten with a stand-in public address
 * (TEST-NET-1, which no lab uses), so a restarted agent must see that its old subnet is someone else's and
 * lease a new one instead of taking it back.
 *
 * @module
 */
import type { FaultKind } from "./_kind.ts";

/** The host that takes the subnet: RFC 5737 TEST-NET-1, never a lab address. */
export const STAND_IN_HOST = "192.0.2.1";

/** `lease: take, node: N`. */
export const leaseTake: FaultKind<"lease-take"> = {
  trigger: "lease",
  form: "lease: take",
  selects: (o) => o["lease"] === "take",
  keys: ["lease", "node"],
  parse(r, o, path) {
    if (!r.only(o, path, ["lease", "node"], "a lease given away")) return undefined;
    const node = r.node(o["node"], [...path, "node"], "node");
    return node ? { kind: "lease-take", node } : undefined;
  },
  describe: (f) => `give ${f.node}'s subnet to another host`,
  what: () => "a lease given away",
  // None: the subnet is given away while the node's agent is stopped; the steps after it judge what the
  // restarted agent makes of that.
  expectKeys: [],
  async inject({ cluster: c }, f, mark) {
    const key = await c.giveLeaseAway(f.node, STAND_IN_HOST);
    const what = key ? `${key} now belongs to ${STAND_IN_HOST}` : `${f.node} had no lease to give away`;
    mark(what);
    return what;
  },
  revert: () => Promise.resolve("nothing to revert"),
};
