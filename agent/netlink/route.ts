/**
 * Routes (`RTM_*ROUTE`): request builders and decoder (pure) and {@link RouteOps}, IPv4 and IPv6.
 *
 * Defaults follow iproute2, so that our routes read back exactly like `ip route add` ones: protocol `boot`,
 * type `unicast`, scope `universe` with a gateway and `link` without one, table `main`. Deletes send scope
 * `RT_SCOPE_NOWHERE` and type/protocol 0, which the kernel treats as wildcards (`fib_table_delete`).
 * Tables above 255 do not fit `rtm_table`; `RTA_TABLE` is always sent and `rtm_table` set when it fits.
 *
 * @module
 */
import { Attrs, AttrWriter } from "./attrs.ts";
import type { NetlinkMessage } from "./codec.ts";
import { decodeRtMsg, encodeRtMsg } from "./family_headers.ts";
import {
  AF_INET,
  AF_INET6,
  AF_UNSPEC,
  NLM_F_CREATE,
  NLM_F_EXCL,
  NLM_F_REPLACE,
  RT_SCOPE_LINK,
  RT_SCOPE_NOWHERE,
  RT_SCOPE_UNIVERSE,
  RT_TABLE_MAIN,
  RT_TABLE_UNSPEC,
  RTA_DST,
  RTA_GATEWAY,
  RTA_METRICS,
  RTA_OIF,
  RTA_PREFSRC,
  RTA_PRIORITY,
  RTA_TABLE,
  RTAX_MTU,
  RTM_DELROUTE,
  RTM_GETROUTE,
  RTM_NEWROUTE,
  RTN_UNICAST,
  RTN_UNSPEC,
  RTNH_F_ONLINK,
  RTPROT_BOOT,
  RTPROT_UNSPEC,
} from "./consts.ts";
import { formatIp, type IfIndex, type IpAddr, parseIp, parsePrefix } from "./inet.ts";
import type { NetlinkRequest } from "./request.ts";
import type { NetlinkSocket } from "./socket.ts";
import { NetlinkError } from "./errors.ts";

/** A route as the kernel reports it. */
export interface Route {
  readonly family: number;
  /** Destination prefix, "10.42.7.0/24"; the default route is "0.0.0.0/0" or "::/0". */
  readonly dst: string;
  readonly gateway: IpAddr | undefined;
  readonly oif: IfIndex | undefined;
  readonly table: number;
  readonly scope: number;
  readonly protocol: number;
  /** RTN_* type (1 unicast, 2 local, 6 blackhole, …). */
  readonly type: number;
  readonly priority: number | undefined;
  readonly prefsrc: IpAddr | undefined;
  /** `RTNH_F_ONLINK`: the gateway is on the link even if no prefix says so. */
  readonly onlink: boolean;
  /** `rtm_flags`. */
  readonly flags: number;
  /** `RTAX_MTU` metric, when set. */
  readonly mtu: number | undefined;
}

/** A route to add, replace or delete. Absent fields take iproute2's defaults (see the module doc). */
export interface RouteSpec {
  /** "10.42.7.0/24", "fd00:1::/64", "0.0.0.0/0". */
  readonly dst: string;
  readonly gateway?: IpAddr;
  readonly oif?: IfIndex;
  /** Default `RT_TABLE_MAIN`. */
  readonly table?: number;
  readonly scope?: number;
  /** Default `RTPROT_BOOT` (what `ip route add` uses). */
  readonly protocol?: number;
  /** Default `RTN_UNICAST`. */
  readonly type?: number;
  /** Metric. */
  readonly priority?: number;
  readonly prefsrc?: IpAddr;
  readonly onlink?: boolean;
  /** `RTAX_MTU`. */
  readonly mtu?: number;
}

/** How a route request treats an existing route with the same key. */
export type RouteVerb = "add" | "replace" | "delete";

function summarize(s: RouteSpec): string {
  let t = s.dst;
  if (s.gateway) t += ` via ${s.gateway}`;
  if (s.oif !== undefined) t += ` dev ${s.oif}`;
  if (s.onlink) t += " onlink";
  if (s.table !== undefined && s.table !== RT_TABLE_MAIN) t += ` table ${s.table}`;
  if (s.priority !== undefined) t += ` metric ${s.priority}`;
  if (s.mtu !== undefined) t += ` mtu ${s.mtu}`;
  return t;
}

