/**
 * The netlink socket: FFI system calls, sequence numbers, ACK matching, multi-part dumps (with
 * `NLM_F_DUMP_INTR` retries), batching and the wait that keeps Deno's event loop free.
 *
 * Waiting: a `nonblocking` FFI `poll()` on [socket, eventfd] waits on a worker thread; the socket is then drained
 * synchronously with `MSG_DONTWAIT` on the main thread, where errno is reliable. `close()` writes the eventfd to
 * end a pending wait. rtnetlink handles a request synchronously inside `sendto()`, so an ACK is usually already
 * queued when the send returns and no wait happens at all.
 *
 * Set `NLDEBUG=1` (or `2` for payload hex) to log every message sent and received to stderr.
 *
 * @module
 */
import {
  check,
  closeQuietly,
  EAGAIN,
  EFD_CLOEXEC,
  EFD_NONBLOCK,
  EINTR,
  ENOBUFS,
  errno,
  getIntOpt,
  lib,
  MSG_DONTWAIT,
  MSG_TRUNC,
  OsError,
  POLLIN,
  setIntOpt,
  SO_RCVBUF,
  SO_RCVBUFFORCE,
  SO_SNDBUF,
  SO_SNDBUFFORCE,
  SOCK_CLOEXEC,
  SOCK_RAW,
  SOL_SOCKET,
  withNetns,
} from "./_ffi.ts";
import {
  decodeDone,
  decodeError,
  type NetlinkMessage,
  NLMSG_ALIGN,
  parseMessages,
  writeHeader,
} from "./codec.ts";
import {
  NETLINK_CAP_ACK,
  NETLINK_EXT_ACK,
  NETLINK_GET_STRICT_CHK,
  NETLINK_ROUTE,
  NLM_F_ACK,
  NLM_F_DUMP,
  NLM_F_DUMP_INTR,
  NLM_F_REQUEST,
  NLMSG_DONE,
  NLMSG_ERROR,
  NLMSG_HDRLEN,
  NLMSG_NOOP,
  NLMSG_OVERRUN,
  SOL_NETLINK,
} from "./consts.ts";
import { NetlinkCodecError, NetlinkError } from "./errors.ts";
import { debugEnabled, debugMessages } from "./_debug.ts";

const AF_NETLINK = 16;

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

/** Options for {@link NetlinkSocket.open}. */
export interface SocketOptions {
  /**
   * Open the socket in this network namespace: a name under /run/netns (as `ip netns add` makes) or a path
   * such as /proc/PID/ns/net. The socket stays bound to it for life. Default: the current namespace.
   */
  readonly netns?: string;
  /** Multicast group bit mask (`RTMGRP_*`) to join, for event monitoring. Default 0. */
  readonly groups?: number;
  /** Receive buffer in bytes (forced past `rmem_max` when privileged). Default 8 MiB. */
  readonly receiveBuffer?: number;
  /** Send buffer in bytes (bounds the size of one batched send). Default 4 MiB. */
  readonly sendBuffer?: number;
  /** `NETLINK_GET_STRICT_CHK`: the kernel validates dump requests strictly. Default true. */
  readonly strict?: boolean;
}

/** Options for {@link NetlinkSocket.batch}. */
export interface BatchOptions {
  /** Most messages per send. Default: as many as the receive buffer holds ACKs for (at most 1024). */
  readonly maxPerSend?: number;
}

