/**
 * Error classes callers catch: {@link NetlinkError} for a request the kernel refused, {@link NetlinkCodecError}
 * for bytes that are not valid netlink. Both follow the project's message style: action first, then details.
 *
 * @module
 */

// Linux x86_64/arm64 (asm-generic) errno numbers: the ones rtnetlink answers with, plus the socket ones.
const ERRNO_NAMES: Record<number, string> = {
  1: "EPERM",
  2: "ENOENT",
  3: "ESRCH",
  4: "EINTR",
  5: "EIO",
  6: "ENXIO",
  7: "E2BIG",
  9: "EBADF",
  11: "EAGAIN",
  12: "ENOMEM",
  13: "EACCES",
  14: "EFAULT",
  16: "EBUSY",
  17: "EEXIST",
  18: "EXDEV",
  19: "ENODEV",
  20: "ENOTDIR",
  21: "EISDIR",
  22: "EINVAL",
  23: "ENFILE",
  24: "EMFILE",
  25: "ENOTTY",
  28: "ENOSPC",
  32: "EPIPE",
  33: "EDOM",
  34: "ERANGE",
  36: "ENAMETOOLONG",
  38: "ENOSYS",
  39: "ENOTEMPTY",
  40: "ELOOP",
  42: "ENOMSG",
  61: "ENODATA",
  62: "ETIME",
  71: "EPROTO",
  74: "EBADMSG",
  75: "EOVERFLOW",
  90: "EMSGSIZE",
  92: "ENOPROTOOPT",
  93: "EPROTONOSUPPORT",
  95: "EOPNOTSUPP",
  97: "EAFNOSUPPORT",
  98: "EADDRINUSE",
  99: "EADDRNOTAVAIL",
  100: "ENETDOWN",
  101: "ENETUNREACH",
  103: "ECONNABORTED",
  104: "ECONNRESET",
  105: "ENOBUFS",
  110: "ETIMEDOUT",
  111: "ECONNREFUSED",
  113: "EHOSTUNREACH",
  114: "EALREADY",
  115: "EINPROGRESS",
};

/**
 * The symbolic name of an errno value, e.g. `17` → `"EEXIST"`; unknown values give `"errno N"`.
 *
 * @example
 * ```ts
 * import { errnoName } from "./errors.ts";
 * errnoName(17); // "EEXIST"
 * ```
 */
export function errnoName(errno: number): string {
  return ERRNO_NAMES[errno] ?? `errno ${errno}`;
}

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
