/**
 * Requests as pure data, and the pure half of sending them: framing a request into a message, packing a run of
 * requests into one send buffer, and turning a kernel refusal into a {@link NetlinkError} that names the
 * request. The family modules build {@link NetlinkRequest}s; `socket.ts` numbers, sends and matches them.
 *
 * @example Frame a request as the socket sends it
 * ```ts
 * import { frameRequest } from "./request.ts";
 * import { NLM_F_ACK, NLM_F_REQUEST } from "./consts.ts";
 * const req = { type: 24, flags: 0, payload: new Uint8Array(12), op: "add route", summary: "10.42.7.0/24 dev 5" };
 * frameRequest(req, { flags: NLM_F_REQUEST | NLM_F_ACK, seq: 1, pid: 0 }).length; // 28
 * ```
 *
 * @module
 */
import { encodeMessage, NLMSG_ALIGN, writeHeader } from "./codec.ts";
import { NLMSG_HDRLEN } from "./consts.ts";
import { NetlinkError } from "./errors.ts";

/**
 * One request, as pure data: the family modules build these (`routeAddRequest(...)` etc.), the socket numbers
 * and sends them. The header's length, sequence number and port id are filled in at send time.
 */
export interface NetlinkRequest {
  /** `nlmsg_type`, e.g. `RTM_NEWROUTE`. */
  readonly type: number;
  /** Flags besides `NLM_F_REQUEST`/`NLM_F_ACK`/`NLM_F_DUMP`, which the socket adds. */
  readonly flags: number;
  /** The family header and attributes. */
  readonly payload: Uint8Array;
  /** The operation, for errors: "add route". */
  readonly op: string;
  /** A one-line summary for errors: "10.42.7.0/24 via 10.42.7.0 dev 5 onlink". */
  readonly summary: string;
}

/** The outcome of one request of a batch. */
export type BatchResult = { readonly ok: true } | { readonly ok: false; readonly error: NetlinkError };

/** What the socket adds to a request's header when it sends it. */
export interface SendHeader {
  /** Flags or-ed onto the request's own (`NLM_F_REQUEST | NLM_F_ACK`, or `NLM_F_DUMP`). */
  readonly flags: number;
  /** `nlmsg_seq`. */
  readonly seq: number;
  /** `nlmsg_pid`: the socket's port id. */
  readonly pid: number;
}

/**
 * Frames one request into a message.
 *
 * @param req the request
 * @param header the flags, sequence number and port id the socket adds
 * @returns the message bytes
 * @example
 * ```ts
 * import { frameRequest } from "./request.ts";
 * const req = { type: 18, flags: 0, payload: new Uint8Array(16), op: "get link", summary: "eth0" };
 * frameRequest(req, { flags: 1, seq: 7, pid: 0 }).length; // 32
 * ```
 */
export function frameRequest(req: NetlinkRequest, header: SendHeader): Uint8Array<ArrayBuffer> {
  return encodeMessage(
    { type: req.type, flags: req.flags | header.flags, seq: header.seq, pid: header.pid },
    req.payload,
  );
}

/** Where one send of a batch ends: requests `start..end - 1`, `bytes` long once framed. */
export interface BatchChunk {
  readonly end: number;
  readonly bytes: number;
}

/**
 * How many requests from `start` go into one send: at most `maxMessages`, and no more than `maxBytes` unless a
 * single request is bigger than that on its own (it then goes alone).
 *
 * @param reqs the whole batch
 * @param start the first request of this send
 * @param limits most messages and bytes per send
 * @returns the end index and the framed size
 * @example
 * ```ts
 * import { batchChunk } from "./request.ts";
 * const req = { type: 24, flags: 0, payload: new Uint8Array(12), op: "add route", summary: "" };
 * batchChunk([req, req, req], 0, { maxMessages: 2, maxBytes: 1 << 20 }); // { end: 2, bytes: 56 }
 * ```
 */
