/**
 * The decisions of one lease acquisition, apart from the registry calls that carry them out (pure).
 *
 * Upstream's order, which the lease manager follows: reuse the lease carrying our PublicIP (deleting ours that no
 * longer fit the config on the way), else re-create the subnet from the previous subnet.env if it is still free,
 * else allocate a random free subnet. Each step here only says what to try; creating, updating and deleting
 * keys, and retrying when another node wins a race, stay in `manager.ts`.
 *
 * @module
 */
import type { NetworkConfig } from "../config/mod.ts";
import { type IpNet, netOverlaps } from "../ip.ts";
import { allocateSubnet } from "./allocator.ts";
import type { Lease, LeaseAttrs, LeaseSubnets } from "./lease.ts";
import { parseLeaseKey } from "./lease_codec.ts";
import { leaseFitsConfig, sameOwner } from "./lease_match.ts";
import type { LeaseListing } from "./registry.ts";

/** What {@linkcode findOwnLeases} found of ours in a listing. */
export interface OwnLeases {
  /** Our leases that no longer fit the config, to delete, in listing order (those before `reuse` only). */
  readonly stale: readonly Lease[];
  /** The first of our leases that fits the config, to reuse. */
  readonly reuse: Lease | undefined;
}

/**
 * Finds our leases (those whose attributes name our PublicIP) in a listing, as upstream walks it: leases that do
 * not fit the config are stale until the first one that fits, which is reused; the walk stops there.
 *
 * @param leases the leases of a listing, in its order
 * @param attrs the attributes we publish
 * @param config the network config
 * @returns the leases to delete and the one to reuse
 * @example A lease outside the pool is stale, the next one is reused
 * ```ts
 * import { findOwnLeases } from "./acquire_plan.ts";
 * import { parseNetworkConfig } from "../config/mod.ts";
 * import { parseCidr, parseIp } from "../ip.ts";
 * const attrs = { publicIp: parseIp("192.168.1.1") };
 * const lease = (cidr: string) => ({ subnet: parseCidr(cidr), attrs, etcdLeaseId: "1", revision: 1n });
 * const config = parseNetworkConfig(`{"Network":"10.5.0.0/16","Backend":{"Type":"vxlan"}}`);
 * const own = findOwnLeases([lease("10.9.1.0/24"), lease("10.5.2.0/24")], attrs, config);
 * console.assert(own.stale.length === 1 && own.reuse?.subnet?.addr.value === parseIp("10.5.2.0").value);
 * ```
 */
export function findOwnLeases(
  leases: readonly Lease[],
  attrs: LeaseAttrs,
  config: NetworkConfig,
): OwnLeases {
  const stale: Lease[] = [];
  for (const lease of leases) {
    if (!sameOwner(lease.attrs, attrs)) continue;
    if (!leaseFitsConfig(config, lease)) {
      stale.push(lease);
      continue;
    }
    return { stale, reuse: lease };
  }
  return { stale, reuse: undefined };
}

/**
 * The subnets of every key that exists, including keys whose value is malformed: those are occupied too.
 *
 * @param listing a listing of the registry
 * @returns every IPv4 and IPv6 subnet a key names
 * @example
 * ```ts
 * import { takenSubnets } from "./acquire_plan.ts";
 * import { formatCidr } from "../ip.ts";
 * const taken = takenSubnets({ leases: [], malformed: [{ key: "10.5.3.0-24", revision: 2n, reason: "bad JSON" }] });
 * console.assert(taken.map(formatCidr).join() === "10.5.3.0/24");
 * ```
 */
export function takenSubnets(listing: Pick<LeaseListing, "leases" | "malformed">): IpNet[] {
  const out: IpNet[] = [];
  const add = (s: LeaseSubnets) => {
    if (s.subnet) out.push(s.subnet);
    if (s.ipv6Subnet) out.push(s.ipv6Subnet);
  };
  listing.leases.forEach(add);
  for (const m of listing.malformed) {
    const s = parseLeaseKey(m.key);
    if (s) add(s);
  }
  return out;
}

/**
 * The subnets this node held before (from subnet.env), when they still fit the config and no key overlaps them.
 *
 * @param previous the subnets from the previous subnet.env, if any
 * @param config the network config
 * @param taken the subnets of every existing key ({@linkcode takenSubnets})
 * @returns the subnets to re-create, or `undefined` when there are none or they are not free
 * @example
 * ```ts
 * import { freePreviousSubnets } from "./acquire_plan.ts";
 * import { parseNetworkConfig } from "../config/mod.ts";
 * import { parseCidr } from "../ip.ts";
 * const config = parseNetworkConfig(`{"Network":"10.5.0.0/16","Backend":{"Type":"vxlan"}}`);
 * const previous = { subnet: parseCidr("10.5.4.0/24") };
 * console.assert(freePreviousSubnets(previous, config, []) !== undefined);
 * console.assert(freePreviousSubnets(previous, config, [parseCidr("10.5.4.0/22")]) === undefined);
 * ```
 */
export function freePreviousSubnets(
  previous: { readonly subnet?: IpNet | undefined; readonly ipv6Subnet?: IpNet | undefined } | undefined,
  config: NetworkConfig,
  taken: readonly IpNet[],
): LeaseSubnets | undefined {
  const subnets = subnetsFrom(previous?.subnet, previous?.ipv6Subnet);
  if (!subnets || !leaseFitsConfig(config, subnets) || overlapsAny(subnets, taken)) return undefined;
  return subnets;
}

/**
 * Allocates a free subnet of each family the config enables (IPv4 first, so a seeded `random` gives the same
 * subnets every time).
 *
 * @param config the network config
 * @param taken the subnets of every existing key ({@linkcode takenSubnets})
 * @param random uniform numbers in [0, 1), for the allocator
 * @returns the subnets to create, or `undefined` when the config enables neither family
 * @throws {SubnetPoolExhaustedError} when a pool has no free subnet
 * @example
 * ```ts
 * import { allocateLeaseSubnets } from "./acquire_plan.ts";
 * import { parseNetworkConfig } from "../config/mod.ts";
 * import { formatCidr, parseCidr } from "../ip.ts";
 * const config = parseNetworkConfig(`{"Network":"10.5.0.0/22","Backend":{"Type":"vxlan"}}`);
 * const subnets = allocateLeaseSubnets(config, [parseCidr("10.5.1.0/24")], () => 0);
 * console.assert(formatCidr(subnets!.subnet!) === "10.5.2.0/24");
 * ```
 */
export function allocateLeaseSubnets(
  config: NetworkConfig,
  taken: readonly IpNet[],
  random: () => number,
): LeaseSubnets | undefined {
  const subnet = config.ipv4
    ? allocateSubnet(config.ipv4, taken.filter((n) => n.addr.family === 4), random)
    : undefined;
  const ipv6Subnet = config.ipv6
    ? allocateSubnet(config.ipv6, taken.filter((n) => n.addr.family === 6), random)
    : undefined;
  return subnetsFrom(subnet, ipv6Subnet);
}

function subnetsFrom(subnet: IpNet | undefined, ipv6Subnet: IpNet | undefined): LeaseSubnets | undefined {
  if (subnet) return ipv6Subnet ? { subnet, ipv6Subnet } : { subnet };
  if (ipv6Subnet) return { ipv6Subnet };
  return undefined;
}

function overlapsAny(s: LeaseSubnets, taken: readonly IpNet[]): boolean {
  return [s.subnet, s.ipv6Subnet].some((n) => n !== undefined && taken.some((t) => netOverlaps(n, t)));
}
