/**
 * The `vxlan` link kind: encodes `IFLA_INFO_DATA` for RTM_NEWLINK and decodes it from link dumps, so a
 * reconciler can compare an existing `flannel.1` with the desired one.
 *
 * Quirks: `IFLA_VXLAN_PORT` is big-endian (network order) although every other attribute is host order;
 * `IFLA_VXLAN_GBP` is a flag (present or absent), while `LEARNING`, `UDP_CSUM` and friends are u8 booleans; the
 * kernel defaults `learning` to on and the port to 8472 (Linux's pre-IANA default) when the attributes are absent.
 *
 * @module
 */
import type { Attrs, AttrWriter } from "../attrs.ts";
import {
  IFLA_VXLAN_AGEING,
  IFLA_VXLAN_GBP,
  IFLA_VXLAN_GROUP,
  IFLA_VXLAN_GROUP6,
  IFLA_VXLAN_ID,
  IFLA_VXLAN_L2MISS,
  IFLA_VXLAN_L3MISS,
  IFLA_VXLAN_LEARNING,
  IFLA_VXLAN_LINK,
  IFLA_VXLAN_LOCAL,
  IFLA_VXLAN_LOCAL6,
  IFLA_VXLAN_PORT,
  IFLA_VXLAN_PORT_RANGE,
  IFLA_VXLAN_PROXY,
  IFLA_VXLAN_TOS,
  IFLA_VXLAN_TTL,
  IFLA_VXLAN_TTL_INHERIT,
  IFLA_VXLAN_UDP_CSUM,
  IFLA_VXLAN_UDP_ZERO_CSUM6_RX,
  IFLA_VXLAN_UDP_ZERO_CSUM6_TX,
} from "../consts.ts";
import { formatIp, type IfIndex, type IpAddr, parseIp } from "../inet.ts";

/**
 * What to create. Absent fields are not sent (the kernel default applies). Upstream flannel sends
 * `{ vni, link, local, ttl: 0, tos: 0, learning, proxy: false, l2miss: false, l3miss: false, gbp?, port? }`.
 */
export interface VxlanSpec {
  /** VXLAN network identifier (24 bits). */
  readonly vni: number;
  /** Source address of encapsulated packets (IPv4 → `LOCAL`, IPv6 → `LOCAL6`). */
  readonly local?: IpAddr;
  /** Multicast group or unicast remote (IPv4 → `GROUP`, IPv6 → `GROUP6`). */
  readonly group?: IpAddr;
  /** Underlying link's ifindex. */
  readonly link?: IfIndex;
  /** UDP destination port (flannel: 8472, its default, unless configured). */
  readonly port?: number;
  /** Source port range [low, high]. */
  readonly portRange?: readonly [number, number];
  readonly learning?: boolean;
  /** Group Based Policy extension. */
  readonly gbp?: boolean;
  /** UDP checksums for IPv4 outer headers. */
  readonly udpCsum?: boolean;
  readonly udpZeroCsum6Tx?: boolean;
  readonly udpZeroCsum6Rx?: boolean;
  /** Outer TTL; 0 means "auto" (the route's). */
  readonly ttl?: number;
  readonly tos?: number;
  /** FDB ageing in seconds. */
  readonly ageing?: number;
  readonly proxy?: boolean;
  readonly l2miss?: boolean;
  readonly l3miss?: boolean;
}

/** A vxlan device's attributes as the kernel reports them (it reports all of these for every vxlan device). */
export interface VxlanInfo {
  readonly vni: number;
  readonly local: IpAddr | undefined;
  readonly group: IpAddr | undefined;
  readonly link: IfIndex | undefined;
  readonly port: number | undefined;
  readonly portRange: readonly [number, number] | undefined;
  readonly learning: boolean;
  readonly gbp: boolean;
  readonly udpCsum: boolean;
  readonly udpZeroCsum6Tx: boolean;
  readonly udpZeroCsum6Rx: boolean;
  readonly ttl: number;
  readonly ttlInherit: boolean;
  readonly tos: number;
  readonly ageing: number | undefined;
  readonly proxy: boolean;
  readonly l2miss: boolean;
  readonly l3miss: boolean;
}

const bool = (w: AttrWriter, type: number, v: boolean | undefined) =>
  v === undefined || w.u8(type, v ? 1 : 0);

/**
 * Writes the vxlan `IFLA_INFO_DATA` children.
 *
 * @param w writer positioned inside `IFLA_INFO_DATA`
 * @param s the spec
 * @throws {RangeError} for a VNI outside 24 bits or a port outside 16
 * @example
 * ```ts
 * import { AttrWriter } from "../attrs.ts";
 * import { encodeVxlanData } from "./vxlan.ts";
 * encodeVxlanData(new AttrWriter(), { vni: 1, local: "10.0.0.1", port: 8472, learning: false });
 * ```
 */
