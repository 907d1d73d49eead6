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

export const leaseTake: FaultKind<"lease-take"> = {
  async inject({ cluster: c }, f, mark) {
    const key = await c.giveLeaseAway(f.node, STAND_IN_HOST);
    const what = key ? `${key} now belongs to ${STAND_IN_HOST}` : `${f.node} had no lease to give away`;
    mark(what);
    return what;
  },
  revert: () => Promise.resolve("nothing to revert"),
};
