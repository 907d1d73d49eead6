/**
 * Text ↔ bytes for IP addresses, prefixes and MAC addresses. The library's public types use text: IPv4 dotted
 * quads ("10.0.0.1"), IPv6 in RFC 5952 form as `ip` prints it ("fd00::1"), MACs as lower-case colon-separated
 * hex ("aa:bb:cc:dd:ee:ff"). Kept here, self-contained, so that `agent/netlink` imports nothing else.
 *
 * @example
 * ```ts
 * import { formatIp, parseIp } from "./inet.ts";
 * formatIp(parseIp("fd00:0:0::1")); // "fd00::1"
 * ```
 *
 * @module
 */
import { AF_INET, AF_INET6 } from "./consts.ts";

/** An IPv4 or IPv6 address as text, e.g. "10.42.7.0" or "fd00::1". */
export type IpAddr = string;
/** A MAC address as lower-case colon-separated hex, e.g. "72:24:08:c1:71:25". */
export type MacAddr = string;
/** An interface index (`ifindex`). */
export type IfIndex = number;

function parseV4(s: string): Uint8Array<ArrayBuffer> | undefined {
  const parts = s.split(".");
  if (parts.length !== 4) return undefined;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const p = parts[i]!;
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255 || (p.length > 1 && p[0] === "0")) return undefined;
    out[i] = Number(p);
  }
  return out;
}

function parseV6(s: string): Uint8Array<ArrayBuffer> | undefined {
  let text = s;
  const lastColon = text.lastIndexOf(":");
  if (lastColon >= 0 && text.includes(".", lastColon)) {
    // A dotted IPv4 tail ("::ffff:10.0.0.1") stands for the last two groups.
    const v4 = parseV4(text.slice(lastColon + 1));
    if (!v4) return undefined;
    const hi = ((v4[0]! << 8) | v4[1]!).toString(16);
    const lo = ((v4[2]! << 8) | v4[3]!).toString(16);
    text = `${text.slice(0, lastColon + 1)}${hi}:${lo}`;
  }
  const halves = text.split("::");
  if (halves.length > 2) return undefined;
  const group = (h: string): number[] | undefined => {
    if (h === "") return [];
    const out: number[] = [];
    for (const g of h.split(":")) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
      out.push(parseInt(g, 16));
    }
    return out;
  };
  const head = group(halves[0]!);
  const rest = halves.length === 2 ? group(halves[1]!) : [];
  if (!head || !rest) return undefined;
  const fill = 8 - head.length - rest.length;
  if (halves.length === 2 ? fill < 1 : fill !== 0) return undefined;
  const all = [...head, ...new Array<number>(fill).fill(0), ...rest];
  const out = new Uint8Array(16);
  all.forEach((w, i) => {
    out[2 * i] = w >> 8;
    out[2 * i + 1] = w & 0xff;
  });
  return out;
}

/**
 * Parses an IPv4 or IPv6 address into 4 or 16 bytes.
 *
 * @param s the address as text
 * @returns network-order bytes
 * @throws {TypeError} when `s` is not an address
 * @example
 * ```ts
 * import { parseIp } from "./inet.ts";
 * parseIp("10.0.0.1"); // Uint8Array [10, 0, 0, 1]
 * ```
 */
export function parseIp(s: string): Uint8Array<ArrayBuffer> {
  const b = s.includes(":") ? parseV6(s) : parseV4(s);
  if (!b) throw new TypeError(`Cannot parse IP address: "${s}"`);
  return b;
}

/**
 * Formats 4 or 16 bytes as an address (IPv6 the way glibc's `inet_ntop`, hence `ip`, prints it).
 *
 * @param b the bytes
 * @returns the text form
 * @throws {TypeError} for other lengths
 * @example
 * ```ts
 * import { formatIp } from "./inet.ts";
 * formatIp(new Uint8Array([10, 0, 0, 1])); // "10.0.0.1"
 * ```
 */
export function formatIp(b: Uint8Array): string {
  if (b.length === 4) return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
  if (b.length !== 16) throw new TypeError(`Cannot format IP address: ${b.length} bytes`);
  const w: number[] = [];
  for (let i = 0; i < 8; i++) w.push((b[2 * i]! << 8) | b[2 * i + 1]!);
  let best = -1, bestLen = 0;
  for (let i = 0; i < 8;) {
    if (w[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && w[j] === 0) j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
    i = j;
  }
  if (bestLen < 2) best = -1;
  // glibc prints IPv4-mapped (::ffff:a.b.c.d) and IPv4-compatible (::a.b.c.d) addresses with a dotted tail.
  if (best === 0 && (bestLen === 6 || (bestLen === 5 && w[5] === 0xffff))) {
    return (bestLen === 6 ? "::" : "::ffff:") + `${b[12]}.${b[13]}.${b[14]}.${b[15]}`;
  }
  const hex = (ws: number[]) => ws.map((x) => x.toString(16)).join(":");
  if (best < 0) return hex(w);
  return hex(w.slice(0, best)) + "::" + hex(w.slice(best + bestLen));
}

/**
 * The address family (`AF_INET` or `AF_INET6`) of an address given as text.
 *
 * @example
 * ```ts
 * import { familyOf } from "./inet.ts";
 * familyOf("fd00::1"); // 10
 * ```
 */
export function familyOf(addr: string): number {
  return addr.includes(":") ? AF_INET6 : AF_INET;
}

/** An address with a prefix length. */
export interface Prefix {
  readonly addr: IpAddr;
  readonly len: number;
}

/**
 * Parses "10.42.7.0/24" (a bare address gets the full length).
 *
 * @throws {TypeError} on a bad address or length
 * @example
 * ```ts
 * import { parsePrefix } from "./inet.ts";
 * parsePrefix("10.42.7.0/24"); // { addr: "10.42.7.0", len: 24 }
 * ```
 */
export function parsePrefix(s: string): Prefix {
  const [a, l] = s.split("/");
  const bytes = parseIp(a!);
  const max = bytes.length * 8;
  const len = l === undefined ? max : Number(l);
  if (!Number.isInteger(len) || len < 0 || len > max || (l !== undefined && !/^\d+$/.test(l))) {
    throw new TypeError(`Cannot parse prefix: "${s}"`);
  }
  return { addr: formatIp(bytes), len };
}

/**
 * Parses a MAC address (any case, `:` or `-` separated).
 *
 * @throws {TypeError} when not six hex octets
 * @example
 * ```ts
 * import { parseMac } from "./inet.ts";
 * parseMac("AA:bb:cc:dd:ee:ff")[0]; // 170
 * ```
 */
export function parseMac(s: string): Uint8Array<ArrayBuffer> {
  const parts = s.split(/[:-]/);
  if (parts.length !== 6 || parts.some((p) => !/^[0-9a-fA-F]{2}$/.test(p))) {
    throw new TypeError(`Cannot parse MAC address: "${s}"`);
  }
  return new Uint8Array(parts.map((p) => parseInt(p, 16)));
}

/**
 * Formats link-layer address bytes as lower-case colon-separated hex.
 *
 * @example
 * ```ts
 * import { formatMac } from "./inet.ts";
 * formatMac(new Uint8Array([0x72, 0x24, 8, 0xc1, 0x71, 0x25])); // "72:24:08:c1:71:25"
 * ```
 */
export function formatMac(b: Uint8Array): MacAddr {
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join(":");
}
