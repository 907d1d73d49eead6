/**
 * The reconciler's core (pure): which kernel entries are ours, and the minimal change set that turns what the
 * kernel holds into what the plan wants.
 *
 * Ownership is decided by place, not by a marker, because upstream's entries carry none (`proto boot`, no
 * metric) and ours must look exactly like them:
 * - on our tunnel device (`flannel.<VNI>`): every non-kernel route, every PERMANENT ARP entry and every
 *   permanent `self` FDB entry with a remote;
 * - on the external interface: non-kernel unicast routes whose destination lies inside the flannel Network
 *   and is narrower than it (host-gw and DirectRouting routes). A route for the whole Network, and anything on
 *   any other device, is never touched.
 * A scope is one address family: IPv4 (`flannel.<VNI>`, ARP, `Network`) or IPv6 (`flannel-v6.<VNI>`, NDP,
 * `IPv6Network`); a dual-stack backend converges two scopes, each blind to the other family's entries.
 *
 * The change set deletes what is ours and unwanted, and replaces what is missing or different. Order within
 * the one batch: deletes first (routes, then ARP, then FDB), then sets in upstream's add order (ARP, FDB,
 * route), so a route never points at a next hop whose ARP entry is not there yet, and a peer's changed VTEP MAC
 * or PublicIP leaves no stale FDB entry behind (upstream leaves one).
 *
 * @module
 */
import { type IpNet, netContains, parseCidr } from "../../ip.ts";
import {
  AF_BRIDGE,
  AF_INET,
  AF_INET6,
  fdbRequest,
  type Neigh,
  neighRequest,
  type NetlinkRequest,
  NTF_SELF,
  NUD_PERMANENT,
  type Route,
  routeRequest,
  RTN_UNICAST,
  RTPROT_BOOT,
  RTPROT_KERNEL,
} from "../../netlink/mod.ts";
import {
  type DesiredFdb,
  type DesiredNeigh,
  type DesiredRoute,
  fdbKey,
  type PlanIndex,
  routeKey,
} from "./desired.ts";

/** Where our entries live. */
export interface OwnershipScope {
  /** ifindex of our tunnel device, when the backend has one. */
  readonly device?: number | undefined;
  /** ifindex of the external interface. */
  readonly extIndex: number;
  /** The flannel Network(s): routes on the external interface inside one of them are ours. */
  readonly networks: readonly IpNet[];
  /** The address family of the routes and neighbours in scope (default 4). */
  readonly family?: 4 | 6 | undefined;
}

/** The kernel's address family number (AF_INET / AF_INET6) of a scope. */
export function scopeAf(scope: OwnershipScope): number {
  return scope.family === 6 ? AF_INET6 : AF_INET;
}

/** What the kernel holds, as dumped (main-table routes and neighbours of the scope's family, FDB entries). */
export interface Observed {
  readonly routes: readonly Route[];
  readonly neighs: readonly Neigh[];
  readonly fdbs: readonly Neigh[];
}

/** One change to make. `peer` names the lease a set serves, so its failure lands on that peer. */
export type Change =
  | { readonly kind: "route"; readonly op: "set"; readonly entry: DesiredRoute }
  | { readonly kind: "route"; readonly op: "del"; readonly entry: Route }
  | { readonly kind: "neigh"; readonly op: "set"; readonly entry: DesiredNeigh }
  | { readonly kind: "neigh"; readonly op: "del"; readonly entry: Neigh }
  | { readonly kind: "fdb"; readonly op: "set"; readonly entry: DesiredFdb }
  | { readonly kind: "fdb"; readonly op: "del"; readonly entry: Neigh };

function insideNetwork(dst: string, networks: readonly IpNet[]): boolean {
  let net: IpNet;
  try {
    net = parseCidr(dst);
  } catch {
    return false;
  }
  return networks.some((n) =>
    n.addr.family === net.addr.family && net.prefixLen > n.prefixLen && netContains(n, net.addr)
  );
}

/**
 * Whether a main-table route is ours.
 *
 * @example
 * ```ts ignore
 * isOwnedRoute(route, { device: 5, extIndex: 2, networks: [parseCidr("10.244.0.0/16")] });
 * ```
 */
export function isOwnedRoute(r: Route, scope: OwnershipScope): boolean {
  if (r.family !== scopeAf(scope) || r.protocol === RTPROT_KERNEL) return false;
  if (scope.device !== undefined && r.oif === scope.device) return true;
  return r.oif === scope.extIndex && r.type === RTN_UNICAST && insideNetwork(r.dst, scope.networks);
}

