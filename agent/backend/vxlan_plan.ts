/**
 * vxlan's desired kernel state for a lease snapshot (pure). See `vxlan.ts` for the design note; in short, per
 * remote vxlan lease: ARP `subnet-addr lladdr VtepMAC PERMANENT`, FDB `VtepMAC dst PublicIP self permanent`
 * and route `subnet via subnet-addr dev flannel.N onlink` — or, with DirectRouting and a peer whose PublicIP
 * the kernel reaches without a gateway on the external interface, only `subnet via PublicIP dev <ext>`.
 *
 * The plan is per address family: IPv4 programs `flannel.<VNI>` from the lease's subnet, `PublicIP` and
 * `BackendData`; IPv6 programs `flannel-v6.<VNI>` from its IPv6 subnet, `PublicIPv6` and `BackendV6Data`.
 *
 * @module
 */
import { formatIp } from "../ip.ts";
import type { Lease } from "../subnet/lease.ts";
import { leaseKeyName } from "../subnet/lease_codec.ts";
import type { PeerState } from "./backend.ts";
import {
  type DesiredFdb,
  type DesiredNeigh,
  type DesiredRoute,
  type DesiredState,
  normalizeMac,
  type ReachLookup,
  screenPeer,
} from "./desired.ts";

/** What the vxlan plan needs besides the snapshot. */
export interface VxlanPlanContext {
  /** ifindex of `flannel.<VNI>`. */
  readonly device: number;
  /** ifindex of the external interface. */
  readonly extIndex: number;
  readonly directRouting: boolean;
  /** The kernel's route to each peer's PublicIP (consulted only with DirectRouting). */
  readonly reach: ReachLookup;
  /** Which family to plan (default 4): IPv6 uses the v6 subnet, PublicIPv6 and BackendV6Data. */
  readonly family?: 4 | 6;
}

/**
 * The entries vxlan wants for every remote lease of `snapshot`.
 *
 * @param snapshot every lease, ours included, keyed by lease key
 * @param own our lease (skipped)
 * @param ctx devices and DirectRouting reachability
 * @returns routes, neighbours, FDB entries and per-peer states
 * @example
 * ```ts ignore
 * const desired = planVxlan(manager.snapshot, manager.lease, { device: 5, extIndex: 2, directRouting: false, reach: () => undefined });
 * ```
 */
export function planVxlan(
  snapshot: ReadonlyMap<string, Lease>,
  own: Lease,
  ctx: VxlanPlanContext,
): DesiredState {
  const ownKey = leaseKeyName(own);
  const family = ctx.family ?? 4;
  const routes: DesiredRoute[] = [];
  const neighs: DesiredNeigh[] = [];
  const fdbs: DesiredFdb[] = [];
  const peers = new Map<string, PeerState>();
  for (const [key, lease] of snapshot) {
    if (key === ownKey) continue;
    const screened = screenPeer(lease, family, {
      backendType: "vxlan",
      otherType: "this node only tunnels to vxlan peers",
      perFamily: "this node's vxlan programs",
    });
    if ("state" in screened) {
      peers.set(key, screened);
      continue;
    }
    const { part, publicIp, dst } = screened;
    if (ctx.directRouting) {
      const reach = ctx.reach(publicIp);
      if (reach?.kind === "direct" && reach.oif === ctx.extIndex) {
        routes.push({ dst, gateway: publicIp, oif: ctx.extIndex, onlink: false, peer: key });
        peers.set(key, { state: "programmed", via: "direct" });
        continue;
      }
    }
    const data = part.data as { VtepMAC?: unknown } | null | undefined;
    const mac = normalizeMac(typeof data === "object" && data !== null ? data.VtepMAC : undefined);
    if (!mac) {
      peers.set(key, {
        state: "error",
        reason: `the lease's ${family === 4 ? "BackendData" : "BackendV6Data"} has no valid VtepMAC`,
      });
      continue;
    }
    const subnetAddr = formatIp(part.subnet.addr);
    neighs.push({ index: ctx.device, dst: subnetAddr, lladdr: mac, peer: key });
    fdbs.push({ index: ctx.device, lladdr: mac, dst: publicIp, peer: key });
    routes.push({ dst, gateway: subnetAddr, oif: ctx.device, onlink: true, peer: key });
    peers.set(key, { state: "programmed", via: "tunnel" });
  }
  return { routes, neighs, fdbs, peers };
}
