/**
 * IPv4 and IPv6 addresses and prefixes, and the arithmetic flannel needs on them. Pure.
 *
 * Both families hold their value as a `bigint`, so one set of functions serves both and an IPv6 /0 does not
 * overflow. Parsing follows Go's `net.ParseIP`/`net.ParseCIDR` (which upstream flannel uses), and formatting
 * follows Go's `net.IP.String()` (RFC 5952), because etcd keys and subnet.env carry these strings verbatim.
 *
 * @module
 */

/** An address family: 4 or 6. */
export type Family = 4 | 6;

/** An IP address. `value` is the address as an unsigned integer of 32 or 128 bits. */
export interface IpAddr {
  readonly family: Family;
  readonly value: bigint;
}

/** A prefix whose host bits are zero: `addr` is the network address. */
export interface IpNet {
  readonly addr: IpAddr;
  readonly prefixLen: number;
}

/** An address together with the prefix it was written with, as in `10.1.17.1/24`. */
export interface IpWithPrefix {
  readonly ip: IpAddr;
  readonly net: IpNet;
}

/** Thrown for text that is not an address or prefix. A `SyntaxError`, so the CLI shows it without a stack. */
export class IpParseError extends SyntaxError {
  override name = "IpParseError";
}

/** Number of bits in an address of the family. */
export function bitsOf(family: Family): 32 | 128 {
  return family === 4 ? 32 : 128;
}

function maxValue(family: Family): bigint {
  return (1n << BigInt(bitsOf(family))) - 1n;
}

const IPV4_RE = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/** Parses a dotted-quad IPv4 address. Leading zeros are refused, as Go does since 1.17. */
export function parseIp4(text: string): IpAddr {
  const value = parseIp4Value(text);
  if (value === undefined) throw new IpParseError(`Invalid IPv4 address: "${text}"`);
  return { family: 4, value };
}

function parseIp4Value(text: string): bigint | undefined {
  const m = IPV4_RE.exec(text);
  if (!m) return undefined;
  let value = 0n;
  for (let i = 1; i <= 4; i++) {
    const part = m[i]!;
    if (part.length > 1 && part.startsWith("0")) return undefined;
    const n = Number(part);
    if (n > 255) return undefined;
    value = (value << 8n) | BigInt(n);
  }
  return value;
}

/** Parses an IPv6 address (with `::` compression and an optional trailing dotted quad). */
export function parseIp6(text: string): IpAddr {
  const value = parseIp6Value(text);
  if (value === undefined) throw new IpParseError(`Invalid IPv6 address: "${text}"`);
  return { family: 6, value };
}

function parseIp6Value(text: string): bigint | undefined {
  if (!/^[0-9a-fA-F:.]+$/.test(text) || !text.includes(":")) return undefined;
  const halves = text.split("::");
  if (halves.length > 2) return undefined;
  const groupsOf = (part: string): number[] | undefined => {
    if (part === "") return [];
    const out: number[] = [];
    const items = part.split(":");
    for (let i = 0; i < items.length; i++) {
      const item = items[i]!;
      if (i === items.length - 1 && item.includes(".")) {
        const v4 = parseIp4Value(item);
        if (v4 === undefined) return undefined;
        out.push(Number(v4 >> 16n), Number(v4 & 0xffffn));
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(item)) return undefined;
        out.push(parseInt(item, 16));
      }
    }
    return out;
  };
  // An embedded dotted quad may only end the address: never in the part before "::".
  if (halves.length === 2 && halves[0]!.includes(".")) return undefined;
  const head = groupsOf(halves[0]!);
  const tail = halves.length === 2 ? groupsOf(halves[1]!) : [];
  if (!head || !tail) return undefined;
  let groups: number[];
  if (halves.length === 2) {
    const missing = 8 - head.length - tail.length;
    if (missing < 1) return undefined;
    groups = [...head, ...new Array<number>(missing).fill(0), ...tail];
  } else {
    groups = head;
  }
  if (groups.length !== 8) return undefined;
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(g), 0n);
}

/** Parses an IPv4 or IPv6 address. */
export function parseIp(text: string): IpAddr {
  const v4 = parseIp4Value(text);
  if (v4 !== undefined) return { family: 4, value: v4 };
  const v6 = parseIp6Value(text);
  if (v6 !== undefined) return { family: 6, value: v6 };
  throw new IpParseError(`Invalid IP address: "${text}"`);
}

/**
 * Formats an address as Go's `net.IP.String()` does: dotted quad, or RFC 5952 for IPv6 (lower-case hex, no
 * leading zeros, the longest run of two or more zero groups shortened to `::`, the first run winning a tie).
 *
 * One difference, kept on purpose: Go prints an IPv4-mapped IPv6 address (`::ffff:0:0/96`) as a bare dotted quad,
 * which would lose the family; here it stays IPv6 (`::ffff:a00:1`).
 */