export function encodeVxlanData(w: AttrWriter, s: VxlanSpec): void {
  if (!Number.isInteger(s.vni) || s.vni < 0 || s.vni > 0xffffff) {
    throw new RangeError(`Invalid VNI: ${s.vni}`);
  }
  w.u32(IFLA_VXLAN_ID, s.vni);
  if (s.group !== undefined) {
    const g = parseIp(s.group);
    w.bytes(g.length === 4 ? IFLA_VXLAN_GROUP : IFLA_VXLAN_GROUP6, g);
  }
  if (s.link !== undefined) w.u32(IFLA_VXLAN_LINK, s.link);
  if (s.local !== undefined) {
    const l = parseIp(s.local);
    w.bytes(l.length === 4 ? IFLA_VXLAN_LOCAL : IFLA_VXLAN_LOCAL6, l);
  }
  if (s.ttl !== undefined) w.u8(IFLA_VXLAN_TTL, s.ttl);
  if (s.tos !== undefined) w.u8(IFLA_VXLAN_TOS, s.tos);
  bool(w, IFLA_VXLAN_LEARNING, s.learning);
  if (s.ageing !== undefined) w.u32(IFLA_VXLAN_AGEING, s.ageing);
  bool(w, IFLA_VXLAN_PROXY, s.proxy);
  bool(w, IFLA_VXLAN_L2MISS, s.l2miss);
  bool(w, IFLA_VXLAN_L3MISS, s.l3miss);
  if (s.port !== undefined) {
    if (!Number.isInteger(s.port) || s.port < 0 || s.port > 0xffff) {
      throw new RangeError(`Invalid port: ${s.port}`);
    }
    w.u16be(IFLA_VXLAN_PORT, s.port);
  }
  if (s.portRange !== undefined) {
    const b = new Uint8Array(4);
    const v = new DataView(b.buffer);
    v.setUint16(0, s.portRange[0], false);
    v.setUint16(2, s.portRange[1], false);
    w.bytes(IFLA_VXLAN_PORT_RANGE, b);
  }
  bool(w, IFLA_VXLAN_UDP_CSUM, s.udpCsum);
  bool(w, IFLA_VXLAN_UDP_ZERO_CSUM6_TX, s.udpZeroCsum6Tx);
  bool(w, IFLA_VXLAN_UDP_ZERO_CSUM6_RX, s.udpZeroCsum6Rx);
  if (s.gbp) w.flag(IFLA_VXLAN_GBP);
}

function addr(a: Attrs, v4: number, v6: number): IpAddr | undefined {
  const b = a.bytes(v4) ?? a.bytes(v6);
  if (b === undefined || (b.length !== 4 && b.length !== 16) || b.every((x) => x === 0)) return undefined;
  return formatIp(b);
}

/**
 * Reads vxlan `IFLA_INFO_DATA`.
 *
 * @param a the nested attributes
 * @returns the decoded attributes
 * @throws {NetlinkCodecError} on short values
 * @example
 * ```ts
 * import { AttrWriter, Attrs } from "../attrs.ts";
 * import { decodeVxlanData, encodeVxlanData } from "./vxlan.ts";
 * const w = new AttrWriter();
 * encodeVxlanData(w, { vni: 7, port: 8472 });
 * decodeVxlanData(new Attrs(w.finish())).port; // 8472
 * ```
 */
export function decodeVxlanData(a: Attrs): VxlanInfo {
  const range = a.bytes(IFLA_VXLAN_PORT_RANGE);
  const port = a.u16be(IFLA_VXLAN_PORT);
  return {
    vni: a.u32(IFLA_VXLAN_ID) ?? 0,
    local: addr(a, IFLA_VXLAN_LOCAL, IFLA_VXLAN_LOCAL6),
    group: addr(a, IFLA_VXLAN_GROUP, IFLA_VXLAN_GROUP6),
    link: a.u32(IFLA_VXLAN_LINK) || undefined,
    port: port === undefined || port === 0 ? undefined : port,
    portRange: range && range.length >= 4
      ? [
        new DataView(range.buffer, range.byteOffset).getUint16(0, false),
        new DataView(range.buffer, range.byteOffset).getUint16(2, false),
      ]
      : undefined,
    learning: (a.u8(IFLA_VXLAN_LEARNING) ?? 1) !== 0,
    gbp: a.has(IFLA_VXLAN_GBP),
    udpCsum: (a.u8(IFLA_VXLAN_UDP_CSUM) ?? 0) !== 0,
    udpZeroCsum6Tx: (a.u8(IFLA_VXLAN_UDP_ZERO_CSUM6_TX) ?? 0) !== 0,
    udpZeroCsum6Rx: (a.u8(IFLA_VXLAN_UDP_ZERO_CSUM6_RX) ?? 0) !== 0,
    ttl: a.u8(IFLA_VXLAN_TTL) ?? 0,
    ttlInherit: (a.u8(IFLA_VXLAN_TTL_INHERIT) ?? 0) !== 0,
    tos: a.u8(IFLA_VXLAN_TOS) ?? 0,
    ageing: a.u32(IFLA_VXLAN_AGEING),
    proxy: (a.u8(IFLA_VXLAN_PROXY) ?? 0) !== 0,
    l2miss: (a.u8(IFLA_VXLAN_L2MISS) ?? 0) !== 0,
    l3miss: (a.u8(IFLA_VXLAN_L3MISS) ?? 0) !== 0,
  };
}
