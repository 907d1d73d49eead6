/**
 * The rule that an agent only ever routes subnets of its own network (pure).
 *
 * Anyone who can write to etcd can put a key under `<prefix>/subnets/`: a node configured for another network,
 * a hand-written lease with a typo, a second agent that claims a subnet overlapping ours. Upstream flanneld
 * programs whatever it finds; a route for `10.95.1.0/24` on a node whose network is `10.94.0.0/16` then
 * steals traffic that has nothing to do with flannel. Before any backend plans, each remote lease is checked
 * against the network config: its subnet must lie inside `Network` with exactly `SubnetLen` (the same for
 * IPv6), and it must not overlap our own subnet. A lease that fails is planned by no backend; it is reported
 * as a peer in error with the reason, which the reconcile loop logs once, counts, and shows in `/status`.
 *
 * @module
 */
import { formatCidr, type IpNet, netContains, netOverlaps } from "../../ip.ts";
import type { SubnetPool } from "../../config/mod.ts";
import type { Lease } from "../../subnet/lease.ts";
import { leaseKeyName } from "../../subnet/lease_codec.ts";
import type { PeerState } from "../backend.ts";

/** The pools a lease must fit: the network config's `ipv4` and `ipv6` (`undefined` = family disabled). */
export interface LeaseScope {
  readonly ipv4: SubnetPool | undefined;
  readonly ipv6: SubnetPool | undefined;
}

/** What screening a snapshot gave: the leases backends may plan, and the rest with why. */
export interface ScopedSnapshot {
  /** Our own lease and every remote lease inside the network; the input itself when nothing was rejected. */
  readonly snapshot: ReadonlyMap<string, Lease>;
  /** Lease key → an `error` state naming the rule the lease breaks. */
  readonly rejected: ReadonlyMap<string, PeerState & { readonly state: "error" }>;
}

/**
 * Why one subnet of a remote lease is not ours to route, or `undefined` when it is.
 *
 * @example
 * ```ts
 * import { subnetOutOfScope } from "./lease_scope.ts";
 * import { parseCidr } from "../../ip.ts";
 * const pool = { network: parseCidr("10.94.0.0/16"), subnetLen: 24 } as const;
 * subnetOutOfScope(parseCidr("10.95.1.0/24"), pool, undefined, "Network");
 * // "subnet 10.95.1.0/24 is outside Network 10.94.0.0/16"
 * ```
 */
export function subnetOutOfScope(
  subnet: IpNet,
  pool: Pick<SubnetPool, "network" | "subnetLen"> | undefined,
  own: IpNet | undefined,
  field: "Network" | "IPv6Network",
): string | undefined {
  // A family the network does not enable is planned by no backend, so its part of a lease routes nothing.
  if (!pool) return undefined;
  const text = () => formatCidr(subnet);
  if (!netContains(pool.network, subnet.addr) || subnet.prefixLen < pool.network.prefixLen) {
    return `subnet ${text()} is outside ${field} ${formatCidr(pool.network)}`;
  }
  if (own && netOverlaps(own, subnet)) {
    return `subnet ${text()} overlaps our own subnet ${formatCidr(own)}`;
  }
  if (subnet.prefixLen !== pool.subnetLen) {
    const lenField = field === "Network" ? "SubnetLen" : "IPv6SubnetLen";
    return `subnet ${text()} is a /${subnet.prefixLen}, but ${lenField} is ${pool.subnetLen}`;
  }
  return undefined;
}

/**
 * Splits a lease snapshot into what backends may plan and what they must leave alone. Our own lease always
 * stays in. Cheap when nothing is rejected: the input map is returned as it is.
 *
 * @param snapshot every lease, ours included, keyed by lease key
 * @param own our lease
 * @param scope the network config's pools
 */
export function screenSnapshot(
  snapshot: ReadonlyMap<string, Lease>,
  own: Lease,
  scope: LeaseScope,
): ScopedSnapshot {
  const ownKey = leaseKeyName(own);
  let rejected: Map<string, PeerState & { readonly state: "error" }> | undefined;
  for (const [key, lease] of snapshot) {
    if (key === ownKey) continue;
    const reasons: string[] = [];
    if (lease.subnet) {
      const why = subnetOutOfScope(lease.subnet, scope.ipv4, own.subnet, "Network");
      if (why) reasons.push(why);
    }
    if (lease.ipv6Subnet) {
      const why = subnetOutOfScope(lease.ipv6Subnet, scope.ipv6, own.ipv6Subnet, "IPv6Network");
      if (why) reasons.push(why);
    }
    if (reasons.length === 0) continue;
    rejected ??= new Map();
    rejected.set(key, {
      state: "error",
      reason: `${
        reasons.join("; ")
      }: an agent only routes subnets of its own network, so nothing is installed`,
    });
  }
  if (!rejected) return { snapshot, rejected: new Map() };
  const kept = new Map<string, Lease>();
  for (const [key, lease] of snapshot) if (!rejected.has(key)) kept.set(key, lease);
  return { snapshot: kept, rejected };
}
