/**
 * The system-call half of the netlink socket: opening a `NETLINK_ROUTE` socket (optionally inside another
 * namespace) with its options, and the non-blocking send, receive and wait that `socket.ts` builds requests,
 * dumps and batches on. Every call is FFI to libc.
 *
 * Waiting: a `nonblocking` FFI `poll()` on [socket, eventfd] waits on a worker thread; the socket is then drained
 * synchronously with `MSG_DONTWAIT` on the main thread, where errno is reliable. `close()` writes the eventfd to
 * end a pending wait.
 *
 * @module
 */
import {
  AF_NETLINK,
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
} from "../libc/mod.ts";
import {
  NETLINK_CAP_ACK,
  NETLINK_EXT_ACK,
  NETLINK_GET_STRICT_CHK,
  NETLINK_ROUTE,
  SOL_NETLINK,
} from "./consts.ts";
import { NetlinkCodecError } from "./errors.ts";
import { debugEnabled, debugMessages } from "./_debug.ts";

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

/** Receive buffer per datagram: dumps come in skbs of up to 32 KiB, multicast events are small. */
const RECV_BUF = 256 * 1024;

/** A bound `NETLINK_ROUTE` socket and its wake-up eventfd, as raw descriptors. */
export class SocketIo {
  readonly #fd: number;
  readonly #efd: number;
  /** The port id the kernel assigned (`nl_pid`). */
  readonly pid: number;
  /** The receive buffer the kernel granted, in bytes (`SO_RCVBUF` as read back). */
  readonly receiveBufferBytes: number;
  /** The send buffer the kernel granted, in bytes. */
  readonly sendBufferBytes: number;
  readonly #rbuf = new Uint8Array(RECV_BUF);
  readonly #rbufLen = BigInt(RECV_BUF);
  readonly #pollfds = new Uint8Array(16);
  readonly #kernelAddr = new Uint8Array(12);
  #closed = false;
  #waiting: Promise<number> | undefined;

  private constructor(fd: number, efd: number, pid: number, rcv: number, snd: number) {
    this.#fd = fd;
    this.#efd = efd;
    this.pid = pid;
    this.receiveBufferBytes = rcv;
    this.sendBufferBytes = snd;
    const pv = new DataView(this.#pollfds.buffer);
    pv.setInt32(0, fd, true);
    pv.setInt16(4, POLLIN, true);
    pv.setInt32(8, efd, true);
    pv.setInt16(12, POLLIN, true);
    new DataView(this.#kernelAddr.buffer).setUint16(0, AF_NETLINK, true);
  }

  /**
   * Opens the socket with extended ACKs, capped ACKs and (by default) strict checking on, big buffers, bound to
   * the multicast groups asked for.
   *
   * @param options namespace, multicast groups, buffers, strictness
   * @returns the open socket
   * @throws {OsError} when a system call fails (e.g. the namespace does not exist)
   */
  static open(options: SocketOptions): SocketIo {
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
      return new SocketIo(fd, efd, sv.getUint32(4, true), rcv, snd);
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

  /** Sends the first `len` bytes of `buf` to the kernel in one datagram (retried on EINTR). */
  send(buf: Uint8Array<ArrayBuffer>, len: number): void {
    if (debugEnabled()) debugMessages(">", buf.subarray(0, len));
    for (;;) {
      const n = Number(lib().sendto(this.#fd, buf, BigInt(len), 0, this.#kernelAddr, 12));
      if (n >= 0) return;
      const e = errno();
      if (e !== EINTR) throw new OsError("sendto(netlink)", e);
    }
  }

  /** One datagram if one is queued (a copy), `null` if none, or throws OsError (ENOBUFS on overrun). */
  recvNow(): Uint8Array | null {
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

  /** Like {@link recvNow}, but an overrun (ENOBUFS) is skipped: for draining what is still queued after one. */
  recvSafe(): Uint8Array | null {
    try {
      return this.recvNow();
    } catch (e) {
      if (e instanceof OsError && e.errno === ENOBUFS) return this.recvSafe();
      throw e;
    }
  }

  /** Waits off the main thread until the socket is readable (or the socket is closed). */
  async waitReadable(): Promise<void> {
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