export function batchChunk(
  reqs: readonly NetlinkRequest[],
  start: number,
  limits: { readonly maxMessages: number; readonly maxBytes: number },
): BatchChunk {
  let bytes = 0;
  let j = start;
  while (j < reqs.length && j - start < limits.maxMessages) {
    const size = NLMSG_ALIGN(NLMSG_HDRLEN + reqs[j]!.payload.length);
    if (j > start && bytes + size > limits.maxBytes) break;
    bytes += size;
    j++;
  }
  return { end: j, bytes };
}

/**
 * Reserves `count` consecutive sequence numbers after `last` and returns the first. The run restarts at 1
 * rather than wrap inside it (0 is never used: an ACK for it could not be told from an unsolicited message),
 * so a batch's ACKs map back to their requests by subtraction.
 *
 * @param last the last sequence number used (0 to 2³² − 1)
 * @param count how many to reserve (at least 1)
 * @returns the first of the run; the socket's new last one is `first + count - 1`
 * @example
 * ```ts
 * import { reserveSeqs } from "./request.ts";
 * reserveSeqs(41, 3); // 42
 * reserveSeqs(0xffff_fffe, 3); // 1: 0xffffffff, 0, 1 would wrap inside the run
 * ```
 */
export function reserveSeqs(last: number, count: number): number {
  return last + count > 0xffff_ffff ? 1 : last + 1;
}

/**
 * Frames requests `start..chunk.end - 1` back to back into one send buffer, built in place, numbered
 * `firstSeq`, `firstSeq + 1`, … (a run from {@linkcode reserveSeqs}).
 *
 * @param reqs the whole batch
 * @param start the first request of this send
 * @param chunk where the send ends and its size, from {@link batchChunk}
 * @param header flags and port id for every message, and the first sequence number
 * @returns the send buffer
 * @example
 * ```ts
 * import { batchChunk, encodeBatch } from "./request.ts";
 * const req = { type: 24, flags: 0, payload: new Uint8Array(12), op: "add route", summary: "" };
 * const chunk = batchChunk([req, req], 0, { maxMessages: 64, maxBytes: 1 << 20 });
 * encodeBatch([req, req], 0, chunk, { flags: 5, pid: 0, firstSeq: 1 }).length; // 56
 * ```
 */
export function encodeBatch(
  reqs: readonly NetlinkRequest[],
  start: number,
  chunk: BatchChunk,
  header: { readonly flags: number; readonly pid: number; readonly firstSeq: number },
): Uint8Array<ArrayBuffer> {
  const buf = new Uint8Array(chunk.bytes);
  let off = 0;
  for (let k = start; k < chunk.end; k++) {
    const r = reqs[k]!;
    const len = NLMSG_HDRLEN + r.payload.length;
    writeHeader(buf, off, len, {
      type: r.type,
      flags: r.flags | header.flags,
      seq: header.firstSeq + (k - start),
      pid: header.pid,
    });
    buf.set(r.payload, off + NLMSG_HDRLEN);
    off += NLMSG_ALIGN(len);
  }
  return buf;
}

/**
 * The {@link NetlinkError} for a request the kernel refused, with its extended-ACK text and offset when given.
 *
 * @param req the refused request
 * @param seq its sequence number
 * @param err the kernel's (negative) error
 * @param extack the extended ACK
 * @returns the error
 * @example
 * ```ts
 * import { requestError } from "./request.ts";
 * const req = { type: 24, flags: 0, payload: new Uint8Array(12), op: "add route", summary: "10.42.7.0/24 dev 5" };
 * requestError(req, 3, -17, {}).code; // "EEXIST"
 * ```
 */
export function requestError(
  req: NetlinkRequest,
  seq: number,
  err: number,
  extack: { readonly message?: string; readonly offset?: number },
): NetlinkError {
  return new NetlinkError({
    errno: -err,
    op: req.op,
    seq,
    request: req.summary,
    ...(extack.message === undefined ? {} : { extackMessage: extack.message }),
    ...(extack.offset === undefined ? {} : { extackOffset: extack.offset }),
  });
}
