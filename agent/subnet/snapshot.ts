/**
 * The cluster's lease snapshot, keyed by lease key name (`10.5.52.0-24`), and how listings and watch events fold
 * into it (pure: the functions change the map they are given and return what changed, nothing else).
 *
 * The snapshot is level-triggered: a full listing replaces it and the difference comes out as events, so a
 * missed watch event or a compaction heals on the next listing, as in upstream's LeaseWatcher. A lease rewritten
 * with equal attributes (a renewal) is no event: peers need no new kernel entries for it.
 *
 * @module
 */
import type { Lease, LeaseEvent } from "./lease.ts";
import { leaseKeyName } from "./lease_codec.ts";
import { sameAttrs } from "./lease_match.ts";
import type { RegistryEvent } from "./registry.ts";

/**
 * Replaces the snapshot with a full listing and returns the difference: `removed` for keys that are gone, then
 * `added` for keys that are new or whose attributes changed.
 *
 * @param snapshot the snapshot, replaced in place (listeners keep the same map)
 * @param leases every lease of the listing
 * @returns the events that turn the old snapshot into the new one
 * @example
 * ```ts
 * import { replaceSnapshot } from "./snapshot.ts";
 * import { parseCidr, parseIp } from "../ip.ts";
 * const lease = (cidr: string) => ({
 *   subnet: parseCidr(cidr), attrs: { publicIp: parseIp("192.168.1.2") }, etcdLeaseId: "1", revision: 1n,
 * });
 * const snapshot = new Map([["10.5.1.0-24", lease("10.5.1.0/24")]]);
 * const events = replaceSnapshot(snapshot, [lease("10.5.2.0/24")]);
 * console.assert(events.map((e) => e.kind).join() === "removed,added");
 * console.assert([...snapshot.keys()].join() === "10.5.2.0-24");
 * ```
 */
export function replaceSnapshot(snapshot: Map<string, Lease>, leases: readonly Lease[]): LeaseEvent[] {
  const next = new Map(leases.map((l) => [leaseKeyName(l), l] as const));
  const events: LeaseEvent[] = [];
  for (const [key, old] of snapshot) {
    if (!next.has(key)) events.push({ kind: "removed", lease: old });
  }
  for (const [key, lease] of next) {
    const old = snapshot.get(key);
    if (!old || !sameAttrs(old.attrs, lease.attrs)) events.push({ kind: "added", lease });
  }
  snapshot.clear();
  for (const [key, lease] of next) snapshot.set(key, lease);
  return events;
}

/**
 * Applies watch events to the snapshot. A put always stores the lease (its revision and etcd lease are new) but
 * is an `added` event only when the key is new or its attributes changed; a delete of a key not in the snapshot
 * is no event.
 *
 * @param snapshot the snapshot, changed in place
 * @param events the registry's events, in order
 * @returns the lease events they amount to
 * @example A renewal is no event, a delete is
 * ```ts
 * import { applyRegistryEvents } from "./snapshot.ts";
 * import { parseCidr, parseIp } from "../ip.ts";
 * const subnets = { subnet: parseCidr("10.5.1.0/24") };
 * const lease = { ...subnets, attrs: { publicIp: parseIp("192.168.1.2") }, etcdLeaseId: "1", revision: 1n };
 * const snapshot = new Map([["10.5.1.0-24", lease]]);
 * const events = applyRegistryEvents(snapshot, [
 *   { kind: "put", lease: { ...lease, etcdLeaseId: "2", revision: 2n } },
 *   { kind: "delete", subnets, revision: 3n },
 * ]);
 * console.assert(events.map((e) => e.kind).join() === "removed" && snapshot.size === 0);
 * ```
 */
export function applyRegistryEvents(
  snapshot: Map<string, Lease>,
  events: readonly RegistryEvent[],
): LeaseEvent[] {
  const out: LeaseEvent[] = [];
  for (const event of events) {
    if (event.kind === "put") {
      const key = leaseKeyName(event.lease);
      const old = snapshot.get(key);
      snapshot.set(key, event.lease);
      if (!old || !sameAttrs(old.attrs, event.lease.attrs)) out.push({ kind: "added", lease: event.lease });
    } else {
      const key = leaseKeyName(event.subnets);
      const old = snapshot.get(key);
      if (!old) continue;
      snapshot.delete(key);
      out.push({ kind: "removed", lease: old });
    }
  }
  return out;
}
