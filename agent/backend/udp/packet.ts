/**
 * The IPv4 header work of the udp backend's proxy (pure, allocation-free except for the ICMP error).
 *
 * Addresses are handled as unsigned 32-bit numbers in host order (`0x0a050302` = 10.5.3.2): the hot path
 * compares and looks them up without building strings.
 *
 * @module
 */

/** Smallest IPv4 header. */
export const IPV4_HEADER_MIN = 20;
/** IP protocol number of ICMP. */
export const IPPROTO_ICMP = 1;

/**
 * Whether the bytes start like an IPv4 packet: version 4, a header length of at least 20 bytes that fits.
 *
 * @param p the packet
 * @returns true for IPv4
 */
export function isIpv4(p: Uint8Array): boolean {
  return isIpv4Len(p, p.length);
}

/**
 * {@linkcode isIpv4} for a packet that is the first `len` bytes of a larger buffer (the proxy's reused slots).
 *
 * @param buf the buffer holding the packet
 * @param len the packet's length
 * @returns true for IPv4
 */
export function isIpv4Len(buf: Uint8Array, len: number): boolean {
  if (len < IPV4_HEADER_MIN) return false;
  const b0 = buf[0]!;
  const ihl = (b0 & 0x0f) * 4;
  return b0 >> 4 === 4 && ihl >= IPV4_HEADER_MIN && ihl <= len;
}

/** The destination address, as a u32. The caller has checked {@linkcode isIpv4}. */
export function ipv4Dst(p: Uint8Array): number {
  return ((p[16]! << 24) | (p[17]! << 16) | (p[18]! << 8) | p[19]!) >>> 0;
}

/** The source address, as a u32. */
export function ipv4Src(p: Uint8Array): number {
  return ((p[12]! << 24) | (p[13]! << 16) | (p[14]! << 8) | p[15]!) >>> 0;
}

/**
 * Decrements the TTL in place and patches the header checksum incrementally (RFC 1624, as the kernel's
 * `ip_decrease_ttl`). Returns false, leaving the packet alone, when the TTL would reach 0: the packet must be
 * dropped.
 *
 * @param p an IPv4 packet
 * @returns whether the packet may be forwarded
 * @example
 * ```ts
 * import { decrementTtl } from "./packet.ts";
 * const p = new Uint8Array(20);
 * p[8] = 64;
 * console.assert(decrementTtl(p) && p[8] === 63);
 * ```
 */
export function decrementTtl(p: Uint8Array): boolean {
  const ttl = p[8]!;
  if (ttl <= 1) return false;
  p[8] = ttl - 1;
  // The 16-bit word holding TTL dropped by 0x0100, so the one's-complement checksum rises by 0x0100.
  let sum = ((p[10]! << 8) | p[11]!) + 0x0100;
  sum = (sum & 0xffff) + (sum >> 16);
  p[10] = sum >> 8;
  p[11] = sum & 0xff;
  return true;
}

/**
 * The Internet checksum (RFC 1071) of a byte range.
 *
 * @param b the bytes (an odd length is padded with a zero byte)
 * @returns the 16-bit checksum to store
 */
export function inetChecksum(b: Uint8Array): number {
  let sum = 0;
  const n = b.length & ~1;
  for (let i = 0; i < n; i += 2) sum += (b[i]! << 8) | b[i + 1]!;
  if (b.length & 1) sum += b[b.length - 1]! << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** Whether an IPv4 header checksum verifies. */
export function ipv4HeaderValid(p: Uint8Array): boolean {
  return isIpv4(p) && inetChecksum(p.subarray(0, (p[0]! & 0x0f) * 4)) === 0;
}

/**
 * The ICMP "destination net unreachable" (type 3, code 0) upstream's proxy writes back into the TUN for a
 * packet it has no peer for, or `null` when none may be sent: never about an ICMP packet (RFC 1122 forbids
 * errors about errors; upstream skips all ICMP) nor about a non-first fragment.
 *
 * Like upstream: IP header TTL 8, the offender's IP id, source = the TUN's address, destination = the offender's
 * source; the ICMP body quotes the offender's IP header and its first 8 data bytes.
 *
 * @param offender the packet that could not be forwarded (IPv4, checked)
 * @param from the address the error comes from (the TUN address), u32
 * @returns the ICMP packet, or null
 */
export function icmpNetUnreachable(offender: Uint8Array, from: number): Uint8Array<ArrayBuffer> | null {
  if (offender[9] === IPPROTO_ICMP) return null;
  const fragOffset = ((offender[6]! & 0x1f) << 8) | offender[7]!;
  if (fragOffset !== 0) return null;
  const ihl = (offender[0]! & 0x0f) * 4;
  const quoted = Math.min(offender.length, ihl + 8);
  const out = new Uint8Array(20 + 8 + quoted);
  out[0] = 0x45;
  out[2] = out.length >> 8;
  out[3] = out.length & 0xff;
  out[4] = offender[4]!;
  out[5] = offender[5]!;
  out[8] = 8; // TTL, as upstream
  out[9] = IPPROTO_ICMP;
  out[12] = from >>> 24;
  out[13] = (from >>> 16) & 0xff;
  out[14] = (from >>> 8) & 0xff;
  out[15] = from & 0xff;
  out.set(offender.subarray(12, 16), 16);
  const hc = inetChecksum(out.subarray(0, 20));
  out[10] = hc >> 8;
  out[11] = hc & 0xff;
  out[20] = 3; // destination unreachable
  out[21] = 0; // net unreachable
  out.set(offender.subarray(0, quoted), 28);
  const ic = inetChecksum(out.subarray(20));
  out[22] = ic >> 8;
  out[23] = ic & 0xff;
  return out;
}

/** "10.5.3.2" → 0x0a050302. @throws {SyntaxError} for anything but a dotted quad */
export function ipv4ToU32(text: string): number {
  const parts = text.split(".");
  if (parts.length !== 4) throw new SyntaxError(`Invalid IPv4 address "${text}"`);
  let v = 0;
  for (const s of parts) {
    const n = Number(s);
    if (!/^\d{1,3}$/.test(s) || n > 255) throw new SyntaxError(`Invalid IPv4 address "${text}"`);
    v = v * 256 + n;
  }
  return v;
}

/** 0x0a050302 → "10.5.3.2". */
export function u32ToIpv4(v: number): string {
  return `${v >>> 24}.${(v >>> 16) & 0xff}.${(v >>> 8) & 0xff}.${v & 0xff}`;
}