/** Whether an ARP entry is ours: PERMANENT, on our tunnel device. */
export function isOwnedNeigh(n: Neigh, scope: OwnershipScope): boolean {
  return scope.device !== undefined && n.index === scope.device && n.family === scopeAf(scope) &&
    (n.state & NUD_PERMANENT) !== 0;
}

/** Whether an FDB entry is ours: permanent, `self`, with a remote, on our tunnel device. */
export function isOwnedFdb(f: Neigh, scope: OwnershipScope): boolean {
  return scope.device !== undefined && f.index === scope.device && (f.flags & NTF_SELF) !== 0 &&
    (f.state & NUD_PERMANENT) !== 0 && f.dst !== undefined && f.lladdr !== undefined;
}

function sameRoute(o: Route, d: DesiredRoute): boolean {
  return o.gateway === d.gateway && o.oif === d.oif && o.onlink === d.onlink && o.type === RTN_UNICAST &&
    o.mtu === undefined;
}

/**
 * The minimal change set from `observed` to the plan, touching only entries inside `scope`.
 *
 * @param want the plan, indexed ({@linkcode indexPlan}: the backend keeps that index for event matching, so
 *   the diff reuses it rather than keying 3 entries per peer a second time)
 * @param observed the kernel's entries (any; foreign ones are filtered out here)
 * @param scope where our entries live
 * @returns deletes, then sets, in batch order
 * @example
 * ```ts ignore
 * const changes = diffState(indexPlan(planVxlan(snapshot, own, ctx)), await readObserved(nl), scope);
 * ```
 */
export function diffState(want: PlanIndex, observed: Observed, scope: OwnershipScope): Change[] {
  const dels: Change[] = [];
  const sets: Change[] = [];

  const wantRoutes = want.routes;
  const haveRoutes = new Map<string, Route>();
  for (const r of observed.routes) {
    if (!isOwnedRoute(r, scope)) continue;
    const key = routeKey(r);
    const want = wantRoutes.get(key);
    if (!want) dels.push({ kind: "route", op: "del", entry: r });
    else haveRoutes.set(key, r);
  }

  const wantNeighs = want.neighs;
  const haveNeighs = new Map<string, Neigh>();
  for (const n of observed.neighs) {
    if (n.family !== scopeAf(scope) || n.dst === undefined) continue;
    if (n.index !== scope.device) continue;
    if (wantNeighs.has(n.dst)) haveNeighs.set(n.dst, n);
    else if (isOwnedNeigh(n, scope)) dels.push({ kind: "neigh", op: "del", entry: n });
  }

  const wantFdbs = want.fdbs;
  const haveFdbs = new Set<string>();
  for (const f of observed.fdbs) {
    if (!isOwnedFdb(f, scope)) continue;
    const key = fdbKey(f);
    if (wantFdbs.has(key)) haveFdbs.add(key);
    else dels.push({ kind: "fdb", op: "del", entry: f });
  }

  for (const [dst, n] of wantNeighs) {
    const have = haveNeighs.get(dst);
    if (have && have.lladdr === n.lladdr && (have.state & NUD_PERMANENT) !== 0) continue;
    sets.push({ kind: "neigh", op: "set", entry: n });
  }
  for (const [key, f] of wantFdbs) {
    if (!haveFdbs.has(key)) sets.push({ kind: "fdb", op: "set", entry: f });
  }
  for (const [key, r] of wantRoutes) {
    const have = haveRoutes.get(key);
    if (have && sameRoute(have, r)) continue;
    sets.push({ kind: "route", op: "set", entry: r });
  }

  const rank = { route: 0, neigh: 1, fdb: 2 } as const;
  dels.sort((a, b) => rank[a.kind] - rank[b.kind]);
  return [...dels, ...sets];
}

/**
 * The change set from one plan to the next, for a kernel known to hold `previous` (pure): the same changes, in
 * the same order, as {@linkcode diffState} against a dump of that kernel, found without the dump. A lease
 * change then costs its own few requests, not three dumps of every peer's entries. "Known" is the caller's
 * promise: the previous plan was applied without a failure, and no netlink event since said otherwise.
 *
 * @example
 * ```ts
 * import { diffPlan } from "./changes.ts";
 * import { EMPTY_PLAN, indexPlan } from "./desired.ts";
 * const route = { dst: "10.5.7.0/24", gateway: "10.5.7.0", oif: 5, onlink: true, peer: "10.5.7.0-24" };
 * const next = indexPlan({ routes: [route], neighs: [], fdbs: [], peers: new Map() });
 * diffPlan(EMPTY_PLAN, next, { device: 5, extIndex: 2, networks: [] }); // [{ kind: "route", op: "set", entry: route }]
 * ```
 */
