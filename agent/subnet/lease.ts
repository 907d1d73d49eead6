/**
 * Leases: a node's claim on a pod subnet, as stored in etcd under `<prefix>/subnets/<key>` by upstream flanneld.
 *
 * @module
 */
import type { IpAddr, IpNet } from "../ip.ts";

/**
 * The attributes stored as the lease's JSON value. Field names are upstream's (`PublicIP`, `PublicIPv6`,
 * `BackendType`, `BackendData`, `BackendV6Data`); see `lease_codec.ts` for the exact wire form.
 */
export interface LeaseAttrs {
  /** The node's IPv4 public address; `0.0.0.0` when the node has none (upstream always writes the field). */
  readonly publicIp: IpAddr;
  /** The node's IPv6 public address, when it has one. */
  readonly publicIpv6?: IpAddr;
  /** `vxlan`, `host-gw`; upstream's udp backend writes none. */
  readonly backendType?: string;
  /** Backend-specific JSON value, kept as parsed JSON (vxlan: `{"VNI":1,"VtepMAC":"…"}`). */
  readonly backendData?: unknown;
  /** The IPv6 counterpart of `backendData`. */
  readonly backendV6Data?: unknown;
}

/** The subnets a lease key names: IPv4, IPv6, or both (dual-stack). At least one is present. */
export type LeaseSubnets =
  | { readonly subnet: IpNet; readonly ipv6Subnet?: IpNet }
  | { readonly subnet?: undefined; readonly ipv6Subnet: IpNet };

/** A lease as read from the registry. */
export type Lease = LeaseSubnets & {
  readonly attrs: LeaseAttrs;
  /**
   * The etcd lease (decimal id) the key is attached to; `undefined` for a reservation, a key written without an
   * etcd lease, which never expires.
   */
  readonly etcdLeaseId: string | undefined;
  /** The etcd mod revision of the key (0n for a lease that was never stored). */
  readonly revision: bigint;
};

/** Whether a lease is a reservation: a key without TTL, kept by its owner as it is. */
export function isReservation(lease: Lease): boolean {
  return lease.etcdLeaseId === undefined;
}

/** An event on the set of leases. */
export type LeaseEvent =
  | { readonly kind: "added"; readonly lease: Lease }
  | { readonly kind: "removed"; readonly lease: Lease };
