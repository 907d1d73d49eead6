/**
 * The host-gw backend.
 *
 * Design notes: no device and no encapsulation. For every remote host-gw lease the node adds one route,
 * `<peer subnet> via <peer PublicIP> dev <external interface>` (main table, no onlink, as upstream), so the
 * peer node itself is the next hop. That only works when the peer is on a directly connected subnet of the
 * external interface (L2 adjacency). The kernel would refuse such a route with ENETUNREACH, or worse, accept it
 * via a gateway if asked with `onlink`; upstream logs one line and silently retries every 10 s.
 *
 * Here reachability is asked of the kernel first (`ip route get <PublicIP>`): a peer reached through a gateway
 * or not at all gets no route, and instead a per-peer error — a log line naming the peer, its PublicIP, the
 * interface and the fix (vxlan or DirectRouting), a /metrics counter and an entry in /status — while every
 * reachable peer keeps working. Unreachable answers are not cached, so the peer is retried on every reconcile
 * (lease events, netlink topology events, the periodic resync).
 *
 * Like vxlan, the routes are converged, not added per event: stale routes inside the Network on the external
 * interface (leases that vanished while we were down, a changed PublicIP) are removed; a route deleted by hand
 * returns at once (netlink event), not after upstream's 10 s check.
 *
 * @module
 */
import type { IpNet } from "../ip.ts";
import { formatIp } from "../ip.ts";
import type { NetlinkEvent } from "../netlink/mod.ts";
import type { Lease } from "../subnet/lease.ts";
import type { Backend, BackendContext, EventVerdict, ReconcileReport } from "./backend.ts";
import { classifyEvent, indexPlan, type PlanIndex } from "./events.ts";
import { planHostGw } from "./hostgw_plan.ts";
import { converge, ReachResolver } from "./kernel.ts";
import { type BackendLeaseFields, backendLeaseFields, backendMtu } from "./lease_fields.ts";
import type { OwnershipScope } from "./reconcile.ts";
import { removeOwnedRoutes } from "./teardown.ts";

/** The host-gw backend. */
export class HostGwBackend implements Backend {
  readonly type = "host-gw" as const;
  readonly mtu: number;
  readonly #ctx: BackendContext;
  readonly #networks: readonly IpNet[];
  readonly #reach: ReachResolver;
  #plan: PlanIndex = { routes: new Map(), neighs: new Map(), fdbs: new Set() };

  /**
   * @param ctx config, external interface, netlink connection, logger
   * @example
   * ```ts ignore
   * const backend = new HostGwBackend({ config, ext, nl, logger });
   * ```
   */
  constructor(ctx: BackendContext) {
    if (!ctx.config.ipv4) {
      throw new Error(
        "The host-gw backend of flannel-lab programs IPv4 only, and the network config disables it",
      );
    }
    this.#ctx = ctx;
    this.mtu = backendMtu(ctx.config.backend, ctx.ext.mtu);
    this.#networks = [ctx.config.ipv4.network];
    this.#reach = new ReachResolver(ctx.nl);
  }

  leaseFields(): BackendLeaseFields {
    return backendLeaseFields(this.#ctx.config.backend, undefined);
  }

  activate(_own: Lease): Promise<void> {
    return Promise.resolve();
  }

  #scope(): OwnershipScope {
    return { extIndex: this.#ctx.ext.link.index, networks: this.#networks };
  }

  async reconcile(snapshot: ReadonlyMap<string, Lease>, own: Lease): Promise<ReconcileReport> {
    const ips = [...snapshot.values()].filter((l) => l.attrs.backendType === "host-gw").map((l) =>
      formatIp(l.attrs.publicIp)
    );
    const reach = await this.#reach.resolve(ips);
    const desired = planHostGw(snapshot, own, {
      extIndex: this.#ctx.ext.link.index,
      extName: this.#ctx.ext.link.name,
      reach,
    });
    this.#plan = indexPlan(desired);
    const result = await converge(this.#ctx.nl, desired, this.#scope());
    return {
      added: result.added,
      removed: result.removed,
      errors: result.failures.length,
      peers: result.peers,
    };
  }

  classifyEvent(event: NetlinkEvent): EventVerdict {
    const verdict = classifyEvent(event, {
      scope: this.#scope(),
      plan: this.#plan,
      networks: this.#networks,
    });
    if (verdict === "topology") this.#reach.invalidate();
    return verdict;
  }

  /** Forgets cached reachability (called on the periodic resync). */
  invalidateReach(): void {
    this.#reach.invalidate();
  }

  async teardown(): Promise<void> {
    await removeOwnedRoutes(this.#ctx.nl, this.#scope());
  }

  /** Leaves the routes in place (as upstream does on SIGTERM). */
  [Symbol.asyncDispose](): Promise<void> {
    return Promise.resolve();
  }
}
