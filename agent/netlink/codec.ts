/**
 * The pure netlink message codec: `nlmsghdr` framing (one message, or a datagram of several), and
 * `NLMSG_ERROR` / `NLMSG_DONE` with extended-ACK TLVs. Attributes are in `attrs.ts`, the rtnetlink family
 * headers (`ifinfomsg`, `ifaddrmsg`, `rtmsg`, `ndmsg`) in `family_headers.ts`. No I/O here: everything is bytes
 * in, values out (and back), so it is unit-tested and fuzzed without privileges.
 *
 * Byte order: netlink headers and attributes are host order (little-endian on every machine this runs on); a
 * few attributes are big-endian by definition (e.g. `IFLA_VXLAN_PORT`), which their writers say explicitly.
 *
 * Decoders throw only {@link NetlinkCodecError}.
 *
 * @example Encode a message and decode it back
 * ```ts
 * import { encodeMessage, parseMessages } from "./codec.ts";
 * import { AttrWriter, parseAttrs } from "./attrs.ts";
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
  NLM_F_ACK_TLVS,
  NLM_F_CAPPED,
  NLMSG_HDRLEN,
  NLMSGERR_ATTR_MISS_TYPE,
  NLMSGERR_ATTR_MSG,
  NLMSGERR_ATTR_OFFS,
} from "./consts.ts";
import { NetlinkCodecError } from "./errors.ts";
import { Attrs } from "./attrs.ts";
import { need, view } from "./_bytes.ts";

/** `NLMSG_ALIGN(len)`: rounds up to netlink's 4-byte alignment. */
export function NLMSG_ALIGN(len: number): number {
  return (len + 3) & ~3;
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
