/**
 * host-gw's desired kernel state for a lease snapshot (pure): per remote host-gw lease, the route
 * `subnet via PublicIP dev <ext>`, but only for peers the kernel reaches directly on the external interface.
 * Any other peer gets a per-peer error that names it, says why, and says what to do — never a route the
 * kernel would refuse or, worse, one that sends the peer's pods' traffic to a router that drops it.
 *
 * The plan is per address family: IPv6 routes `v6 subnet via PublicIPv6 dev <ext>`, as upstream.
 *
 * @module
 */
import type { Lease } from "../../subnet/lease.ts";
import { leaseKeyName } from "../../subnet/lease_codec.ts";
import type { PeerState } from "../backend.ts";
import {
  type DesiredRoute,
  type DesiredState,
  type PeerReach,
  type ReachLookup,
  screenPeer,
} from "../reconcile/mod.ts";

/** What the host-gw plan needs besides the snapshot. */
export interface HostGwPlanContext {
  readonly extIndex: number;
  /** The external interface's name, for error messages. */
  readonly extName: string;
  /** The kernel's route to each peer's PublicIP. */
  readonly reach: ReachLookup;
  /** Which family to plan (default 4): IPv6 uses the v6 subnet and PublicIPv6. */
  readonly family?: 4 | 6;
}

/**
 * The user-facing reason why host-gw cannot route to a peer (it names the peer, its PublicIP, the interface
 * and the fix).
 *
 * @example
 * ```ts
 * import { hostGwUnreachable } from "./plan.ts";
 * hostGwUnreachable("10.244.3.0/24", "192.168.78.2", "eth1", { kind: "gateway", oif: 2, gateway: "192.168.77.254" });
 * ```
 */
export function hostGwUnreachable(
  subnet: string,
  publicIp: string,
  extName: string,
  reach: PeerReach,
): string {
  const why = reach.kind === "gateway"
    ? `the kernel reaches ${publicIp} through the gateway ${reach.gateway}`
    : reach.kind === "direct"
    ? `the kernel reaches ${publicIp} directly, but not on ${extName}`
    : `the kernel has no route to ${publicIp} (${reach.reason})`;
  return `host-gw needs peer ${subnet} (${publicIp}) on a directly connected subnet of ${extName}: ${why}; ` +
    `use vxlan or DirectRouting`;
}

/**
 * The routes host-gw wants for every remote lease of `snapshot`.
 *
 * @param snapshot every lease, ours included, keyed by lease key
 * @param own our lease (skipped)
 * @param ctx the external interface and the resolved reachability of each PublicIP
 * @returns routes and per-peer states (no neighbours or FDB entries)
 * @example
 * ```ts ignore
 * const desired = planHostGw(manager.snapshot, manager.lease, { extIndex: 2, extName: "eth1", reach });
 * ```
 */
export function planHostGw(
  snapshot: ReadonlyMap<string, Lease>,
  own: Lease,
  ctx: HostGwPlanContext,
): DesiredState {
  const ownKey = leaseKeyName(own);
  const family = ctx.family ?? 4;
  const routes: DesiredRoute[] = [];
  const peers = new Map<string, PeerState>();
  for (const [key, lease] of snapshot) {
    if (key === ownKey) continue;
    const screened = screenPeer(lease, family, {
      backendType: "host-gw",
      otherType: "this node only routes to host-gw peers",
      perFamily: "this node's host-gw routes",
    });
    if ("state" in screened) {
      peers.set(key, screened);
      continue;
    }
    const { publicIp, dst } = screened;
    const reach = ctx.reach(publicIp) ?? { kind: "unreachable", reason: "not resolved" };
    if (reach.kind !== "direct" || reach.oif !== ctx.extIndex) {
      peers.set(key, { state: "error", reason: hostGwUnreachable(dst, publicIp, ctx.extName, reach) });
      continue;
    }
    routes.push({ dst, gateway: publicIp, oif: ctx.extIndex, onlink: false, peer: key });
    peers.set(key, { state: "programmed", via: "gateway" });
  }
  return { routes, neighs: [], fdbs: [], peers };
}
