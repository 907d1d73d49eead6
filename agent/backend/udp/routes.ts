/**
 * The udp proxy's routing table: peer subnet → the peer's PublicIP (pure).
 *
 * Built from every IPv4 lease but our own, whatever its BackendType (as upstream: a udp node tunnels to any
 * node it has a lease for). Lookups are longest-prefix (upstream: first match; leases never overlap, so the
 * answers agree) with one hash lookup per distinct prefix length — usually one — so the per-packet cost does not
 * grow with the number of nodes.
 *
 * @module
 */
import type { Lease } from "../../subnet/lease.ts";
import { ipv4ToU32 } from "./packet.ts";
import { formatIp } from "../../ip.ts";

/** One peer route. */
export interface UdpPeerRoute {
  /** The peer's subnet, CIDR text (for logs and reports). */
  readonly subnet: string;
  /** Network address as u32. */
  readonly net: number;
  readonly prefixLen: number;
  /** The peer's PublicIP, dotted quad: where its datagrams go and come from. */
  readonly publicIp: string;
}

function mask(len: number): number {
  return len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
}

/**
 * The routes for a lease snapshot: every lease with an IPv4 subnet and a usable PublicIP, except our own.
 *
 * @param snapshot the leases, keyed by lease key name
 * @param own our lease
 * @returns routes, sorted by subnet
 */
export function routesFromLeases(snapshot: ReadonlyMap<string, Lease>, own: Lease): UdpPeerRoute[] {
  const mine = own.subnet ? formatIp(own.subnet.addr) + "/" + own.subnet.prefixLen : undefined;
  const out: UdpPeerRoute[] = [];
  for (const lease of snapshot.values()) {
    if (!lease.subnet || lease.attrs.publicIp.family !== 4) continue;
    const subnet = formatIp(lease.subnet.addr) + "/" + lease.subnet.prefixLen;
    const publicIp = formatIp(lease.attrs.publicIp);
    if (subnet === mine || publicIp === "0.0.0.0") continue;
    out.push({ subnet, net: Number(lease.subnet.addr.value), prefixLen: lease.subnet.prefixLen, publicIp });
  }
  return out.sort((a, b) => a.net - b.net || a.prefixLen - b.prefixLen);
}

/**
 * Parses `10.5.2.0/24=192.168.60.2` (the standalone proxy's `--peer`).
 *
 * @param text subnet=publicIp
 * @returns the route
 * @throws {SyntaxError} on malformed input
 */
export function parsePeerRoute(text: string): UdpPeerRoute {
  const m = /^([\d.]+)\/(\d{1,2})=([\d.]+)$/.exec(text);
  if (!m || Number(m[2]) > 32) throw new SyntaxError(`Invalid peer "${text}": want SUBNET/LEN=PUBLICIP`);
  const len = Number(m[2]);
  const net = (ipv4ToU32(m[1]!) & mask(len)) >>> 0;
  ipv4ToU32(m[3]!);
  return { subnet: `${m[1]}/${len}`, net, prefixLen: len, publicIp: m[3]! };
}

/** An immutable lookup structure over peer routes. */
export class UdpRouteTable {
  /** Prefix lengths present, longest first, each with its masked-network → route map. */
  readonly #byLen: { readonly len: number; readonly mask: number; readonly map: Map<number, UdpPeerRoute> }[];
  /** The same, mapping to the peer's PublicIP as u32 (the proxy's hot path: no strings). */
  readonly #addrByLen: { readonly mask: number; readonly map: Map<number, number> }[];
  readonly #peers: Set<string>;
  readonly #peerAddrs: Set<number>;
  readonly routes: readonly UdpPeerRoute[];

  /** @param routes the routes (on duplicates the first wins, like upstream's first match) */
  constructor(routes: readonly UdpPeerRoute[]) {
    this.routes = routes;
    const lens = new Map<number, Map<number, UdpPeerRoute>>();
    for (const r of routes) {
      let m = lens.get(r.prefixLen);
      if (!m) lens.set(r.prefixLen, m = new Map());
      const key = (r.net & mask(r.prefixLen)) >>> 0;
      if (!m.has(key)) m.set(key, r);
    }
    this.#byLen = [...lens.entries()].sort((a, b) => b[0] - a[0]).map(([len, map]) => ({
      len,
      mask: mask(len),
      map,
    }));
    this.#addrByLen = this.#byLen.map(({ mask, map }) => ({
      mask,
      map: new Map([...map].map(([k, r]) => [k, ipv4ToU32(r.publicIp)])),
    }));
    this.#peers = new Set(routes.map((r) => r.publicIp));
    this.#peerAddrs = new Set(routes.map((r) => ipv4ToU32(r.publicIp)));
  }

  /**
   * The PublicIP (u32) of the peer owning a destination, or -1: {@linkcode lookup} without objects or strings.
   *
   * @param dst destination address, u32
   * @returns the peer's address as u32, or -1 when no route matches
   * @example
   * ```ts
   * import { parsePeerRoute, UdpRouteTable } from "./routes.ts";
   * const t = new UdpRouteTable([parsePeerRoute("10.5.2.0/24=192.168.60.2")]);
   * console.assert(t.lookupAddr(0x0a050207) === 0xc0a83c02);
   * ```
   */
  lookupAddr(dst: number): number {
    const byLen = this.#addrByLen;
    for (let i = 0; i < byLen.length; i++) {
      const b = byLen[i]!;
      const a = b.map.get((dst & b.mask) >>> 0);
      if (a !== undefined) return a;
    }
    return -1;
  }

  /** Whether datagrams from this address (u32) are accepted: {@linkcode isPeer} without strings. */
  isPeerAddr(address: number): boolean {
    return this.#peerAddrs.has(address);
  }

  /**
   * The route for a destination, or undefined.
   *
   * @param dst destination address, u32
   * @returns the longest matching route
   * @example
   * ```ts
   * import { parsePeerRoute, UdpRouteTable } from "./routes.ts";
   * const t = new UdpRouteTable([parsePeerRoute("10.5.2.0/24=192.168.60.2")]);
   * console.assert(t.lookup(0x0a050207)?.publicIp === "192.168.60.2");
   * ```
   */
  lookup(dst: number): UdpPeerRoute | undefined {
    for (const b of this.#byLen) {
      const r = b.map.get((dst & b.mask) >>> 0);
      if (r) return r;
    }
    return undefined;
  }

  /** Whether datagrams from this address are accepted (it is a peer's PublicIP). */
  isPeer(address: string): boolean {
    return this.#peers.has(address);
  }
}
