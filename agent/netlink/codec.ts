/**
 * The pure netlink byte codec: `nlmsghdr`, the rtnetlink family headers (`ifinfomsg`, `ifaddrmsg`, `rtmsg`,
 * `ndmsg`), attributes with nesting, `NLMSG_ERROR` / `NLMSG_DONE` with extended-ACK TLVs. No I/O here: everything
 * is bytes in, values out (and back), so it is unit-tested and fuzzed without privileges.
 *
 * Byte order: netlink headers and attributes are host order (little-endian on every machine this runs on); a
 * few attributes are big-endian by definition (e.g. `IFLA_VXLAN_PORT`), which their writers say explicitly.
 *
 * Decoders throw only {@link NetlinkCodecError}.
 *
 * @example Encode a message and decode it back
 * ```ts
 * import { AttrWriter, encodeMessage, parseMessages, parseAttrs } from "./codec.ts";
 * const w = new AttrWriter();
 * w.u32(4, 1500);
 * const bytes = encodeMessage({ type: 16, flags: 1, seq: 1, pid: 0 }, w.finish());
 * const [msg] = parseMessages(bytes);
 * parseAttrs(msg!.payload); // [{ type: 4, nested: false, value: Uint8Array(4) }]
 * ```
 *
 * @module
 */
import {
  NLA_F_NESTED,
  NLA_TYPE_MASK,
  NLM_F_ACK_TLVS,
  NLM_F_CAPPED,
  NLMSG_HDRLEN,
  NLMSGERR_ATTR_MISS_TYPE,
  NLMSGERR_ATTR_MSG,
  NLMSGERR_ATTR_OFFS,
} from "./consts.ts";
import { NetlinkCodecError } from "./errors.ts";

/** `NLMSG_ALIGN(len)`: rounds up to netlink's 4-byte alignment. */
export function NLMSG_ALIGN(len: number): number {
  return (len + 3) & ~3;
}

/** `RTA_ALIGN(len)` (= `NLA_ALIGN`): attributes use the same 4-byte alignment as messages. */
export function RTA_ALIGN(len: number): number {
  return (len + 3) & ~3;
}

/** `RTA_LENGTH(len)`: an attribute header (4 bytes) plus `len` bytes of value, unpadded. */
export function RTA_LENGTH(len: number): number {
  return 4 + len;
}

/** `struct nlmsghdr` without its length, which the encoder computes. */
export interface NlMsgHdr {
  /** `nlmsg_type`, e.g. `RTM_NEWROUTE`. */
  readonly type: number;
  /** `nlmsg_flags`, e.g. `NLM_F_REQUEST | NLM_F_ACK`. */
  readonly flags: number;
  /** `nlmsg_seq`. */
  readonly seq: number;
  /** `nlmsg_pid`: the sender's port id (0 for the kernel). */
  readonly pid: number;
}

/** One decoded netlink message: its header and the bytes after it (family header + attributes). */
export interface NetlinkMessage {
  readonly header: NlMsgHdr & { readonly len: number };
  readonly payload: Uint8Array;
}

