/**
 * `lease-delete`: a node's lease deleted from etcd, as an expiry or an operator would: every peer must drop
 * the node's routes, neighbours and FDB entries.
 *
 * @module
 */
import type { FaultKind } from "./_kind.ts";

export const leaseDelete: FaultKind<"lease-delete"> = {
  async inject({ cluster: c }, f, mark) {
    const key = await c.deleteLease(f.node);
    mark(key ? `deleted ${key}` : `no lease of ${f.node}`);
    return key ? `deleted ${key}` : `${f.node} had no lease to delete`;
  },
  revert: () => Promise.resolve("nothing to revert"),
};
