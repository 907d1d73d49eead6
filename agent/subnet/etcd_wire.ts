/**
 * The JSON form of etcd v3's API, as its gRPC gateway (`/v3/...` on every client URL) speaks it: keys and
 * values are base64, 64-bit integers are decimal strings, enum fields and zero values are left out. Pure
 * helpers only; {@linkcode EtcdHttpClient} does the I/O.
 *
 * @module
 */

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Base64 of a string's UTF-8 bytes, as the gateway wants keys and values.
 *
 * @example
 * ```ts
 * import { encodeBytes } from "./etcd_wire.ts";
 * encodeBytes("/a"); // "L2E="
 * ```
 */
export function encodeBytes(text: string): string {
  const bytes = encoder.encode(text);
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

const NON_ASCII = /[\x80-\xff]/;

/** The UTF-8 text of a base64 field; an absent field is the empty string (the gateway omits empty bytes). */
export function decodeBytes(base64: string | undefined): string {
  if (!base64) return "";
  const binary = atob(base64);
  // Keys and lease values are ASCII: then the binary string is the text, and decoding would only copy it.
  if (!NON_ASCII.test(binary)) return binary;
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return decoder.decode(bytes);
}

/**
 * The `range_end` that makes a range cover every key starting with `prefix`: the prefix with its last byte
 * below 0xff incremented and the rest dropped (etcd's `GetPrefixRangeEnd`), or `"\0"` (all keys) if none is.
 *
 * @example
 * ```ts
 * import { prefixRangeEnd } from "./etcd_wire.ts";
 * prefixRangeEnd("/coreos.com/network/subnets/"); // "/coreos.com/network/subnets0"
 * ```
 */
export function prefixRangeEnd(prefix: string): string {
  const bytes = encoder.encode(prefix);
  for (let i = bytes.length - 1; i >= 0; i--) {
    if (bytes[i]! < 0xff) {
      const end = bytes.slice(0, i + 1);
      end[i]!++;
      return decoder.decode(end);
    }
  }
  return "\0";
}

/** A stored key-value pair, decoded. */
export interface KeyValue {
  readonly key: string;
  readonly value: string;
  readonly modRevision: bigint;
  /** The etcd lease the key is attached to, as a decimal string; `undefined` for none. */
  readonly lease: string | undefined;
}

/** A key-value pair as the gateway sends it. */
export interface WireKeyValue {
  readonly key?: string;
  readonly value?: string;
  readonly mod_revision?: string;
  readonly lease?: string;
}

/** Decodes one wire key-value pair. */
export function decodeKeyValue(kv: WireKeyValue): KeyValue {
  return {
    key: decodeBytes(kv.key),
    value: decodeBytes(kv.value),
    modRevision: BigInt(kv.mod_revision ?? "0"),
    lease: kv.lease && kv.lease !== "0" ? kv.lease : undefined,
  };
}

/** The response header every call carries. */
export interface WireHeader {
  readonly revision?: string;
}

/** The revision of a response header (0 when absent, as in a fresh store). */
export function headerRevision(header: WireHeader | undefined): bigint {
  return BigInt(header?.revision ?? "0");
}

/** One message of a watch stream: a `result` (created, events, cancelled) or an `error`. */
export interface WireWatchMessage {
  readonly result?: {
    readonly header?: WireHeader;
    readonly created?: boolean;
    readonly canceled?: boolean;
    readonly cancel_reason?: string;
    readonly compact_revision?: string;
    readonly events?: readonly { readonly type?: "PUT" | "DELETE"; readonly kv?: WireKeyValue }[];
  };
  readonly error?: { readonly message?: string; readonly grpc_code?: number; readonly code?: number };
}

/**
 * Splits a stream of text chunks into the JSON messages it carries. The gateway writes one message per line,
 * but a chunk may end anywhere, so text is carried over until its line is complete.
 *
 * @example
 * ```ts
 * import { splitJsonLines } from "./etcd_wire.ts";
 * const split = splitJsonLines();
 * split('{"a":1}\n{"b"'); // [{ a: 1 }]
 * split(':2}\n'); // [{ b: 2 }]
 * ```
 */
export function splitJsonLines(): (chunk: string) => unknown[] {
  let carry = "";
  return (chunk) => {
    carry += chunk;
    const out: unknown[] = [];
    let newline: number;
    while ((newline = carry.indexOf("\n")) >= 0) {
      const line = carry.slice(0, newline).trim();
      carry = carry.slice(newline + 1);
      if (line) out.push(JSON.parse(line));
    }
    return out;
  };
}

/** gRPC status codes that mean "try again later" rather than "this request is wrong". */
const RETRYABLE_GRPC_CODES = new Set([
  4, // DEADLINE_EXCEEDED
  8, // RESOURCE_EXHAUSTED (too many requests)
  10, // ABORTED
  13, // INTERNAL (e.g. a leader change in flight)
  14, // UNAVAILABLE
]);

/** Whether a gateway error (its gRPC code) is worth retrying. */
export function isRetryableCode(code: number | undefined): boolean {
  return code !== undefined && RETRYABLE_GRPC_CODES.has(code);
}
