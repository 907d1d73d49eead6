/**
 * What each backend publishes in the lease and the MTU it gives pods (pure).
 *
 * | backend | BackendType | BackendData               | pod MTU          |
 * |---------|-------------|---------------------------|------------------|
 * | vxlan   | `vxlan`     | `{"VNI":1,"VtepMAC":"…"}` | underlay − 50    |
 * | host-gw | `host-gw`   | none                      | underlay         |
 * | udp     | none        | none                      | underlay − 28    |
 *
 * Upstream's udp backend writes no BackendType at all; we match it so mixed clusters agree.
 *
 * @module
 */
import type { BackendConfig } from "../config/mod.ts";

/** The backend part of a lease's attributes. */
export interface BackendLeaseFields {
  readonly backendType?: string;
  readonly backendData?: unknown;
  /** The IPv6 counterpart (vxlan: `{VNI, VtepMAC}` of flannel-v6.N), when IPv6 is on. */
  readonly backendV6Data?: unknown;
}

/** vxlan's BackendData, as upstream writes it. */
export interface VxlanBackendData {
  readonly VNI: number;
  readonly VtepMAC: string;
}

/** IPv4 header + UDP header + VXLAN header + inner Ethernet header. */
export const VXLAN_OVERHEAD = 50;
/** IPv4 header + UDP header: the udp backend sends the bare inner packet. */
export const UDP_OVERHEAD = 28;

/**
 * The lease fields for a backend. vxlan needs the VTEP MAC of its device; without one (the device is not set
 * up yet) it throws, since a lease without a MAC would blackhole every peer's traffic to us.
 */
export function backendLeaseFields(backend: BackendConfig, vtepMac: string | undefined): BackendLeaseFields {
  switch (backend.type) {
    case "vxlan": {
      if (!vtepMac) throw new Error("The vxlan backend publishes its VTEP MAC, and no device has one yet");
      const data: VxlanBackendData = { VNI: backend.vni, VtepMAC: vtepMac };
      return { backendType: "vxlan", backendData: data };
    }
    case "host-gw":
      return { backendType: "host-gw" };
    case "udp":
      return {};
  }
}

/** The MTU pods get (FLANNEL_MTU) for an underlay interface MTU. */
export function backendMtu(backend: BackendConfig, ifaceMtu: number): number {
  switch (backend.type) {
    case "vxlan":
      return (backend.mtu ?? ifaceMtu) - VXLAN_OVERHEAD;
    case "host-gw":
      return ifaceMtu;
    case "udp":
      return ifaceMtu - UDP_OVERHEAD;
  }
}
