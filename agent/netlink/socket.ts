/**
 * The netlink socket: sequence numbers, ACK matching, multi-part dumps (with `NLM_F_DUMP_INTR` retries),
 * batching, event reception, and the wait that keeps Deno's event loop free. The system calls are in
 * `_socket_io.ts`; framing and error wording, which are pure, in `request.ts`.
 *
 * rtnetlink handles a request synchronously inside `sendto()`, so an ACK is usually already queued when the send
 * returns and no wait happens at all. Long replies yield to timers and I/O every few milliseconds.
 *
 * Set `NLDEBUG=1` (or `2` for payload hex) to log every message sent and received to stderr.
 *
 * @module
 */
import { EINTR, ENOBUFS, OsError } from "../libc/mod.ts";
import { decodeDone, decodeError, type NetlinkMessage, parseMessages } from "./codec.ts";
import {
  NLM_F_ACK,
  NLM_F_DUMP,
  NLM_F_DUMP_INTR,
  NLM_F_REQUEST,
  NLMSG_DONE,
  NLMSG_ERROR,
  NLMSG_NOOP,
  NLMSG_OVERRUN,
} from "./consts.ts";
import { NetlinkError } from "./errors.ts";
import {
  batchChunk,
  type BatchResult,
  encodeBatch,
  frameRequest,
  type NetlinkRequest,
  requestError,
  reserveSeqs,
} from "./request.ts";
import { SocketIo, type SocketOptions } from "./_socket_io.ts";

export type { SocketOptions } from "./_socket_io.ts";

/** Options for {@link NetlinkSocket.batch}. */
export interface BatchOptions {
  /** Most messages per send. Default: as many as the receive buffer holds ACKs for (at most 1024). */
  readonly maxPerSend?: number;
}

/** How long the main thread may work on a reply before it yields to timers and I/O. */
const YIELD_AFTER_MS = 4;
/** Estimated receive-buffer cost of one queued ACK skb (truesize), for chunking batches. */
const ACK_TRUESIZE = 1024;
const DUMP_INTR_RETRIES = 5;

function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/**
 * A raw `NETLINK_ROUTE` socket. Most code uses {@link Netlink} (netlink.ts), which wraps this with typed
 * operations; this class is the transport: requests, dumps, batches and event reception.
 *
 * @example Send a request built by a family module
 * ```ts ignore
 * import { NetlinkSocket } from "./socket.ts";
 * import { linkDumpRequest } from "./link.ts";
 * using sock = NetlinkSocket.open({ netns: "lab1" });
 * const replies = await sock.dump(linkDumpRequest());
 * ```
 */
export class NetlinkSocket implements Disposable {
  readonly #io: SocketIo;
  /** The port id the kernel assigned (`nl_pid`). */
  readonly pid: number;
  /** The namespace given at open, for messages. */
  readonly netns: string | undefined;
  readonly #maxAcksPerSend: number;
  readonly #maxSendBytes: number;
  #seq: number;
  #lock: Promise<void> = Promise.resolve();

  private constructor(io: SocketIo, netns: string | undefined) {
    this.#io = io;
    this.pid = io.pid;
    this.netns = netns;
    // Seeded from the clock like iproute2, so a restarted process does not match stale replies by chance.
    this.#seq = (Math.floor(Date.now() / 1000) & 0x3fffffff) + 1;
    this.#maxAcksPerSend = Math.max(16, Math.min(1024, Math.floor(io.receiveBufferBytes / ACK_TRUESIZE)));
    this.#maxSendBytes = Math.max(16 * 1024, Math.floor(io.sendBufferBytes / 2));
  }

  /**
   * Opens a socket, optionally inside another network namespace, with extended ACKs, capped ACKs and strict
   * checking on and big buffers.
   *
   * @param options namespace, multicast groups, buffers
   * @returns the open socket
   * @throws {OsError} when a system call fails (e.g. the namespace does not exist)
   * @example
   * ```ts ignore
   * import { NetlinkSocket } from "./socket.ts";
   * using sock = NetlinkSocket.open({ netns: "lab1" });
   * ```
   */
  static open(options: SocketOptions = {}): NetlinkSocket {
    return new NetlinkSocket(SocketIo.open(options), options.netns);
  }

  /** Whether {@link close} was called. */
  get closed(): boolean {
    return this.#io.closed;
  }

  /**
   * Closes the socket. A pending wait is woken through the eventfd and fails with "socket closed"; the
   * descriptors are released once it has returned.
   *
   * @example
   * ```ts ignore
   * sock.close();
   * ```
   */
  close(): void {
    this.#io.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  #nextSeq(): number {
    this.#seq = (this.#seq + 1) >>> 0 || 1;
    return this.#seq;
  }

