/**
 * `lease-delete`: a node's lease deleted from etcd, as an expiry or an operator would: every peer must drop
 * the node's routes, neighbours and FDB entries.
 *
 * @module
 */
import { type FaultKind, PROBE_EXPECT } from "./_kind.ts";

/** `lease: delete, node: N`. */
export const leaseDelete: FaultKind<"lease-delete"> = {
  trigger: "lease",
  form: "lease: delete",
  selects: (o) => o["lease"] === "delete",
  keys: ["lease", "node"],
  parse(r, o, path) {
    if (!r.only(o, path, ["lease", "node"], "a lease deletion")) return undefined;
    const node = r.node(o["node"], [...path, "node"], "node");
    return node ? { kind: "lease-delete", node } : undefined;
  },
  describe: (f) => `delete ${f.node}'s lease`,
  what: () => "a lease deletion",
  expectKeys: [...PROBE_EXPECT, "gone-from-peers-within"],
  async inject({ cluster: c }, f, mark) {
    const key = await c.deleteLease(f.node);
    mark(key ? `deleted ${key}` : `no lease of ${f.node}`);
    return key ? `deleted ${key}` : `${f.node} had no lease to delete`;
  },
  revert: () => Promise.resolve("nothing to revert"),
};