function view(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

function need(what: string, b: Uint8Array, n: number): void {
  if (b.length < n) throw new NetlinkCodecError(`Cannot decode ${what}: need ${n} bytes, have ${b.length}`);
}

/**
 * Encodes one message: a 16-byte `nlmsghdr` followed by `payload` padded to `NLMSG_ALIGN`.
 *
 * @param header type, flags, seq and pid
 * @param payload the family header and attributes
 * @returns the message bytes
 * @example
 * ```ts
 * import { encodeMessage } from "./codec.ts";
 * encodeMessage({ type: 3, flags: 0, seq: 0, pid: 0 }, new Uint8Array(4)).length; // 20
 * ```
 */
export function encodeMessage(header: NlMsgHdr, payload: Uint8Array): Uint8Array<ArrayBuffer> {
  const len = NLMSG_HDRLEN + payload.length;
  const out = new Uint8Array(NLMSG_ALIGN(len));
  writeHeader(out, 0, len, header);
  out.set(payload, NLMSG_HDRLEN);
  return out;
}

/**
 * Writes an `nlmsghdr` at `offset` of `buf` (used by the batch encoder to build one send buffer in place).
 *
 * @param buf destination
 * @param offset where the header starts
 * @param len `nlmsg_len`, header included
 * @param header the other fields
 * @example
 * ```ts
 * import { writeHeader } from "./codec.ts";
 * writeHeader(new Uint8Array(16), 0, 16, { type: 3, flags: 2, seq: 1, pid: 0 });
 * ```
 */
export function writeHeader(buf: Uint8Array, offset: number, len: number, header: NlMsgHdr): void {
  const v = view(buf);
  v.setUint32(offset, len, true);
  v.setUint16(offset + 4, header.type, true);
  v.setUint16(offset + 6, header.flags, true);
  v.setUint32(offset + 8, header.seq >>> 0, true);
  v.setUint32(offset + 12, header.pid >>> 0, true);
}

/**
 * Splits a datagram into messages. The kernel packs several messages into one datagram (dumps, ACK bursts).
 *
 * @param buf one received datagram
 * @returns the messages, payloads as views into `buf`
 * @throws {NetlinkCodecError} on a truncated header or a length that overruns the buffer
 * @example
 * ```ts
 * import { encodeMessage, parseMessages } from "./codec.ts";
 * parseMessages(encodeMessage({ type: 3, flags: 2, seq: 1, pid: 0 }, new Uint8Array(4))).length; // 1
 * ```
 */
export function parseMessages(buf: Uint8Array): NetlinkMessage[] {
  const out: NetlinkMessage[] = [];
  const v = view(buf);
  let off = 0;
  while (off < buf.length) {
    if (buf.length - off < NLMSG_HDRLEN) {
      throw new NetlinkCodecError(
        `Cannot decode nlmsghdr at offset ${off}: need 16 bytes, have ${buf.length - off}`,
      );
    }
    const len = v.getUint32(off, true);
    if (len < NLMSG_HDRLEN || len > buf.length - off) {
      throw new NetlinkCodecError(
        `Cannot decode message at offset ${off}: nlmsg_len ${len} outside 16..${buf.length - off}`,
      );
    }
    out.push({
      header: {
        len,
        type: v.getUint16(off + 4, true),
        flags: v.getUint16(off + 6, true),
        seq: v.getUint32(off + 8, true),
        pid: v.getUint32(off + 12, true),
      },
      payload: buf.subarray(off + NLMSG_HDRLEN, off + len),
    });
    off += NLMSG_ALIGN(len);
  }
  return out;
}

/** One attribute (`struct nlattr`), type with the nested/byte-order bits removed. */
export interface Attr {
  readonly type: number;
  /** Whether `NLA_F_NESTED` was set (the kernel does not set it on everything that is nested). */
  readonly nested: boolean;
  readonly value: Uint8Array;
}

/**
 * Decodes a run of attributes.
 *
 * @param buf the bytes after a family header (or a nested attribute's value)
 * @returns the attributes in order (repeated types kept)
 * @throws {NetlinkCodecError} when an attribute's length is below 4 or overruns `buf`
 * @example
 * ```ts
 * import { AttrWriter, parseAttrs } from "./codec.ts";
 * const w = new AttrWriter();
 * w.str(3, "eth0");
 * parseAttrs(w.finish())[0]!.type; // 3
 * ```
 */
export function parseAttrs(buf: Uint8Array): Attr[] {
  const out: Attr[] = [];
  const v = view(buf);
  let off = 0;
  while (off + 4 <= buf.length) {
    const len = v.getUint16(off, true);
    const rawType = v.getUint16(off + 2, true);
    if (len < 4 || len > buf.length - off) {
      throw new NetlinkCodecError(
        `Cannot decode attribute at offset ${off}: nla_len ${len} outside 4..${buf.length - off}`,
      );
    }
    out.push({
      type: rawType & NLA_TYPE_MASK,
      nested: (rawType & NLA_F_NESTED) !== 0,
      value: buf.subarray(off + 4, off + len),
    });
    off += RTA_ALIGN(len);
  }
  // Fewer than 4 trailing bytes can only be padding; anything else is a truncated attribute.
  if (off < buf.length && buf.subarray(off).some((b) => b !== 0)) {
    throw new NetlinkCodecError(
      `Cannot decode attribute at offset ${off}: ${buf.length - off} trailing bytes`,
    );
  }
  return out;
}

/**
 * Attributes by type (the last of a repeated type wins), with typed getters that check lengths.
 *
 * @example
 * ```ts
 * import { AttrWriter, Attrs } from "./codec.ts";
 * const w = new AttrWriter();
 * w.u32(4, 1450);
 * new Attrs(w.finish()).u32(4); // 1450
 * ```
 */
export class Attrs {
  readonly #buf: Uint8Array;
  readonly #view: DataView;
  /**
   * Where each attribute sits, flat: type, value offset, value length, flags (bit 0: nested), in order. Decoding
   * a dump of 30,000 entries builds one of these per message, so it holds numbers only: no subarray, Map or
   * DataView per attribute until a getter asks for bytes.
   */
  readonly #index: number[] = [];

  /** @param buf encoded attributes */
  constructor(buf: Uint8Array) {
    this.#buf = buf;
    const v = view(buf);
    this.#view = v;
    let off = 0;
    while (off + 4 <= buf.length) {
      const len = v.getUint16(off, true);
      const rawType = v.getUint16(off + 2, true);
      if (len < 4 || len > buf.length - off) {
        throw new NetlinkCodecError(
          `Cannot decode attribute at offset ${off}: nla_len ${len} outside 4..${buf.length - off}`,
        );
      }
      this.#index.push(rawType & NLA_TYPE_MASK, off + 4, len - 4, (rawType & NLA_F_NESTED) !== 0 ? 1 : 0);
      off += RTA_ALIGN(len);
    }
    // Fewer than 4 trailing bytes can only be padding; anything else is a truncated attribute.
    for (let i = off; i < buf.length; i++) {
      if (buf[i] !== 0) {
        throw new NetlinkCodecError(
          `Cannot decode attribute at offset ${off}: ${buf.length - off} trailing bytes`,
        );
      }
    }
  }

  /** The slot of the last attribute of a type (the last of a repeated type wins), or -1. */
  #find(type: number): number {
    const index = this.#index;
    for (let i = index.length - 4; i >= 0; i -= 4) if (index[i] === type) return i;
    return -1;
  }

  /** The attributes in order (repeated types kept). */
  get list(): readonly Attr[] {
    const out: Attr[] = [];
    const index = this.#index;
    for (let i = 0; i < index.length; i += 4) {
      const start = index[i + 1]!;
      out.push({
        type: index[i]!,
        nested: index[i + 3] === 1,
        value: this.#buf.subarray(start, start + index[i + 2]!),
      });
    }
    return out;
  }

  /** Whether the attribute is present. */
  has(type: number): boolean {
    return this.#find(type) >= 0;
  }

  /** The raw value. */
  bytes(type: number): Uint8Array | undefined {
    const i = this.#find(type);
    if (i < 0) return undefined;
    const start = this.#index[i + 1]!;
    return this.#buf.subarray(start, start + this.#index[i + 2]!);
  }

  /** The offset of a fixed-size value of at least `n` bytes, or -1 when absent. */
  #fixed(type: number, n: number): number {
    const i = this.#find(type);
    if (i < 0) return -1;
    const len = this.#index[i + 2]!;
    if (len < n) throw new NetlinkCodecError(`Cannot decode attribute ${type}: need ${n} bytes, have ${len}`);
    return this.#index[i + 1]!;
  }

  /** A u8 value. */
  u8(type: number): number | undefined {
    const at = this.#fixed(type, 1);
    return at < 0 ? undefined : this.#view.getUint8(at);
  }

  /** A host-order u16 value. */
  u16(type: number): number | undefined {
    const at = this.#fixed(type, 2);
    return at < 0 ? undefined : this.#view.getUint16(at, true);
  }

  /** A big-endian (network order) u16 value, e.g. `IFLA_VXLAN_PORT`. */
  u16be(type: number): number | undefined {
    const at = this.#fixed(type, 2);
    return at < 0 ? undefined : this.#view.getUint16(at, false);
  }

  /** A host-order u32 value. */
  u32(type: number): number | undefined {
    const at = this.#fixed(type, 4);
    return at < 0 ? undefined : this.#view.getUint32(at, true);
  }

  /** A host-order i32 value. */
  i32(type: number): number | undefined {
    const at = this.#fixed(type, 4);
    return at < 0 ? undefined : this.#view.getInt32(at, true);
  }

  /** A NUL-terminated (or not) string. */
  str(type: number): string | undefined {
    const b = this.bytes(type);
    if (b === undefined) return undefined;
    const nul = b.indexOf(0);
    return DECODER.decode(nul < 0 ? b : b.subarray(0, nul));
  }

  /** A nested attribute set. */
  nest(type: number): Attrs | undefined {
    const b = this.bytes(type);
    return b === undefined ? undefined : new Attrs(b);
  }
}