export function formatIp(addr: IpAddr): string {
  if (addr.family === 4) {
    // One conversion to a number instead of four BigInt shifts and an array: this runs several times per
    // peer in every reconcile.
    const v = Number(addr.value);
    return `${v >>> 24}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
  }
  const groups: number[] = [];
  for (let i = 7; i >= 0; i--) groups.push(Number((addr.value >> BigInt(i * 16)) & 0xffffn));
  // The longest run of two or more zero groups becomes "::"; the first run wins a tie.
  let bestStart = -1, bestLen = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) [bestStart, bestLen] = [i, j - i];
    i = j;
  }
  const hex = (gs: number[]) => gs.map((g) => g.toString(16)).join(":");
  if (bestStart < 0) return hex(groups);
  return `${hex(groups.slice(0, bestStart))}::${hex(groups.slice(bestStart + bestLen))}`;
}

/** The mask of a prefix length as an integer. */
function maskOf(family: Family, prefixLen: number): bigint {
  const bits = BigInt(bitsOf(family));
  return maxValue(family) ^ ((1n << (bits - BigInt(prefixLen))) - 1n);
}

/** Builds a prefix from an address and a length, clearing the host bits. */
export function makeNet(addr: IpAddr, prefixLen: number): IpNet {
  if (!Number.isInteger(prefixLen) || prefixLen < 0 || prefixLen > bitsOf(addr.family)) {
    throw new RangeError(`Prefix length ${prefixLen} is out of range for IPv${addr.family}`);
  }
  return { addr: { family: addr.family, value: addr.value & maskOf(addr.family, prefixLen) }, prefixLen };
}

/** Parses `addr/len` and keeps the address as written, as Go's `net.ParseCIDR` does. */
export function parseCidrWithIp(text: string): IpWithPrefix {
  const slash = text.indexOf("/");
  if (slash < 0) throw new IpParseError(`Invalid CIDR: "${text}": missing "/prefix-length"`);
  const addrText = text.slice(0, slash);
  const lenText = text.slice(slash + 1);
  let ip: IpAddr;
  try {
    ip = parseIp(addrText);
  } catch {
    throw new IpParseError(`Invalid CIDR: "${text}": "${addrText}" is not an IP address`);
  }
  // Go accepts any number of leading zeros in the length ("/0024"), but nothing else: no sign, no space.
  if (!/^\d+$/.test(lenText) || Number(lenText) > bitsOf(ip.family)) {
    throw new IpParseError(
      `Invalid CIDR: "${text}": prefix length must be 0 to ${bitsOf(ip.family)}`,
    );
  }
  return { ip, net: makeNet(ip, Number(lenText)) };
}

/** Parses `addr/len` into a prefix with its host bits cleared (`10.5.3.0/16` gives `10.5.0.0/16`). */
export function parseCidr(text: string): IpNet {
  return parseCidrWithIp(text).net;
}

/** Formats a prefix as `addr/len`. */
export function formatCidr(net: IpNet): string {
  return `${formatIp(net.addr)}/${net.prefixLen}`;
}

/** Number of addresses in a prefix. */
export function netSize(net: IpNet): bigint {
  return 1n << BigInt(bitsOf(net.addr.family) - net.prefixLen);
}

/** The last address of a prefix (the broadcast address for IPv4). */
export function lastAddr(net: IpNet): IpAddr {
  return { family: net.addr.family, value: net.addr.value + netSize(net) - 1n };
}

/** Adds `delta` to an address; throws a `RangeError` when the result leaves the family's address space. */
export function addrAdd(addr: IpAddr, delta: bigint): IpAddr {
  const value = addr.value + delta;
  if (value < 0n || value > maxValue(addr.family)) {
    throw new RangeError(`Address ${formatIp(addr)} + ${delta} overflows IPv${addr.family}`);
  }
  return { family: addr.family, value };
}

/** The prefix of the same length that follows `net`; throws a `RangeError` past the end of the space. */
export function nextNet(net: IpNet): IpNet {
  return { addr: addrAdd(net.addr, netSize(net)), prefixLen: net.prefixLen };
}

/** Compares two addresses: IPv4 before IPv6, then by value. */
export function compareIp(a: IpAddr, b: IpAddr): number {
  if (a.family !== b.family) return a.family - b.family;
  return a.value < b.value ? -1 : a.value > b.value ? 1 : 0;
}

/** Whether two addresses are the same. */
export function ipEqual(a: IpAddr, b: IpAddr): boolean {
  return a.family === b.family && a.value === b.value;
}

/** Whether two prefixes are the same. */
export function netEqual(a: IpNet, b: IpNet): boolean {
  return a.prefixLen === b.prefixLen && ipEqual(a.addr, b.addr);
}

/** Whether `net` contains `addr`. */
export function netContains(net: IpNet, addr: IpAddr): boolean {
  return net.addr.family === addr.family &&
    (addr.value & maskOf(addr.family, net.prefixLen)) === net.addr.value;
}

/**
 * Whether prefix `inner` lies inside prefix `outer` (same family, at least as long, and inside it).
 *
 * @example
 * ```ts
 * import { netWithin, parseCidr } from "./ip.ts";
 * console.assert(netWithin(parseCidr("10.5.3.0/24"), parseCidr("10.5.0.0/16")));
 * console.assert(!netWithin(parseCidr("10.0.0.0/8"), parseCidr("10.5.0.0/16")));
 * ```
 */
export function netWithin(inner: IpNet, outer: IpNet): boolean {
  return inner.prefixLen >= outer.prefixLen && netContains(outer, inner.addr);
}

/** Whether two prefixes share any address (either contains the other's network address). */
export function netOverlaps(a: IpNet, b: IpNet): boolean {
  return netContains(a, b.addr) || netContains(b, a.addr);
}

/** The address as network-order bytes (4 or 16). */
export function ipToBytes(addr: IpAddr): Uint8Array {
  const n = bitsOf(addr.family) / 8;
  const out = new Uint8Array(n);
  let v = addr.value;
  for (let i = n - 1; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

/** The address held in 4 or 16 network-order bytes. */
export function ipFromBytes(bytes: Uint8Array): IpAddr {
  if (bytes.length !== 4 && bytes.length !== 16) {
    throw new RangeError(`An IP address is 4 or 16 bytes, not ${bytes.length}`);
  }
  let value = 0n;
  for (const b of bytes) value = (value << 8n) | BigInt(b);
  return { family: bytes.length === 4 ? 4 : 6, value };
}
