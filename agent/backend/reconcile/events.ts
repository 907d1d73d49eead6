/**
 * Which netlink events should wake the reconciler (pure). The kernel tells us about every change, including
 * the ones our own batch just made; waking on those would double every reconcile, so an event counts only
 * when it undoes or contradicts the last plan (an entry we want was deleted or changed), touches our device,
 * or changes the underlay topology (addresses, links, non-flannel routes), which can change which peers are
 * directly reachable.
 *
 * @module
 */
import { type IpNet, netContains, parseCidr } from "../../ip.ts";
import { AF_BRIDGE, type NetlinkEvent, NUD_PERMANENT } from "../../netlink/mod.ts";
import type { EventVerdict } from "../backend.ts";
import { fdbKey, type PlanIndex, routeKey } from "./desired.ts";
import { isOwnedRoute, type OwnershipScope, scopeAf } from "./changes.ts";

/** What {@linkcode classifyEvent} compares against. */
export interface EventContext {
  readonly scope: OwnershipScope;
  /** Our tunnel device's name and MAC, when there is one. */
  readonly deviceName?: string | undefined;
  readonly deviceMac?: string | undefined;
  readonly deviceMtu?: number | undefined;
  readonly plan: PlanIndex;
  readonly networks: readonly IpNet[];
  /**
   * The external interface's name: a link of that name appearing under another ifindex is the interface
   * recreated (a network restart), which the backend must re-bind to.
   */
  readonly extName?: string | undefined;
}

/**
 * Classifies one event.
 *
 * @example
 * ```ts ignore
 * if (classifyEvent(ev, ctx) !== "ignore") loop.trigger("netlink event");
 * ```
 */
export function classifyEvent(ev: NetlinkEvent, ctx: EventContext): EventVerdict {
  const { scope, plan } = ctx;
  switch (ev.kind) {
    case "overrun":
      return "topology";
    case "link": {
      const l = ev.link;
      if (l.index === scope.extIndex || (ctx.extName !== undefined && l.name === ctx.extName)) {
        return "topology";
      }
      const ours = l.name === ctx.deviceName || (scope.device !== undefined && l.index === scope.device);
      if (!ours) return "ignore";
      if (ev.action === "del") return "reconcile";
      const drifted = (ctx.deviceMac !== undefined && l.mac !== undefined && l.mac !== ctx.deviceMac) ||
        !l.up || (ctx.deviceMtu !== undefined && l.mtu !== undefined && l.mtu !== ctx.deviceMtu) ||
        (scope.device !== undefined && l.index !== scope.device);
      return drifted ? "reconcile" : "ignore";
    }
    case "addr":
      return ev.addr.index === scope.extIndex
        ? "topology"
        : ev.addr.index === scope.device
        ? "reconcile"
        : "ignore";
    case "route": {
      const r = ev.route;
      if (r.family !== scopeAf(scope) || r.table !== 254) return "ignore";
      if (isOwnedRoute(r, scope)) {
        const want = plan.routes.get(routeKey(r));
        if (ev.action === "del") return want ? "reconcile" : "ignore";
        return !want || want.gateway !== r.gateway || want.oif !== r.oif ? "reconcile" : "ignore";
      }
      // Our desired route replaced by a foreign one (same key on another device).
      if (plan.routes.has(routeKey(r))) return "reconcile";
      // A route elsewhere: the underlay changed, which peers are directly reachable may have too. Routes inside
      // the flannel Network on other devices (cni0, pods) say nothing about the underlay.
      const inside = overlapsAny(r.dst, ctx.networks);
      return inside ? "ignore" : "topology";
    }
    case "neigh": {
      const n = ev.neigh;
      if (scope.device === undefined || n.index !== scope.device) return "ignore";
      if (n.family === AF_BRIDGE) {
        return ev.action === "del" && plan.fdbs.has(fdbKey(n)) ? "reconcile" : "ignore";
      }
      if (n.family !== scopeAf(scope) || n.dst === undefined) return "ignore";
      const want = plan.neighs.get(n.dst);
      if (!want) return "ignore";
      if (ev.action === "del") return "reconcile";
      return n.lladdr !== want.lladdr || (n.state & NUD_PERMANENT) === 0 ? "reconcile" : "ignore";
    }
  }
}

function overlapsAny(dst: string, networks: readonly IpNet[]): boolean {
  try {
    const net = parseCidr(dst);
    return networks.some((n) =>
      n.addr.family === net.addr.family && net.prefixLen >= n.prefixLen && netContains(n, net.addr)
    );
  } catch {
    return false;
  }
}
