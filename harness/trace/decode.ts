/**
 * Decodes what a trace needs from a captured frame: the outer IPv4 header, a VXLAN or flannel-udp
 * encapsulation around an inner IPv4 packet, the transport of the innermost packet (ICMP type, id and sequence;
 * UDP and TCP ports), the fragment fields, and for an ICMP error the header of the packet it is about. Pure;
 * anything it does not understand is `undefined`, never an exception.
 *
 * @module
 */

/** An IPv4 packet's header fields, and what it carries as far as a trace looks. */
export interface Ip4 {
  readonly src: string;
  readonly dst: string;
  readonly proto: number;
  readonly id: number;
  readonly ttl: number;
  /** The total length in the header. */
  readonly len: number;
  /** A piece of a fragmented packet: the offset in bytes and whether more pieces follow. */
  readonly frag?: { readonly offset: number; readonly more: boolean };
  readonly dontFragment: boolean;
  readonly icmp?: { readonly type: number; readonly code: number; readonly id: number; readonly seq: number };
  /** ICMP errors (unreachable, time exceeded): the header of the packet the error is about. */
  readonly about?: Ip4;
  /** Next-hop MTU of a fragmentation-needed error. */
  readonly mtu?: number;
  readonly udp?: { readonly sport: number; readonly dport: number };
  readonly tcp?: { readonly sport: number; readonly dport: number; readonly flags: number };
  readonly payload: Uint8Array;
}

/** A decoded frame: the outer packet, and the inner one when it is encapsulated. */
export interface Frame {
  readonly outer: Ip4;
  readonly encap?:
    | { readonly kind: "vxlan"; readonly vni: number; readonly inner: Ip4 }
    | { readonly kind: "udp"; readonly inner: Ip4 };
}

function addr(b: Uint8Array, off: number): string {
  return `${b[off]}.${b[off + 1]}.${b[off + 2]}.${b[off + 3]}`;
}

/** Decodes an IPv4 packet that starts at `b[0]`. */
export function decodeIp4(b: Uint8Array): Ip4 | undefined {
  if (b.length < 20 || b[0]! >> 4 !== 4) return undefined;
  const ihl = (b[0]! & 0x0f) * 4;
  if (ihl < 20 || b.length < ihl) return undefined;
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const flagsFrag = v.getUint16(6);
  const offset = (flagsFrag & 0x1fff) * 8;
  const more = (flagsFrag & 0x2000) !== 0;
  const proto = b[9]!;
  const payload = b.subarray(ihl);
  const base = {
    src: addr(b, 12),
    dst: addr(b, 16),
    proto,
    id: v.getUint16(4),
    ttl: b[8]!,
    len: v.getUint16(2),
    dontFragment: (flagsFrag & 0x4000) !== 0,
    payload,
    ...(offset || more ? { frag: { offset, more } } : {}),
  };
  // Only the first piece of a fragmented packet carries the transport header.
  if (offset !== 0) return base;
  const pv = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  if (proto === 1 && payload.length >= 8) {
    const type = payload[0]!;
    const icmp = { type, code: payload[1]!, id: pv.getUint16(4), seq: pv.getUint16(6) };
    // Destination unreachable (3) and time exceeded (11) quote the offending packet's header after 8 bytes.
    const error = type === 3 || type === 11;
    const about = error ? decodeIp4(payload.subarray(8)) : undefined;
    return {
      ...base,
      icmp,
      ...(about ? { about } : {}),
      ...(type === 3 && payload[1] === 4 ? { mtu: pv.getUint16(6) } : {}),
    };
  }
  if (proto === 17 && payload.length >= 8) {
    return { ...base, udp: { sport: pv.getUint16(0), dport: pv.getUint16(2) } };
  }
  if (proto === 6 && payload.length >= 14) {
    return { ...base, tcp: { sport: pv.getUint16(0), dport: pv.getUint16(2), flags: payload[13]! } };
  }
  return base;
}

/**
 * Decodes a captured frame of a link type (Ethernet, raw IP or Linux cooked), recognising VXLAN on
 * `vxlanPort` and flannel's udp encapsulation on `udpPort` (a bare IPv4 packet as the datagram).
 */
export function decodeFrame(
  linkType: number,
  data: Uint8Array,
  ports: { readonly vxlan: number; readonly udp: number },
): Frame | undefined {
  let ip: Uint8Array | undefined;
  if (linkType === 1) ip = etherIp(data);
  else if (linkType === 101 || linkType === 12 || linkType === 228) ip = data;
  else if (linkType === 113 && data.length > 16 && data[14] === 0x08 && data[15] === 0x00) {
    ip = data.subarray(16);
  }
  if (!ip) return undefined;
  const outer = decodeIp4(ip);
  if (!outer) return undefined;
  if (outer.udp && outer.udp.dport === ports.vxlan && outer.payload.length >= 8 + 8 + 14) {
    const vx = outer.payload.subarray(8);
    if ((vx[0]! & 0x08) !== 0) {
      const vni = (vx[4]! << 16) | (vx[5]! << 8) | vx[6]!;
      const inner = etherIp(vx.subarray(8));
      const decoded = inner ? decodeIp4(inner) : undefined;
      if (decoded) return { outer, encap: { kind: "vxlan", vni, inner: decoded } };
    }
  }
  if (outer.udp && (outer.udp.dport === ports.udp || outer.udp.sport === ports.udp)) {
    const inner = decodeIp4(outer.payload.subarray(8));
    if (inner) return { outer, encap: { kind: "udp", inner } };
  }
  return { outer };
}

/** The IPv4 packet in an Ethernet frame (one 802.1Q tag allowed), or undefined. */
function etherIp(f: Uint8Array): Uint8Array | undefined {
  if (f.length < 14) return undefined;
  let type = (f[12]! << 8) | f[13]!;
  let off = 14;
  if (type === 0x8100 && f.length >= 18) {
    type = (f[16]! << 8) | f[17]!;
    off = 18;
  }
  return type === 0x0800 ? f.subarray(off) : undefined;
}