/**
 * RTM_NEWROUTE / RTM_DELROUTE. "add" is create+exclusive (EEXIST when the key exists), "replace" is
 * create+replace, "delete" removes the matching route.
 *
 * @param verb add, replace or delete
 * @param s the route
 * @returns the request
 * @throws {TypeError} on a malformed prefix or address
 * @example flannel's vxlan per-peer route
 * ```ts
 * import { routeRequest } from "./route.ts";
 * routeRequest("replace", { dst: "10.42.7.0/24", gateway: "10.42.7.0", oif: 5, onlink: true });
 * ```
 */
export function routeRequest(verb: RouteVerb, s: RouteSpec): NetlinkRequest {
  const p = parsePrefix(s.dst);
  const dst = parseIp(p.addr);
  const family = dst.length === 4 ? AF_INET : AF_INET6;
  const table = s.table ?? RT_TABLE_MAIN;
  const del = verb === "delete";
  const w = new AttrWriter(96);
  w.raw(encodeRtMsg({
    family,
    dstLen: p.len,
    srcLen: 0,
    tos: 0,
    table: table < 256 ? table : RT_TABLE_UNSPEC,
    protocol: s.protocol ?? (del ? RTPROT_UNSPEC : RTPROT_BOOT),
    scope: s.scope ?? (del ? RT_SCOPE_NOWHERE : s.gateway === undefined ? RT_SCOPE_LINK : RT_SCOPE_UNIVERSE),
    type: s.type ?? (del ? RTN_UNSPEC : RTN_UNICAST),
    flags: s.onlink ? RTNH_F_ONLINK : 0,
  }));
  if (p.len > 0) w.bytes(RTA_DST, dst);
  if (s.gateway !== undefined) {
    const gw = parseIp(s.gateway);
    if (gw.length !== dst.length) {
      throw new TypeError(`Cannot route "${s.dst}" via "${s.gateway}": mixed families`);
    }
    w.bytes(RTA_GATEWAY, gw);
  }
  if (s.oif !== undefined) w.u32(RTA_OIF, s.oif);
  if (s.priority !== undefined) w.u32(RTA_PRIORITY, s.priority);
  if (s.prefsrc !== undefined) w.bytes(RTA_PREFSRC, parseIp(s.prefsrc));
  w.u32(RTA_TABLE, table);
  if (s.mtu !== undefined) {
    const mtu = s.mtu;
    w.nest(RTA_METRICS, () => w.u32(RTAX_MTU, mtu));
  }
  const flags = verb === "add"
    ? NLM_F_CREATE | NLM_F_EXCL
    : verb === "replace"
    ? NLM_F_CREATE | NLM_F_REPLACE
    : 0;
  const type = del ? RTM_DELROUTE : RTM_NEWROUTE;
  return { type, flags, payload: w.finish(), op: `${verb} route`, summary: summarize(s) };
}

/** Filters for {@link RouteOps.list}. */
export interface RouteFilter {
  /** AF_INET, AF_INET6 or 0 for both. Default both. */
  readonly family?: number;
  /** Table to list; 0 lists every table. Default `RT_TABLE_MAIN` (what `ip route` shows). */
  readonly table?: number;
  readonly oif?: IfIndex;
}

/**
 * RTM_GETROUTE dump. Under strict checking the kernel filters by table itself (`rtm_table` / `RTA_TABLE`).
 *
 * @example
 * ```ts
 * import { routeDumpRequest } from "./route.ts";
 * routeDumpRequest({ family: 2, table: 254 });
 * ```
 */
export function routeDumpRequest(filter: RouteFilter = {}): NetlinkRequest {
  const table = filter.table ?? RT_TABLE_MAIN;
  const w = new AttrWriter(32);
  w.raw(encodeRtMsg({
    family: filter.family ?? AF_UNSPEC,
    dstLen: 0,
    srcLen: 0,
    tos: 0,
    table: table < 256 ? table : 0,
    protocol: 0,
    scope: 0,
    type: 0,
    flags: 0,
  }));
  if (table !== 0) w.u32(RTA_TABLE, table);
  return { type: RTM_GETROUTE, flags: 0, payload: w.finish(), op: "list routes", summary: `table ${table}` };
}

