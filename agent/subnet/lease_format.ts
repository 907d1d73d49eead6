/**
 * How leases appear in log lines (pure). Kept apart from the lease manager so that the daemon, which logs the
 * lease it was given, and the manager's helpers can use it without importing the manager.
 *
 * @module
 */
import { formatCidr, type IpNet } from "../ip.ts";
import type { LeaseSubnets } from "./lease.ts";

/**
 * A one-line description of a lease's subnets, for logs.
 *
 * @param s the subnets of a lease
 * @returns the subnets in CIDR form, IPv4 first, comma-separated
 * @example
 * ```ts
 * import { describeSubnets } from "./lease_format.ts";
 * import { parseCidr } from "../ip.ts";
 * const s = { subnet: parseCidr("10.5.1.0/24"), ipv6Subnet: parseCidr("fc00:0:0:1::/64") };
 * console.assert(describeSubnets(s) === "10.5.1.0/24,fc00:0:0:1::/64");
 * ```
 */
export function describeSubnets(s: LeaseSubnets): string {
  return [s.subnet, s.ipv6Subnet].filter((n): n is IpNet => n !== undefined).map(formatCidr).join(",");
}
