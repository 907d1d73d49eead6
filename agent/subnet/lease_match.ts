/**
 * Which lease is whose, and which leases are the same: the comparisons the lease manager decides by (pure).
 *
 * A node recognises its lease by its PublicIP, as upstream does, with one deliberate difference: an IPv6-only
 * node publishes the shared "0.0.0.0" as its PublicIP, so two such nodes are told apart by their IPv6 address
 * instead (upstream would take the other node's lease).
 *
 * @module
 */
import type { NetworkConfig, SubnetPool } from "../config/mod.ts";
import { ipEqual, type IpNet } from "../ip.ts";
import { isCompatibleSubnet } from "./allocator.ts";
import type { LeaseAttrs, LeaseSubnets } from "./lease.ts";

/**
 * Whether two sets of attributes belong to the same node: the same IPv4 PublicIP, or, when both are
 * "0.0.0.0" (IPv6-only nodes), the same IPv6 PublicIP.
 *
 * @param a the attributes of one lease
 * @param b the attributes of another lease (or the ones we would publish)
 * @returns whether both name the same node
 * @example Two IPv6-only nodes
 * ```ts
 * import { sameOwner } from "./lease_match.ts";
 * import { parseIp } from "../ip.ts";
 * const a = { publicIp: parseIp("0.0.0.0"), publicIpv6: parseIp("fd00::1") };
 * const b = { publicIp: parseIp("0.0.0.0"), publicIpv6: parseIp("fd00::2") };
 * console.assert(!sameOwner(a, b));
 * console.assert(sameOwner(a, { ...a, backendType: "vxlan" }));
 * ```
 */
export function sameOwner(a: LeaseAttrs, b: LeaseAttrs): boolean {
  if (a.publicIp.value !== 0n || b.publicIp.value !== 0n) return ipEqual(a.publicIp, b.publicIp);
  return a.publicIpv6 !== undefined && b.publicIpv6 !== undefined && ipEqual(a.publicIpv6, b.publicIpv6);
}

/**
 * Whether two sets of attributes are equal: same owner, backend type, backend data (compared as JSON) and
 * IPv6 PublicIP. A lease rewritten with equal attributes is no change for the data plane.
 *
 * @param a the attributes of one lease
 * @param b the attributes of another lease
 * @returns whether a peer holding `a` and one holding `b` need the same kernel entries
 * @example A new VTEP MAC is a change
 * ```ts
 * import { sameAttrs } from "./lease_match.ts";
 * import { parseIp } from "../ip.ts";
 * const a = { publicIp: parseIp("192.168.1.1"), backendType: "vxlan", backendData: { VtepMAC: "aa" } };
 * console.assert(sameAttrs(a, { ...a, backendData: { VtepMAC: "aa" } }));
 * console.assert(!sameAttrs(a, { ...a, backendData: { VtepMAC: "bb" } }));
 * ```
 */
export function sameAttrs(a: LeaseAttrs, b: LeaseAttrs): boolean {
  return sameOwner(a, b) && a.backendType === b.backendType &&
    JSON.stringify(a.backendData) === JSON.stringify(b.backendData) &&
    JSON.stringify(a.backendV6Data) === JSON.stringify(b.backendV6Data) &&
    (a.publicIpv6 === undefined) === (b.publicIpv6 === undefined) &&
    (a.publicIpv6 === undefined || ipEqual(a.publicIpv6, b.publicIpv6!));
}

/**
 * Whether a lease's subnets fit the config (upstream's "compatible"): a subnet of each enabled family, of its
 * pool's SubnetLen and between its SubnetMin and SubnetMax, and none of a disabled family.
 *
 * @param config the network config
 * @param subnets the subnets of a lease
 * @returns whether the lease can be kept under this config
 * @example
 * ```ts
 * import { leaseFitsConfig } from "./lease_match.ts";
 * import { parseNetworkConfig } from "../config/mod.ts";
 * import { parseCidr } from "../ip.ts";
 * const config = parseNetworkConfig(`{"Network":"10.5.0.0/16","Backend":{"Type":"vxlan"}}`);
 * console.assert(leaseFitsConfig(config, { subnet: parseCidr("10.5.7.0/24") }));
 * console.assert(!leaseFitsConfig(config, { subnet: parseCidr("10.6.7.0/24") }));
 * ```
 */
export function leaseFitsConfig(config: NetworkConfig, subnets: LeaseSubnets): boolean {
  const fits = (pool: SubnetPool | undefined, net: IpNet | undefined) =>
    pool === undefined ? net === undefined : net !== undefined && isCompatibleSubnet(pool, net);
  return fits(config.ipv4, subnets.subnet) && fits(config.ipv6, subnets.ipv6Subnet);
}
