/**
 * The synthetic peers that the control, heal and steady benchmarks write straight to etcd, and the network
 * they live in. Pure, so that the writer (run inside the etcd namespace) and the benchmarks that observe the
 * kernel name the same leases.
 *
 * Lease i has subnet `10.(1 + i/256).(i%256).0/24`; for vxlan a PublicIP in 100.64.0.0/10 and VTEP MAC
 * `02:00:00:00:hi:lo`, for host-gw the PublicIP `192.168.77.(10 + i)` (on the observed node's own subnet, as
 * host-gw requires). Agents lease from 10.99.0.0/16, so the key range `10.1.`…`10.5.` holds every synthetic
 * lease (up to 1,024) and none of theirs.
 *
 * @module
 */

/** The backends the synthetic peers can be written for. */
export type SyntheticBackend = "vxlan" | "host-gw";

/** The network config of a bench lab: 10.0.0.0/8 with /24s, agents leasing inside 10.99.0.0/16. */
export function benchNetworkConfig(backend: SyntheticBackend): string {
  return JSON.stringify({
    Network: "10.0.0.0/8",
    SubnetLen: 24,
    SubnetMin: "10.99.0.0",
    SubnetMax: "10.99.255.0",
    Backend: backend === "vxlan" ? { Type: "vxlan", VNI: 1 } : { Type: "host-gw" },
  });
}

/** Lease i's subnet address, e.g. `10.1.0.0`. */
export const syntheticSubnet = (i: number): string => `10.${1 + (i >> 8)}.${i & 255}.0`;

/** Lease i's VTEP MAC (vxlan). */
export const syntheticMac = (i: number): string =>
  `02:00:00:00:${(i >> 8).toString(16).padStart(2, "0")}:${(i & 255).toString(16).padStart(2, "0")}`;

/** Whether an address (or CIDR) lies in a synthetic peer's subnet rather than an agent's own. */
export const isSynthetic = (dst: string | undefined): boolean =>
  dst !== undefined && /^10\.(?!99\.)\d+\./.test(dst);

/**
 * The synthetic lease i under `prefix`: its subnet, etcd key and value.
 *
 * @example
 * ```ts
 * import { syntheticPeer } from "./synthetic.ts";
 * syntheticPeer("/coreos.com/network", "vxlan", 0).key; // "/coreos.com/network/subnets/10.1.0.0-24"
 * ```
 */
export function syntheticPeer(
  prefix: string,
  backend: SyntheticBackend,
  i: number,
): { subnet: string; key: string; value: string } {
  const subnet = syntheticSubnet(i);
  const ip = i + 1;
  const value = backend === "host-gw"
    ? { PublicIP: `192.168.77.${10 + i}`, PublicIPv6: null, BackendType: "host-gw", BackendData: null }
    : {
      PublicIP: `100.${64 + (ip >> 16)}.${(ip >> 8) & 255}.${ip & 255}`,
      PublicIPv6: null,
      BackendType: "vxlan",
      BackendData: { VNI: 1, VtepMAC: syntheticMac(i) },
    };
  return { subnet, key: `${prefix}/subnets/${subnet}-24`, value: JSON.stringify(value) };
}