/**
 * RTM_GETROUTE for one destination: the route the kernel would use (`ip route get`).
 *
 * @example
 * ```ts
 * import { routeGetRequest } from "./route.ts";
 * routeGetRequest("10.199.0.2");
 * ```
 */
export function routeGetRequest(dst: IpAddr): NetlinkRequest {
  const b = parseIp(dst);
  const w = new AttrWriter(32);
  w.raw(encodeRtMsg({
    family: b.length === 4 ? AF_INET : AF_INET6,
    dstLen: b.length * 8,
    srcLen: 0,
    tos: 0,
    table: 0,
    protocol: 0,
    scope: 0,
    type: 0,
    flags: 0,
  }));
  w.bytes(RTA_DST, b);
  return { type: RTM_GETROUTE, flags: 0, payload: w.finish(), op: "get route", summary: dst };
}

/**
 * Decodes an RTM_NEWROUTE / RTM_DELROUTE message.
 *
 * @throws {NetlinkCodecError} on malformed bytes
 * @example
 * ```ts
 * import { decodeRoute, routeRequest } from "./route.ts";
 * const req = routeRequest("add", { dst: "10.1.0.0/16", gateway: "10.0.0.1" });
 * decodeRoute({ header: { len: 0, type: 24, flags: 0, seq: 0, pid: 0 }, payload: req.payload }).gateway; // "10.0.0.1"
 * ```
 */
export function decodeRoute(msg: NetlinkMessage): Route {
  const r = decodeRtMsg(msg.payload);
  const a = new Attrs(msg.payload.subarray(12));
  const ip = (t: number) => {
    const b = a.bytes(t);
    return b && (b.length === 4 || b.length === 16) ? formatIp(b) : undefined;
  };
  const dst = ip(RTA_DST) ?? (r.family === AF_INET6 ? "::" : "0.0.0.0");
  return {
    family: r.family,
    dst: `${dst}/${r.dstLen}`,
    gateway: ip(RTA_GATEWAY),
    oif: a.u32(RTA_OIF),
    table: a.u32(RTA_TABLE) ?? r.table,
    scope: r.scope,
    protocol: r.protocol,
    type: r.type,
    priority: a.u32(RTA_PRIORITY),
    prefsrc: ip(RTA_PREFSRC),
    onlink: (r.flags & RTNH_F_ONLINK) !== 0,
    flags: r.flags,
    mtu: a.nest(RTA_METRICS)?.u32(RTAX_MTU),
  };
}

/**
 * Route operations on a connection (`nl.route`).
 *
 * @example DirectRouting: is the peer directly connected?
 * ```ts ignore
 * const r = await nl.route.get("10.199.0.2");
 * const direct = r.gateway === undefined;
 * ```
 */
export class RouteOps {
  readonly #sock: NetlinkSocket;

  /** @param sock the socket to use */
  constructor(sock: NetlinkSocket) {
    this.#sock = sock;
  }

  /** Routes of a table (default main), optionally one family and one output link. */
  async list(filter: RouteFilter = {}): Promise<Route[]> {
    const table = filter.table ?? RT_TABLE_MAIN;
    return await this.#sock.dump(routeDumpRequest(filter), (m) => {
      if (m.header.type !== RTM_NEWROUTE) return undefined;
      const r = decodeRoute(m);
      const keep = (table === 0 || r.table === table) && (filter.oif === undefined || r.oif === filter.oif) &&
        (!filter.family || r.family === filter.family);
      return keep ? r : undefined;
    });
  }

  /** Adds a route; EEXIST when one with the same key exists. */
  async add(s: RouteSpec): Promise<void> {
    await this.#sock.request(routeRequest("add", s));
  }

  /** Adds or replaces a route. */
  async replace(s: RouteSpec): Promise<void> {
    await this.#sock.request(routeRequest("replace", s));
  }

  /** Deletes a route. @throws {NetlinkError} ESRCH when no route matches */
  async delete(s: RouteSpec): Promise<void> {
    await this.#sock.request(routeRequest("delete", s));
  }

  /** The route the kernel would use for `dst`. @throws {NetlinkError} ENETUNREACH when there is none */
  async get(dst: IpAddr): Promise<Route> {
    const [m] = await this.#sock.request(routeGetRequest(dst));
    if (!m) throw new NetlinkError({ errno: 61, op: "get route", seq: 0, request: dst });
    return decodeRoute(m);
  }
}
