/**
 * Error classes callers catch: {@link NetlinkError} for a request the kernel refused, {@link NetlinkCodecError}
 * for bytes that are not valid netlink. Both follow the project's message style: action first, then details.
 *
 * @module
 */
import { errnoName } from "../libc/mod.ts";

// The errno names live with the libc bindings (the udp data path words its errors with them too); re-exported
// so that callers of this library keep one import.
export { errnoName };

/** What a {@link NetlinkError} is built from. */
export interface NetlinkErrorInit {
  /** Positive errno value from the kernel's `NLMSG_ERROR` (or the socket call). */
  readonly errno: number;
  /** The operation attempted, e.g. "add route". */
  readonly op: string;
  /** Sequence number of the refused request (0 when not tied to one). */
  readonly seq: number;
  /** One-line summary of the request, e.g. "10.42.7.0/24 via 10.42.7.0 dev 5 onlink". */
  readonly request?: string;
  /** The kernel's extended-ACK text, when it gave one. */
  readonly extackMessage?: string;
  /** Byte offset of the offending attribute inside the request, when the kernel gave one. */
  readonly extackOffset?: number;
  /** The underlying cause. */
  readonly cause?: unknown;
}

/**
 * A request the kernel refused (an `NLMSG_ERROR` with a negative error, a `NLMSG_DONE` carrying one), or a socket
 * failure while talking to it. `code` is the errno name, e.g. `"EEXIST"`.
 *
 * @example Tell "already there" apart from real failures
 * ```ts
 * import { NetlinkError } from "./errors.ts";
 * const e = new NetlinkError({ errno: 17, op: "add route", seq: 7, request: "10.0.0.0/24 dev 2" });
 * if (e.code === "EEXIST") {
 *   // fine: level-triggered callers treat it as success
 * }
 * ```
 */
export class NetlinkError extends Error {
  /** Positive errno value. */
  readonly errno: number;
  /** errno name, e.g. "ENOENT". */
  readonly code: string;
  /** The operation attempted. */
  readonly op: string;
  /** Sequence number of the request. */
  readonly seq: number;
  /** One-line request summary. */
  readonly request: string | undefined;
  /** Extended-ACK message, if any. */
  readonly extackMessage: string | undefined;
  /** Extended-ACK offset into the request, if any. */
  readonly extackOffset: number | undefined;

  constructor(init: NetlinkErrorInit) {
    const code = errnoName(init.errno);
    const what = init.request ? ` "${init.request}"` : "";
    const ext = init.extackMessage ? `: ${init.extackMessage}` : "";
    super(
      `Cannot ${init.op}${what}: ${code}${ext}`,
      init.cause === undefined ? undefined : { cause: init.cause },
    );
    this.name = "NetlinkError";
    this.errno = init.errno;
    this.code = code;
    this.op = init.op;
    this.seq = init.seq;
    this.request = init.request;
    this.extackMessage = init.extackMessage;
    this.extackOffset = init.extackOffset;
  }
}

/**
 * Bytes that cannot be decoded as netlink: a truncated header, an attribute overrunning its message, a field too
 * short for its type. Decoders throw only this.
 *
 * @example
 * ```ts
 * import { NetlinkCodecError } from "./errors.ts";
 * try {
 *   throw new NetlinkCodecError("Cannot decode nlmsghdr: need 16 bytes, have 3");
 * } catch (e) {
 *   if (!(e instanceof NetlinkCodecError)) throw e;
 * }
 * ```
 */
export class NetlinkCodecError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "NetlinkCodecError";
  }
}
