/**
 * Netlink attributes (`struct nlattr`, a.k.a. `rtattr`): decoding a run of them ({@link parseAttrs}, or
 * {@link Attrs} for lookups by type), and writing them with nesting ({@link AttrWriter}). Pure.
 *
 * Attribute values are host order unless the kernel defines them otherwise (`u16be` for ports). Decoders throw
 * only {@link NetlinkCodecError}.
 *
 * @example Write attributes and read them back
 * ```ts
 * import { Attrs, AttrWriter } from "./attrs.ts";
 * const w = new AttrWriter();
 * w.u32(4, 1500).str(3, "eth0");
 * const a = new Attrs(w.finish());
 * [a.u32(4), a.str(3)]; // [1500, "eth0"]
 * ```
 *
 * @module
 */
import { NLA_F_NESTED, NLA_TYPE_MASK } from "./consts.ts";
import { NetlinkCodecError } from "./errors.ts";
import { view } from "./_bytes.ts";

/** `RTA_ALIGN(len)` (= `NLA_ALIGN`): attributes use the same 4-byte alignment as messages. */
export function RTA_ALIGN(len: number): number {
  return (len + 3) & ~3;
}

/** `RTA_LENGTH(len)`: an attribute header (4 bytes) plus `len` bytes of value, unpadded. */
export function RTA_LENGTH(len: number): number {
  return 4 + len;
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
 * import { AttrWriter, parseAttrs } from "./attrs.ts";
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
 * import { AttrWriter, Attrs } from "./attrs.ts";
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
 * import { AttrWriter } from "./attrs.ts";
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