/** How long the main thread may work on a reply before it yields to timers and I/O. */
const YIELD_AFTER_MS = 4;
/** Receive buffer per datagram: dumps come in skbs of up to 32 KiB, multicast events are small. */
const RECV_BUF = 256 * 1024;
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
  readonly #fd: number;
  readonly #efd: number;
  /** The port id the kernel assigned (`nl_pid`). */
  readonly pid: number;
  /** The namespace given at open, for messages. */
  readonly netns: string | undefined;
  readonly #rbuf = new Uint8Array(RECV_BUF);
  readonly #rbufLen = BigInt(RECV_BUF);
  readonly #pollfds = new Uint8Array(16);
  readonly #kernelAddr = new Uint8Array(12);
  readonly #maxAcksPerSend: number;
  readonly #maxSendBytes: number;
  #seq: number;
  #closed = false;
  #waiting: Promise<number> | undefined;
  #lock: Promise<void> = Promise.resolve();

  private constructor(
    fd: number,
    efd: number,
    pid: number,
    netns: string | undefined,
    rcv: number,
    snd: number,
  ) {
    this.#fd = fd;
    this.#efd = efd;
    this.pid = pid;
    this.netns = netns;
    // Seeded from the clock like iproute2, so a restarted process does not match stale replies by chance.
    this.#seq = (Math.floor(Date.now() / 1000) & 0x3fffffff) + 1;
    this.#maxAcksPerSend = Math.max(16, Math.min(1024, Math.floor(rcv / ACK_TRUESIZE)));
    this.#maxSendBytes = Math.max(16 * 1024, Math.floor(snd / 2));
    const pv = new DataView(this.#pollfds.buffer);
    pv.setInt32(0, fd, true);
    pv.setInt16(4, POLLIN, true);
    pv.setInt32(8, efd, true);
    pv.setInt16(12, POLLIN, true);
    new DataView(this.#kernelAddr.buffer).setUint16(0, AF_NETLINK, true);
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
    const c = lib();
    const make = () =>
      check("socket(AF_NETLINK)", c.socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE));
    const fd = options.netns === undefined ? make() : withNetns(options.netns, make);
    let efd = -1;
    try {
      efd = check("eventfd", c.eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
      const rcv = setBuffer(fd, SO_RCVBUFFORCE, SO_RCVBUF, options.receiveBuffer ?? 8 << 20);
      const snd = setBuffer(fd, SO_SNDBUFFORCE, SO_SNDBUF, options.sendBuffer ?? 4 << 20);
      setIntOpt(fd, SOL_NETLINK, NETLINK_EXT_ACK, 1);
      setIntOpt(fd, SOL_NETLINK, NETLINK_CAP_ACK, 1);
      if (options.strict ?? true) setIntOpt(fd, SOL_NETLINK, NETLINK_GET_STRICT_CHK, 1);
      const sa = new Uint8Array(12);
      const sv = new DataView(sa.buffer);
      sv.setUint16(0, AF_NETLINK, true);
      sv.setUint32(8, options.groups ?? 0, true);
      check("bind(AF_NETLINK)", c.bind(fd, sa, 12));
      const len = new Uint8Array(4);
      new DataView(len.buffer).setUint32(0, 12, true);
      check("getsockname", c.getsockname(fd, sa, len));
      return new NetlinkSocket(fd, efd, sv.getUint32(4, true), options.netns, rcv, snd);
    } catch (e) {
      closeQuietly(efd);
      closeQuietly(fd);
      throw e;
    }
  }

  /** Whether {@link close} was called. */
  get closed(): boolean {
    return this.#closed;
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
    if (this.#closed) return;
    this.#closed = true;
    const one = new Uint8Array(8);
    one[0] = 1;
    lib().write(this.#efd, one, 8n);
    const release = () => {
      closeQuietly(this.#fd);
      closeQuietly(this.#efd);
    };
    if (this.#waiting) this.#waiting.then(release, release);
    else release();
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
      if (this.#closed) {
        throw new NetlinkError({ errno: 9, op: "use netlink socket", seq: 0, request: "socket closed" });
      }
      return await fn();
    } finally {
      release();
    }
  }

  #send(buf: Uint8Array<ArrayBuffer>, len: number): void {
    if (debugEnabled()) debugMessages(">", buf.subarray(0, len));
    for (;;) {
      const n = Number(lib().sendto(this.#fd, buf, BigInt(len), 0, this.#kernelAddr, 12));
      if (n >= 0) return;
      const e = errno();
      if (e !== EINTR) throw new OsError("sendto(netlink)", e);
    }
  }

  /** One datagram if one is queued (a copy), `null` if none, or throws OsError (ENOBUFS on overrun). */
  #recvNow(): Uint8Array | null {
    for (;;) {
      const n = Number(lib().recv(this.#fd, this.#rbuf, this.#rbufLen, MSG_DONTWAIT | MSG_TRUNC));
      if (n >= 0) {
        if (n > this.#rbuf.length) {
          throw new NetlinkCodecError(
            `Cannot receive netlink datagram: ${n} bytes exceed the ${RECV_BUF}-byte buffer`,
          );
        }
        const d = this.#rbuf.slice(0, n);
        if (debugEnabled()) debugMessages("<", d);
        return d;
      }
      const e = errno();
      if (e === EAGAIN) return null;
      if (e !== EINTR) throw new OsError("recv(netlink)", e);
    }
  }

  /** Waits off the main thread until the socket is readable (or the socket is closed). */
  async #waitReadable(): Promise<void> {
    if (this.#closed) throw new OsError("wait on netlink socket: socket closed", 9);
    const pv = new DataView(this.#pollfds.buffer);
    pv.setInt16(6, 0, true);
    pv.setInt16(14, 0, true);
    this.#waiting = lib().poll(this.#pollfds, 2n, -1);
    try {
      await this.#waiting;
    } finally {
      this.#waiting = undefined;
    }
    if (this.#closed) throw new OsError("wait on netlink socket: socket closed", 9);
  }

  /** Receives datagrams until `handle` says it has seen everything; yields to the event loop on long runs. */
  async #receiveUntil(handle: (m: NetlinkMessage) => boolean, onNoBufs: () => boolean): Promise<void> {
    let lastYield = performance.now();
    for (;;) {
      let d: Uint8Array | null;
      try {
        d = this.#recvNow();
      } catch (e) {
        if (e instanceof OsError && e.errno === ENOBUFS && onNoBufs()) return;
        throw e;
      }
      if (d === null) {
        await this.#waitReadable();
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

  #frame(req: NetlinkRequest, flags: number, seq: number): Uint8Array<ArrayBuffer> {
    const len = NLMSG_HDRLEN + req.payload.length;
    const buf = new Uint8Array(NLMSG_ALIGN(len));
    writeHeader(buf, 0, len, { type: req.type, flags: req.flags | flags, seq, pid: this.pid });
    buf.set(req.payload, NLMSG_HDRLEN);
    return buf;
  }

  #error(
    req: NetlinkRequest,
    seq: number,
    err: number,
    extack: { message?: string; offset?: number },
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
      const buf = this.#frame(req, NLM_F_REQUEST | NLM_F_ACK, seq);
      this.#send(buf, buf.length);
      const out: NetlinkMessage[] = [];
      let failure: NetlinkError | undefined;
      await this.#receiveUntil((m) => {
        if (m.header.seq !== seq) return false;
        if (m.header.type === NLMSG_ERROR) {
          const e = decodeError(m);
          if (e.error !== 0) failure = this.#error(req, seq, e.error, e.extack);
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
        const buf = this.#frame(req, NLM_F_REQUEST | NLM_F_DUMP, seq);
        this.#send(buf, buf.length);
        const out: (T | NetlinkMessage)[] = [];
        let failure: NetlinkError | undefined;
        let interrupted = false;
        await this.#receiveUntil((m) => {
          if (m.header.seq !== seq) return false;
          if (m.header.flags & NLM_F_DUMP_INTR) interrupted = true;
          switch (m.header.type) {
            case NLMSG_DONE: {
              const d = decodeDone(m);
              if (d.error !== 0) failure = this.#error(req, seq, d.error, d.extack);
              return true;
            }
            case NLMSG_ERROR: {
              const e = decodeError(m);
              failure = this.#error(req, seq, e.error === 0 ? -5 : e.error, e.extack);
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
        // Build one send buffer in place.
        let bytes = 0;
        let j = i;
        while (j < reqs.length && j - i < perSend) {
          const size = NLMSG_ALIGN(NLMSG_HDRLEN + reqs[j]!.payload.length);
          if (j > i && bytes + size > this.#maxSendBytes) break;
          bytes += size;
          j++;
        }
        const buf = new Uint8Array(bytes);
        const firstSeq = this.#seq + 1;
        let off = 0;
        for (let k = i; k < j; k++) {
          const r = reqs[k]!;
          const len = NLMSG_HDRLEN + r.payload.length;
          writeHeader(buf, off, len, {
            type: r.type,
            flags: r.flags | NLM_F_REQUEST | NLM_F_ACK,
            seq: this.#nextSeq(),
            pid: this.pid,
          });
          buf.set(r.payload, off + NLMSG_HDRLEN);
          off += NLMSG_ALIGN(len);
        }
        this.#send(buf, bytes);
        const base = i;
        let pending = j - i;
        await this.#receiveUntil((m) => {
          if (m.header.type !== NLMSG_ERROR) return false;
          const idx = base + ((m.header.seq - firstSeq) >>> 0);
          if (idx < base || idx >= j || results[idx] !== undefined) return false;
          const e = decodeError(m);
          results[idx] = e.error === 0
            ? { ok: true }
            : { ok: false, error: this.#error(reqs[idx]!, m.header.seq, e.error, e.extack) };
          return --pending === 0;
        }, () => {
          // Lost ACKs: take what is still queued, then give up on the rest (the kernel is done with the chunk
          // by the time sendto() returns, so nothing more will come).
          for (let d = this.#recvSafe(); d !== null; d = this.#recvSafe()) {
            for (const m of parseMessages(d)) {
              if (m.header.type !== NLMSG_ERROR) continue;
              const idx = base + ((m.header.seq - firstSeq) >>> 0);
              if (idx < base || idx >= j || results[idx] !== undefined) continue;
              const e = decodeError(m);
              results[idx] = e.error === 0
                ? { ok: true }
                : { ok: false, error: this.#error(reqs[idx]!, m.header.seq, e.error, e.extack) };
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

  #recvSafe(): Uint8Array | null {
    try {
      return this.#recvNow();
    } catch (e) {
      if (e instanceof OsError && e.errno === ENOBUFS) return this.#recvSafe();
      throw e;
    }
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
            d = this.#recvNow();
          } catch (e) {
            if (e instanceof OsError && e.errno === ENOBUFS) return "overrun";
            throw e;
          }
          if (d === null) break;
          out.push(...parseMessages(d));
          if (out.length >= 4096) return out;
        }
        if (out.length > 0) return out;
        await this.#waitReadable();
      }
    });
  }
}

function setBuffer(fd: number, force: number, plain: number, size: number): number {
  try {
    setIntOpt(fd, SOL_SOCKET, force, size);
  } catch (e) {
    // Without CAP_NET_ADMIN the FORCE variant is refused; the plain one is capped at rmem_max/wmem_max.
    if (!(e instanceof OsError)) throw e;
    setIntOpt(fd, SOL_SOCKET, plain, size);
  }
  return getIntOpt(fd, SOL_SOCKET, plain);
}
