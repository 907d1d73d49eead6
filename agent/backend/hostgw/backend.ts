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
 * IPv6 (dual-stack, or IPv6 alone): per remote lease with an IPv6 part, `<v6 subnet> via <PublicIPv6> dev
 * <ext>`, checked for L2 adjacency the same way; each family is its own reconcile scope. If the external
 * interface is recreated under the same name (a network restart), the routes follow it to its new ifindex.
 *
 * @module
 */
import type { IpNet } from "../../ip.ts";
import { formatIp } from "../../ip.ts";
import type { NetlinkEvent } from "../../netlink/mod.ts";
import type { Lease } from "../../subnet/lease.ts";
import type {
  Backend,
  BackendContext,
  EventVerdict,
  PeerState,
  ReconcileOptions,
  ReconcileReport,
} from "../backend.ts";
import {
  classifyEvent,
  convergeSlot,
  EMPTY_PLAN,
  leaseFamilyPart,
  mergePeerStates,
  type OwnershipScope,
  type PlanSlot,
  ReachResolver,
  resolveExtIndex,
} from "../reconcile/mod.ts";
import { planHostGw } from "./plan.ts";
import { type BackendLeaseFields, backendLeaseFields, backendMtu } from "../lease_fields.ts";
import { removeOwnedRoutes } from "../teardown.ts";

/** One address family's routes: its Network and its last plan. */
interface Family extends PlanSlot {
  readonly family: 4 | 6;
  readonly networks: readonly IpNet[];
}

/** The host-gw backend. */
export class HostGwBackend implements Backend {
  readonly type = "host-gw" as const;
  readonly mtu: number;
  readonly #ctx: BackendContext;
  readonly #families: Family[];
  readonly #reach: ReachResolver;
  readonly #extName: string;
  #extIndex: number;

  /**
   * @param ctx config, external interface, netlink connection, logger
   * @example
   * ```ts ignore
   * const backend = new HostGwBackend({ config, ext, nl, logger });
   * ```
   */
  constructor(ctx: BackendContext) {
    this.#ctx = ctx;
    this.mtu = backendMtu(ctx.config.backend, ctx.ext.mtu);
    this.#families = [];
    if (ctx.config.ipv4) {
      this.#families.push({
        family: 4,
        networks: [ctx.config.ipv4.network],
        plan: EMPTY_PLAN,
        applied: false,
      });
    }
    if (ctx.config.ipv6) {
      if (!ctx.ext.publicIpv6) {
        throw new Error(`The host-gw backend needs an IPv6 address on ${ctx.ext.link.name} to route IPv6`);
      }
      this.#families.push({
        family: 6,
        networks: [ctx.config.ipv6.network],
        plan: EMPTY_PLAN,
        applied: false,
      });
    }
    this.#reach = new ReachResolver(ctx.nl);
    this.#extName = ctx.ext.link.name;
    this.#extIndex = ctx.ext.link.index;
  }

  leaseFields(): BackendLeaseFields {
    return backendLeaseFields(this.#ctx.config.backend, undefined);
  }

  activate(_own: Lease): Promise<void> {
    return Promise.resolve();
  }

  #scope(f: { readonly family: 4 | 6; readonly networks: readonly IpNet[] }): OwnershipScope {
    return { extIndex: this.#extIndex, networks: f.networks, family: f.family };
  }

  async reconcile(
    snapshot: ReadonlyMap<string, Lease>,
    own: Lease,
    options: ReconcileOptions = {},
  ): Promise<ReconcileReport> {
    // A lease change alone needs no look at the external interface: its recreation arrives as a netlink
    // event, which asks for a full run.
    const quick = options.leasesOnly === true && this.#families.every((f) => f.applied);
    const index = quick ? this.#extIndex : await resolveExtIndex(this.#ctx.nl, this.#extName, this.#extIndex);
    if (index !== this.#extIndex) {
      this.#ctx.logger.warn(`${this.#extName} was recreated; moving the routes to it`, {
        was: this.#extIndex,
        now: index,
      });
      this.#extIndex = index;
      this.#reach.invalidate();
    }
    let added = 0;
    let removed = 0;
    let errors = 0;
    const peers: [4 | 6, ReadonlyMap<string, PeerState>][] = [];
    for (const f of this.#families) {
      const ips: string[] = [];
      for (const l of snapshot.values()) {
        const ip = l.attrs.backendType === "host-gw" ? leaseFamilyPart(l, f.family)?.publicIp : undefined;
        if (ip) ips.push(formatIp(ip));
      }
      const reach = await this.#reach.resolve(ips);
      const desired = planHostGw(snapshot, own, {
        extIndex: this.#extIndex,
        extName: this.#extName,
        reach,
        family: f.family,
      });
      const result = await convergeSlot(this.#ctx.nl, f, desired, this.#scope(f), quick);
      added += result.added;
      removed += result.removed;
      errors += result.failures.length;
      peers.push([f.family, result.peers]);
    }
    return { added, removed, errors, peers: mergePeerStates(peers) };
  }

  classifyEvent(event: NetlinkEvent): EventVerdict {
    let verdict: EventVerdict = "ignore";
    const rank = { ignore: 0, reconcile: 1, topology: 2 } as const;
    for (const f of this.#families) {
      const v = classifyEvent(event, {
        scope: this.#scope(f),
        plan: f.plan,
        networks: f.networks,
        extName: this.#extName,
      });
      if (rank[v] > rank[verdict]) verdict = v;
    }
    if (verdict === "topology") this.#reach.invalidate();
    return verdict;
  }

  /** Forgets cached reachability (called on the periodic resync). */
  invalidateReach(): void {
    this.#reach.invalidate();
  }

  async teardown(): Promise<void> {
    for (const f of this.#families) await removeOwnedRoutes(this.#ctx.nl, this.#scope(f));
  }

  /** Leaves the routes in place (as upstream does on SIGTERM). */
  [Symbol.asyncDispose](): Promise<void> {
    return Promise.resolve();
  }
}
