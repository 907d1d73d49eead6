/**
 * PublicIP clash detection: other hosts that publish our PublicIP (pure; the lease manager logs each clash once
 * and counts them).
 *
 * Two nodes sharing one address is typically the NAT NIC every Vagrant/VirtualBox machine has (10.0.2.15): the
 * agent picks it as the PublicIP on each of them, and their pods cannot reach each other. Upstream says nothing;
 * we report it as an error naming the fix.
 *
 * @module
 */
import type { Lease, LeaseAttrs } from "./lease.ts";
import { leaseKeyName } from "./lease_codec.ts";
import { sameAttrs, sameOwner } from "./lease_match.ts";

/**
 * Finds the clashes among `leases`: another lease carrying our PublicIP, or our own lease rewritten with backend
 * data that is neither what we wrote nor what we would write (another host with our address reused it, as
 * agents do with the lease that carries their address).
 *
 * @param leases the leases to look at (the changed ones, or the whole snapshot when our lease is new)
 * @param own our lease as we last wrote it
 * @param attrs the attributes we publish now
 * @returns one line per clash, the same line for the same clash (for logging each once)
 * @example
 * ```ts
 * import { findAddressClashes } from "./address_clash.ts";
 * import { parseCidr, parseIp } from "../ip.ts";
 * const attrs = { publicIp: parseIp("10.0.2.15"), backendType: "host-gw" };
 * const own = { subnet: parseCidr("10.5.1.0/24"), attrs, etcdLeaseId: "1", revision: 1n };
 * const other = { ...own, subnet: parseCidr("10.5.2.0/24") };
 * console.assert(findAddressClashes([own], own, attrs).length === 0);
 * console.assert(findAddressClashes([own, other], own, attrs)[0] === "lease 10.5.2.0-24 carries our PublicIP too");
 * ```
 */
export function findAddressClashes(leases: Iterable<Lease>, own: Lease, attrs: LeaseAttrs): string[] {
  const ownKey = leaseKeyName(own);
  const clashes: string[] = [];
  for (const lease of leases) {
    if (!sameOwner(lease.attrs, attrs)) continue;
    const key = leaseKeyName(lease);
    if (key !== ownKey) clashes.push(`lease ${key} carries our PublicIP too`);
    else if (!sameAttrs(lease.attrs, own.attrs) && !sameAttrs(lease.attrs, attrs)) {
      clashes.push(`our lease ${key} was rewritten by another host with our PublicIP`);
    }
  }
  return clashes;
}