const DECODER = new TextDecoder();

/**
 * A growable writer for a message payload: a fixed family header (via {@link AttrWriter.raw}) then attributes,
 * padded to `RTA_ALIGN`, with nesting.
 *
 * @example Nested attributes
 * ```ts
 * import { AttrWriter } from "./codec.ts";
 * const w = new AttrWriter();
 * w.nest(18, () => w.str(1, "vxlan"));
 * w.finish().length; // 16
 * ```
 */
export class AttrWriter {
  #buf: Uint8Array<ArrayBuffer>;
  #view: DataView;
  #len = 0;

  /** @param capacity initial size in bytes */
  constructor(capacity = 128) {
    this.#buf = new Uint8Array(capacity);
    this.#view = new DataView(this.#buf.buffer);
  }

  #reserve(n: number): number {
    const need = this.#len + RTA_ALIGN(n);
    if (need > this.#buf.length) {
      const grown = new Uint8Array(Math.max(need, this.#buf.length * 2));
      grown.set(this.#buf.subarray(0, this.#len));
      this.#buf = grown;
      this.#view = new DataView(grown.buffer);
    }
    const at = this.#len;
    this.#len = need;
    return at;
  }

  #header(type: number, valueLen: number): number {
    if (valueLen + 4 > 0xffff) {
      throw new RangeError(`Cannot encode attribute ${type}: ${valueLen} bytes exceed nla_len`);
    }
    const at = this.#reserve(4 + valueLen);
    this.#view.setUint16(at, 4 + valueLen, true);
    this.#view.setUint16(at + 2, type, true);
    return at + 4;
  }

  /** Appends raw bytes (a family header), padded to 4 bytes. */
  raw(bytes: Uint8Array): this {
    const at = this.#reserve(bytes.length);
    this.#buf.set(bytes, at);
    return this;
  }

  /** An attribute with a raw value. */
  bytes(type: number, value: Uint8Array): this {
    const at = this.#header(type, value.length);
    this.#buf.set(value, at);
    return this;
  }

  /** A flag attribute (no value), e.g. `IFLA_VXLAN_GBP`. */
  flag(type: number): this {
    this.#header(type, 0);
    return this;
  }

  /** A u8 attribute. */
  u8(type: number, v: number): this {
    const at = this.#header(type, 1);
    this.#view.setUint8(at, v);
    return this;
  }

  /** A host-order u16 attribute. */
  u16(type: number, v: number): this {
    const at = this.#header(type, 2);
    this.#view.setUint16(at, v, true);
    return this;
  }

  /** A big-endian u16 attribute (ports). */
  u16be(type: number, v: number): this {
    const at = this.#header(type, 2);
    this.#view.setUint16(at, v, false);
    return this;
  }

  /** A host-order u32 attribute. */
  u32(type: number, v: number): this {
    const at = this.#header(type, 4);
    this.#view.setUint32(at, v >>> 0, true);
    return this;
  }

  /** A host-order i32 attribute. */
  i32(type: number, v: number): this {
    const at = this.#header(type, 4);
    this.#view.setInt32(at, v, true);
    return this;
  }

  /** A NUL-terminated string attribute. */
  str(type: number, s: string): this {
    const b = new TextEncoder().encode(s);
    const at = this.#header(type, b.length + 1);
    this.#buf.set(b, at);
    this.#buf[at + b.length] = 0;
    return this;
  }

  /** A nested attribute whose children `fn` writes; `NLA_F_NESTED` is set, as the kernel's strict parsers want. */
  nest(type: number, fn: () => void): this {
    const at = this.#reserve(4);
    fn();
    this.#view.setUint16(at, this.#len - at, true);
    this.#view.setUint16(at + 2, type | NLA_F_NESTED, true);
    return this;
  }

  /** The bytes written so far (a copy-free view; do not keep writing afterwards). */
  finish(): Uint8Array<ArrayBuffer> {
    return this.#buf.subarray(0, this.#len);
  }
}

/** Extended-ACK attributes of an `NLMSG_ERROR` / `NLMSG_DONE`. */
export interface ExtAck {
  readonly message?: string;
  readonly offset?: number;
  readonly missingType?: number;
}

/** A decoded `NLMSG_ERROR`: `error` is 0 for an ACK, a negative errno otherwise. */
export interface NlMsgErr {
  readonly error: number;
  /** Header of the request this answers (its seq matches the request's). */
  readonly request: NlMsgHdr & { readonly len: number };
  readonly extack: ExtAck;
}

function decodeExtAck(b: Uint8Array): ExtAck {
  const a = new Attrs(b);
  const out: { message?: string; offset?: number; missingType?: number } = {};
  const msg = a.str(NLMSGERR_ATTR_MSG);
  if (msg !== undefined) out.message = msg;
  const off = a.u32(NLMSGERR_ATTR_OFFS);
  if (off !== undefined) out.offset = off;
  const miss = a.u32(NLMSGERR_ATTR_MISS_TYPE);
  if (miss !== undefined) out.missingType = miss;
  return out;
}

/**
 * Decodes the payload of an `NLMSG_ERROR`: `int error`, the echoed request header (or whole request without
 * `NLM_F_CAPPED`), then extended-ACK TLVs if `NLM_F_ACK_TLVS`.
 *
 * @param msg a message whose type is `NLMSG_ERROR`
 * @returns error, the echoed request header and the extack
 * @throws {NetlinkCodecError} on a short payload
 * @example
 * ```ts
 * import { decodeError, encodeMessage, parseMessages } from "./codec.ts";
 * const p = new Uint8Array(20); // error 0 (ACK) + a zeroed request header
 * decodeError(parseMessages(encodeMessage({ type: 2, flags: 0x100, seq: 1, pid: 0 }, p))[0]!).error; // 0
 * ```
 */
export function decodeError(msg: NetlinkMessage): NlMsgErr {
  const p = msg.payload;
  need("nlmsgerr", p, 4 + NLMSG_HDRLEN);
  const v = view(p);
  const error = v.getInt32(0, true);
  const origLen = v.getUint32(4, true);
  const request = {
    len: origLen,
    type: v.getUint16(8, true),
    flags: v.getUint16(10, true),
    seq: v.getUint32(12, true),
    pid: v.getUint32(16, true),
  };
  // Without NLM_F_CAPPED the kernel echoes the whole request; ACKs (error 0) are always capped.
  let off = 4 + NLMSG_HDRLEN;
  if (!(msg.header.flags & NLM_F_CAPPED) && error !== 0) {
    if (origLen < NLMSG_HDRLEN) {
      throw new NetlinkCodecError(`Cannot decode nlmsgerr: echoed nlmsg_len ${origLen}`);
    }
    off = 4 + NLMSG_ALIGN(origLen);
  }
  let extack: ExtAck = {};
  if (msg.header.flags & NLM_F_ACK_TLVS) {
    if (off > p.length) {
      throw new NetlinkCodecError(`Cannot decode nlmsgerr: echoed request overruns payload`);
    }
    extack = decodeExtAck(p.subarray(off));
  }
  return { error, request, extack };
}

/**
 * Decodes the payload of an `NLMSG_DONE`: an `int` status (negative errno when the dump failed) and, with
 * `NLM_F_ACK_TLVS`, extended-ACK TLVs.
 *
 * @param msg a message whose type is `NLMSG_DONE`
 * @returns the status and extack
 * @example
 * ```ts
 * import { decodeDone, encodeMessage, parseMessages } from "./codec.ts";
 * decodeDone(parseMessages(encodeMessage({ type: 3, flags: 2, seq: 1, pid: 0 }, new Uint8Array(4)))[0]!).error; // 0
 * ```
 */
export function decodeDone(msg: NetlinkMessage): { error: number; extack: ExtAck } {
  // Some old kernels sent DONE without the int; treat that as success.
  if (msg.payload.length < 4) return { error: 0, extack: {} };
  const error = view(msg.payload).getInt32(0, true);
  const extack = msg.header.flags & NLM_F_ACK_TLVS ? decodeExtAck(msg.payload.subarray(4)) : {};
  return { error, extack };
}

/** `struct ifinfomsg` (16 bytes). */
export interface IfInfoMsg {
  readonly family: number;
  /** `ifi_type`: ARPHRD_* (1 = ether, 772 = loopback, 65534 = none/tun). */
  readonly type: number;
  readonly index: number;
  readonly flags: number;
  readonly change: number;
}

/** Encodes an `ifinfomsg`. @example `encodeIfInfoMsg({ family: 0, type: 0, index: 2, flags: 1, change: 1 })` */
export function encodeIfInfoMsg(m: IfInfoMsg): Uint8Array<ArrayBuffer> {
  const b = new Uint8Array(16);
  const v = new DataView(b.buffer);
  v.setUint8(0, m.family);
  v.setUint16(2, m.type, true);
  v.setInt32(4, m.index, true);
  v.setUint32(8, m.flags >>> 0, true);
  v.setUint32(12, m.change >>> 0, true);
  return b;
}

/** Decodes an `ifinfomsg`. @throws {NetlinkCodecError} when shorter than 16 bytes. @example `decodeIfInfoMsg(new Uint8Array(16)).index // 0` */
export function decodeIfInfoMsg(b: Uint8Array): IfInfoMsg {
  need("ifinfomsg", b, 16);
  const v = view(b);
  return {
    family: v.getUint8(0),
    type: v.getUint16(2, true),
    index: v.getInt32(4, true),
    flags: v.getUint32(8, true),
    change: v.getUint32(12, true),
  };
}

/** `struct ifaddrmsg` (8 bytes). */
export interface IfAddrMsg {
  readonly family: number;
  readonly prefixlen: number;
  readonly flags: number;
  readonly scope: number;
  readonly index: number;
}

/** Encodes an `ifaddrmsg`. @example `encodeIfAddrMsg({ family: 2, prefixlen: 24, flags: 0, scope: 0, index: 2 })` */
export function encodeIfAddrMsg(m: IfAddrMsg): Uint8Array<ArrayBuffer> {
  const b = new Uint8Array(8);
  const v = new DataView(b.buffer);
  v.setUint8(0, m.family);
  v.setUint8(1, m.prefixlen);
  v.setUint8(2, m.flags & 0xff);
  v.setUint8(3, m.scope);
  v.setUint32(4, m.index, true);
  return b;
}

/** Decodes an `ifaddrmsg`. @throws {NetlinkCodecError} when shorter than 8 bytes. @example `decodeIfAddrMsg(new Uint8Array(8)).prefixlen // 0` */
export function decodeIfAddrMsg(b: Uint8Array): IfAddrMsg {
  need("ifaddrmsg", b, 8);
  const v = view(b);
  return {
    family: v.getUint8(0),
    prefixlen: v.getUint8(1),
    flags: v.getUint8(2),
    scope: v.getUint8(3),
    index: v.getUint32(4, true),
  };
}

/** `struct rtmsg` (12 bytes). */
export interface RtMsg {
  readonly family: number;
  readonly dstLen: number;
  readonly srcLen: number;
  readonly tos: number;
  readonly table: number;
  readonly protocol: number;
  readonly scope: number;
  readonly type: number;
  readonly flags: number;
}

/** Encodes an `rtmsg`. @example `encodeRtMsg({ family: 2, dstLen: 24, srcLen: 0, tos: 0, table: 254, protocol: 3, scope: 0, type: 1, flags: 0 })` */
export function encodeRtMsg(m: RtMsg): Uint8Array<ArrayBuffer> {
  const b = new Uint8Array(12);
  const v = new DataView(b.buffer);
  v.setUint8(0, m.family);
  v.setUint8(1, m.dstLen);
  v.setUint8(2, m.srcLen);
  v.setUint8(3, m.tos);
  v.setUint8(4, m.table);
  v.setUint8(5, m.protocol);
  v.setUint8(6, m.scope);
  v.setUint8(7, m.type);
  v.setUint32(8, m.flags >>> 0, true);
  return b;
}

/** Decodes an `rtmsg`. @throws {NetlinkCodecError} when shorter than 12 bytes. @example `decodeRtMsg(new Uint8Array(12)).table // 0` */
export function decodeRtMsg(b: Uint8Array): RtMsg {
  need("rtmsg", b, 12);
  const v = view(b);
  return {
    family: v.getUint8(0),
    dstLen: v.getUint8(1),
    srcLen: v.getUint8(2),
    tos: v.getUint8(3),
    table: v.getUint8(4),
    protocol: v.getUint8(5),
    scope: v.getUint8(6),
    type: v.getUint8(7),
    flags: v.getUint32(8, true),
  };
}

/** `struct ndmsg` (12 bytes). */
export interface NdMsg {
  readonly family: number;
  readonly index: number;
  /** `ndm_state`: NUD_* bits. */
  readonly state: number;
  /** `ndm_flags`: NTF_* bits. */
  readonly flags: number;
  readonly type: number;
}

/** Encodes an `ndmsg`. @example `encodeNdMsg({ family: 7, index: 3, state: 0x80, flags: 2, type: 0 })` */
export function encodeNdMsg(m: NdMsg): Uint8Array<ArrayBuffer> {
  const b = new Uint8Array(12);
  const v = new DataView(b.buffer);
  v.setUint8(0, m.family);
  v.setInt32(4, m.index, true);
  v.setUint16(8, m.state, true);
  v.setUint8(10, m.flags);
  v.setUint8(11, m.type);
  return b;
}

/** Decodes an `ndmsg`. @throws {NetlinkCodecError} when shorter than 12 bytes. @example `decodeNdMsg(new Uint8Array(12)).state // 0` */
export function decodeNdMsg(b: Uint8Array): NdMsg {
  need("ndmsg", b, 12);
  const v = view(b);
  return {
    family: v.getUint8(0),
    index: v.getInt32(4, true),
    state: v.getUint16(8, true),
    flags: v.getUint8(10),
    type: v.getUint8(11),
  };
}
