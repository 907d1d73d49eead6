/**
 * Byte helpers the codec files share: a `DataView` over exactly a subarray, and the length check every
 * fixed-size decoder starts with.
 *
 * @module
 */
import { NetlinkCodecError } from "./errors.ts";

/** A `DataView` over exactly the bytes of `b` (which may be a subarray of a larger buffer). */
export function view(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

/** Throws {@link NetlinkCodecError} unless `b` holds at least `n` bytes, naming `what` was being decoded. */
export function need(what: string, b: Uint8Array, n: number): void {
  if (b.length < n) throw new NetlinkCodecError(`Cannot decode ${what}: need ${n} bytes, have ${b.length}`);
}