export function diffPlan(previous: PlanIndex, next: PlanIndex, scope: OwnershipScope): Change[] {
  const family = scopeAf(scope);
  const changes: Change[] = [];
  for (const [key, r] of previous.routes) {
    if (!next.routes.has(key)) changes.push({ kind: "route", op: "del", entry: plannedRoute(r, family) });
  }
  for (const [dst, n] of previous.neighs) {
    if (!next.neighs.has(dst)) changes.push({ kind: "neigh", op: "del", entry: plannedNeigh(n, family) });
  }
  for (const [key, f] of previous.fdbs) {
    if (!next.fdbs.has(key)) changes.push({ kind: "fdb", op: "del", entry: plannedFdb(f) });
  }
  for (const [dst, n] of next.neighs) {
    const had = previous.neighs.get(dst);
    if (!had || had.index !== n.index || had.lladdr !== n.lladdr) {
      changes.push({ kind: "neigh", op: "set", entry: n });
    }
  }
  for (const [key, f] of next.fdbs) {
    if (previous.fdbs.get(key)?.index !== f.index) changes.push({ kind: "fdb", op: "set", entry: f });
  }
  for (const [key, r] of next.routes) {
    const had = previous.routes.get(key);
    if (!had || had.gateway !== r.gateway || had.oif !== r.oif || had.onlink !== r.onlink) {
      changes.push({ kind: "route", op: "set", entry: r });
    }
  }
  return changes;
}

/** A planned route as the kernel reports it once added (what a delete names). */
function plannedRoute(r: DesiredRoute, family: number): Route {
  return {
    family,
    dst: r.dst,
    gateway: r.gateway,
    oif: r.oif,
    table: 254,
    scope: 0,
    protocol: RTPROT_BOOT,
    type: RTN_UNICAST,
    priority: undefined,
    prefsrc: undefined,
    onlink: r.onlink,
    flags: 0,
    mtu: undefined,
  };
}

function plannedNeigh(n: DesiredNeigh, family: number): Neigh {
  return {
    family,
    index: n.index,
    state: NUD_PERMANENT,
    flags: 0,
    type: 0,
    dst: n.dst,
    lladdr: n.lladdr,
    vlan: undefined,
    vni: undefined,
    port: undefined,
    master: undefined,
  };
}

function plannedFdb(f: DesiredFdb): Neigh {
  return { ...plannedNeigh(f, AF_BRIDGE), flags: NTF_SELF };
}

/**
 * The netlink request for a change: sets are create+replace (idempotent, and they fix a differing entry in
 * place), deletes name the entry exactly.
 *
 * @example
 * ```ts ignore
 * const results = await nl.batch(changes.map(changeRequest));
 * ```
 */
export function changeRequest(c: Change): NetlinkRequest {
  switch (c.kind) {
    case "route":
      if (c.op === "set") {
        const r = c.entry;
        return routeRequest("replace", { dst: r.dst, gateway: r.gateway, oif: r.oif, onlink: r.onlink });
      } else {
        const r = c.entry;
        return routeRequest("delete", {
          dst: r.dst,
          ...(r.gateway ? { gateway: r.gateway } : {}),
          ...(r.oif !== undefined ? { oif: r.oif } : {}),
          ...(r.priority !== undefined ? { priority: r.priority } : {}),
        });
      }
    case "neigh":
      if (c.op === "set") {
        return neighRequest("replace", { index: c.entry.index, dst: c.entry.dst, lladdr: c.entry.lladdr });
      }
      return neighRequest("delete", { index: c.entry.index, dst: c.entry.dst! });
    case "fdb":
      if (c.op === "set") {
        return fdbRequest("replace", { index: c.entry.index, lladdr: c.entry.lladdr, dst: c.entry.dst });
      }
      return fdbRequest("delete", { index: c.entry.index, lladdr: c.entry.lladdr!, dst: c.entry.dst! });
  }
}

/** A one-line description of a change, for logs. */
export function describeChange(c: Change): string {
  const e = c.entry;
  switch (c.kind) {
    case "route": {
      const r = e as DesiredRoute | Route;
      return `${c.op} route ${r.dst}${r.gateway ? ` via ${r.gateway}` : ""} dev ${r.oif}` +
        (r.onlink ? " onlink" : "");
    }
    case "neigh":
      return `${c.op} neigh ${(e as Neigh).dst} lladdr ${(e as Neigh).lladdr} dev ${(e as Neigh).index}`;
    case "fdb":
      return `${c.op} fdb ${(e as Neigh).lladdr} dst ${(e as Neigh).dst} dev ${(e as Neigh).index}`;
  }
}