  async #exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const prev = this.#lock;
    let release!: () => void;
    this.#lock = new Promise((r) => (release = r));
    await prev;
    try {
      if (this.#io.closed) {
        throw new NetlinkError({ errno: 9, op: "use netlink socket", seq: 0, request: "socket closed" });
      }
      return await fn();
    } finally {
      release();
    }
  }

  /** Receives datagrams until `handle` says it has seen everything; yields to the event loop on long runs. */
  async #receiveUntil(handle: (m: NetlinkMessage) => boolean, onNoBufs: () => boolean): Promise<void> {
    let lastYield = performance.now();
    for (;;) {
      let d: Uint8Array | null;
      try {
        d = this.#io.recvNow();
      } catch (e) {
        if (e instanceof OsError && e.errno === ENOBUFS && onNoBufs()) return;
        throw e;
      }
      if (d === null) {
        await this.#io.waitReadable();
        lastYield = performance.now();
        continue;
      }
      for (const m of parseMessages(d)) {
        // Replies for other sockets cannot arrive here; skip stale replies to earlier requests by seq in handle.
        if (handle(m)) return;
      }
      if (performance.now() - lastYield > YIELD_AFTER_MS) {
        await yieldToEventLoop();
        lastYield = performance.now();
      }
    }
  }

  /**
   * Sends one request with `NLM_F_ACK` and waits for its ACK; returns the replies that came before it (for a
   * `GET` of one object, the object).
   *
   * @param req the request
   * @returns reply messages (not the ACK)
   * @throws {NetlinkError} when the kernel refuses it
   * @example
   * ```ts ignore
   * await sock.request(routeAddRequest({ dst: "10.1.0.0/24", oif: 2 }));
   * ```
   */
  request(req: NetlinkRequest): Promise<NetlinkMessage[]> {
    return this.#exclusive(async () => {
      const seq = this.#nextSeq();
      const buf = frameRequest(req, { flags: NLM_F_REQUEST | NLM_F_ACK, seq, pid: this.pid });
      this.#io.send(buf, buf.length);
      const out: NetlinkMessage[] = [];
      let failure: NetlinkError | undefined;
      await this.#receiveUntil((m) => {
        if (m.header.seq !== seq) return false;
        if (m.header.type === NLMSG_ERROR) {
          const e = decodeError(m);
          if (e.error !== 0) failure = requestError(req, seq, e.error, e.extack);
          return true;
        }
        if (m.header.type === NLMSG_DONE) return false;
        if (m.header.type !== NLMSG_NOOP) out.push(m);
        return false;
      }, () => {
        failure = new NetlinkError({ errno: ENOBUFS, op: req.op, seq, request: req.summary });
        return true;
      });
      if (failure) throw failure;
      return out;
    });
  }

  /**
   * Sends a dump request (`NLM_F_DUMP`) and collects every part up to `NLMSG_DONE`. A dump the kernel marks
   * `NLM_F_DUMP_INTR` (the table changed during it) is repeated, up to 5 times.
   *
   * @param req the request (family header with the filters the kernel accepts under strict checking)
   * @param decode optional decoder run on each message as it arrives (return `undefined` to drop it)
   * @returns the object messages, or what `decode` made of them
   * @throws {NetlinkError} on refusal, or `EINTR` when every attempt was interrupted
   * @example
   * ```ts ignore
   * const msgs = await sock.dump(routeDumpRequest({ family: AF_INET }));
   * ```
   */
  dump(req: NetlinkRequest): Promise<NetlinkMessage[]>;
  dump<T>(req: NetlinkRequest, decode: (m: NetlinkMessage) => T | undefined): Promise<T[]>;
  dump<T>(
    req: NetlinkRequest,
    decode?: (m: NetlinkMessage) => T | undefined,
  ): Promise<(T | NetlinkMessage)[]> {
    return this.#exclusive(async () => {
      for (let attempt = 0;; attempt++) {
        const seq = this.#nextSeq();
        const buf = frameRequest(req, { flags: NLM_F_REQUEST | NLM_F_DUMP, seq, pid: this.pid });
        this.#io.send(buf, buf.length);
        const out: (T | NetlinkMessage)[] = [];
        let failure: NetlinkError | undefined;
        let interrupted = false;
        await this.#receiveUntil((m) => {
          if (m.header.seq !== seq) return false;
          if (m.header.flags & NLM_F_DUMP_INTR) interrupted = true;
          switch (m.header.type) {
            case NLMSG_DONE: {
              const d = decodeDone(m);
              if (d.error !== 0) failure = requestError(req, seq, d.error, d.extack);
              return true;
            }
            case NLMSG_ERROR: {
              const e = decodeError(m);
              failure = requestError(req, seq, e.error === 0 ? -5 : e.error, e.extack);
              return true;
            }
            case NLMSG_NOOP:
            case NLMSG_OVERRUN:
              return false;
            default: {
              // Decoding here, per datagram, keeps the work between event-loop yields small for big dumps.
              if (!decode) out.push(m);
              else {
                const v = decode(m);
                if (v !== undefined) out.push(v);
              }
              return false;
            }
          }
        }, () => {
          failure = new NetlinkError({ errno: ENOBUFS, op: req.op, seq, request: req.summary });
          return true;
        });
        if (failure) throw failure;
        if (!interrupted) return out;
        if (attempt + 1 >= DUMP_INTR_RETRIES) {
          throw new NetlinkError({
            errno: EINTR,
            op: req.op,
            seq,
            request: `${req.summary} (dump kept changing)`,
          });
        }
      }
    });
  }

  /**
   * Sends many requests in as few `sendto()` calls as the buffers allow, each with `NLM_F_ACK`, and matches every
   * ACK to its request by sequence number. One failure does not hide the others: the result array has one
   * entry per request, in order.
   *
   * Chunks are sized so their ACKs fit in the receive buffer (ACKs the kernel cannot queue are lost to ENOBUFS,
   * FRR #7028); if ACKs are lost anyway, the requests whose ACK never came fail with ENOBUFS (state unknown).
   *
   * @param reqs the requests
   * @param options chunking
   * @returns one result per request
   * @example
   * ```ts ignore
   * const results = await sock.batch(routes.map((r) => routeRequest("replace", r)));
   * const failed = results.filter((r) => !r.ok);
   * ```
   */
  batch(reqs: readonly NetlinkRequest[], options: BatchOptions = {}): Promise<BatchResult[]> {
    return this.#exclusive(async () => {
      const results = new Array<BatchResult>(reqs.length);
      const perSend = Math.max(1, Math.min(options.maxPerSend ?? this.#maxAcksPerSend, this.#maxAcksPerSend));
      let i = 0;
      while (i < reqs.length) {
        const chunk = batchChunk(reqs, i, { maxMessages: perSend, maxBytes: this.#maxSendBytes });
        const j = chunk.end;
        const firstSeq = reserveSeqs(this.#seq, j - i);
        this.#seq = firstSeq + (j - i) - 1;
        const buf = encodeBatch(reqs, i, chunk, {
          flags: NLM_F_REQUEST | NLM_F_ACK,
          pid: this.pid,
          firstSeq,
        });
        this.#io.send(buf, chunk.bytes);
        const base = i;
        let pending = j - i;
        await this.#receiveUntil((m) => {
          if (m.header.type !== NLMSG_ERROR) return false;
          const idx = base + ((m.header.seq - firstSeq) >>> 0);
          if (idx < base || idx >= j || results[idx] !== undefined) return false;
          const e = decodeError(m);
          results[idx] = e.error === 0
            ? { ok: true }
            : { ok: false, error: requestError(reqs[idx]!, m.header.seq, e.error, e.extack) };
          return --pending === 0;
        }, () => {
          // Lost ACKs: take what is still queued, then give up on the rest (the kernel is done with the chunk
          // by the time sendto() returns, so nothing more will come).
          for (let d = this.#io.recvSafe(); d !== null; d = this.#io.recvSafe()) {
            for (const m of parseMessages(d)) {
              if (m.header.type !== NLMSG_ERROR) continue;
              const idx = base + ((m.header.seq - firstSeq) >>> 0);
              if (idx < base || idx >= j || results[idx] !== undefined) continue;
              const e = decodeError(m);
              results[idx] = e.error === 0
                ? { ok: true }
                : { ok: false, error: requestError(reqs[idx]!, m.header.seq, e.error, e.extack) };
            }
          }
          for (let k = base; k < j; k++) {
            results[k] ??= {
              ok: false,
              error: new NetlinkError({
                errno: ENOBUFS,
                op: reqs[k]!.op,
                seq: firstSeq + k - base,
                request: `${reqs[k]!.summary} (ACK lost)`,
              }),
            };
          }
          return true;
        });
        i = j;
      }
      return results;
    });
  }

  /**
   * Waits for multicast messages (sockets opened with `groups`) and returns everything queued, or `"overrun"`
   * when the kernel dropped messages (ENOBUFS): the caller must then resync from a dump.
   *
   * @returns the messages, or "overrun"
   * @example
   * ```ts ignore
   * const got = await sock.receive();
   * if (got === "overrun") await resync();
   * ```
   */
  receive(): Promise<NetlinkMessage[] | "overrun"> {
    return this.#exclusive(async () => {
      for (;;) {
        const out: NetlinkMessage[] = [];
        for (;;) {
          let d: Uint8Array | null;
          try {
            d = this.#io.recvNow();
          } catch (e) {
            if (e instanceof OsError && e.errno === ENOBUFS) return "overrun";
            throw e;
          }
          if (d === null) break;
          out.push(...parseMessages(d));
          if (out.length >= 4096) return out;
        }
        if (out.length > 0) return out;
        await this.#io.waitReadable();
      }
    });
  }
}
