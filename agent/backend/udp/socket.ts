/**
 * The udp proxy's system interface: a raw IPv4 UDP socket made with FFI, and batched datagram I/O with
 * `recvmmsg`/`sendmmsg` on reused buffers. Every call here is a *synchronous* FFI call (≈0.1 µs of overhead):
 * they are meant for the proxy's dedicated worker thread (`udp/worker.ts`), where blocking in `poll()` is fine.
 *
 * Why not `Deno.listenDatagram`: it costs a promise and a copy per datagram, cannot batch, and its receive and
 * send hop through the runtime's thread pool; measured through the whole proxy that was ≈40k packets/s.
 *
 * The libc symbols (`recvmmsg`, `sendmmsg`, the blocking `pollSync`), errno and the socket constants come from
 * `agent/libc/`, which the netlink library uses too; only the UDP offload options are declared here.
 *
 * @module
 */
import {
  AF_INET,
  check,
  closeQuietly,
  EAGAIN,
  EFD_CLOEXEC,
  EFD_NONBLOCK,
  EINTR,
  EINVAL,
  EIO,
  ENOPROTOOPT,
  EOPNOTSUPP,
  errno,
  lib,
  MSG_DONTWAIT,
  SO_RCVBUF,
  SO_RCVBUFFORCE,
  SO_SNDBUF,
  SO_SNDBUFFORCE,
  SOCK_CLOEXEC,
  SOCK_DGRAM,
  SOL_SOCKET,
  trySetIntOpt,
  withNetns,
} from "../../libc/mod.ts";

/** Size of `struct mmsghdr` on 64-bit Linux (a 56-byte `msghdr` and `msg_len`, padded). */
const MMSGHDR = 64;
const IOVEC = 16;
const SOCKADDR_IN = 16;

/** A `sockaddr_in` for an address (u32, host order) and port. */
export function sockaddrIn(addr: number, port: number): Uint8Array<ArrayBuffer> {
  const sa = new Uint8Array(SOCKADDR_IN);
  const dv = new DataView(sa.buffer);
  dv.setUint16(0, AF_INET, true);
  dv.setUint16(2, port, false);
  dv.setUint32(4, addr >>> 0, false);
  return sa;
}

/** Options of {@linkcode openUdpSocket}. */
export interface UdpSocketOptions {
  /** Local address, u32 in host order (`0x0a050302` = 10.5.3.2); 0 for any. */
  readonly address: number;
  /** Local port; 0 for an ephemeral one. */
  readonly port: number;
  /** Create the socket in this network namespace (name under /run/netns, or a path); default the current one. */
  readonly netns?: string;
  /** Socket buffer sizes in bytes (default 4 MiB each; forced past `rmem_max` when root, else capped). */
  readonly bufferBytes?: number;
}

/**
 * Opens a blocking IPv4 UDP socket bound to `address:port` and returns its descriptor. Receives use
 * `MSG_DONTWAIT`; sends block while the socket's send buffer is full, which is the back-pressure we want.
 *
 * @param options local address and port, namespace, buffer size
 * @returns the file descriptor (close it with {@linkcode closeFd})
 * @throws {OsError} e.g. EADDRINUSE, EADDRNOTAVAIL
 * @example
 * ```ts ignore
 * const fd = openUdpSocket({ address: ipv4ToU32("192.168.60.1"), port: 8285 });
 * ```
 */
export function openUdpSocket(options: UdpSocketOptions): number {
  const c = lib();
  const create = (): number =>
    check("socket(AF_INET, SOCK_DGRAM)", c.socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  const fd = options.netns === undefined ? create() : withNetns(options.netns, create);
  try {
    const bytes = options.bufferBytes ?? 4 << 20;
    for (const [force, plain] of [[SO_RCVBUFFORCE, SO_RCVBUF], [SO_SNDBUFFORCE, SO_SNDBUF]] as const) {
      if (!trySetIntOpt(fd, SOL_SOCKET, force, bytes)) trySetIntOpt(fd, SOL_SOCKET, plain, bytes);
    }
    const sa = sockaddrIn(options.address, options.port);
    check(`bind UDP ${formatAddr(options.address)}:${options.port}`, c.bind(fd, sa, SOCKADDR_IN));
    return fd;
  } catch (e) {
    c.close(fd);
    throw e;
  }
}

/** The local port a socket is bound to. */
export function localPort(fd: number): number {
  const sa = new Uint8Array(SOCKADDR_IN);
  const len = new Uint8Array(4);
  new DataView(len.buffer).setUint32(0, SOCKADDR_IN, true);
  check("getsockname", lib().getsockname(fd, sa, len));
  return new DataView(sa.buffer).getUint16(2, false);
}

/** Closes a descriptor, ignoring errors. */
export function closeFd(fd: number): void {
  closeQuietly(fd);
}

/** A non-blocking eventfd (the proxy's wake-up line). */
export function openEventfd(): number {
  return check("eventfd", lib().eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
}

const ONE = new Uint8Array([1, 0, 0, 0, 0, 0, 0, 0]);

/** Adds 1 to an eventfd's counter (wakes whoever polls it). */
export function signalEventfd(fd: number): void {
  lib().write(fd, ONE, 8n);
}

/** Reads and resets an eventfd's counter; 0 when it was not signalled. */
export function drainEventfd(fd: number, scratch = new Uint8Array(8)): number {
  const n = Number(lib().read(fd, scratch, 8n));
  if (n !== 8) return 0;
  return Number(new DataView(scratch.buffer, scratch.byteOffset, 8).getBigUint64(0, true));
}

function formatAddr(a: number): string {
  return `${a >>> 24}.${(a >>> 16) & 0xff}.${(a >>> 8) & 0xff}.${a & 0xff}`;
}

/**
 * A set of packet slots in one buffer, with the per-slot length and peer address (u32, host order) the proxy
 * fills or reads. The same memory is what the kernel reads from and writes to.
 */
export class PacketBatch {
  /** Number of slots. */
  readonly size: number;
  /** Bytes per slot: the largest packet (64 KiB by default: nothing is ever truncated). */
  readonly slotBytes: number;
  /** One view per slot, `slotBytes` long. */
  readonly slots: Uint8Array<ArrayBuffer>[];
  /** Packet length per slot. */
  readonly lens: Int32Array;
  /** Peer address per slot (destination of a send, source of a receive), u32 host order. */
  readonly addrs: Uint32Array;
  /**
   * Receive only: when the kernel coalesced several datagrams of one sender into the slot (UDP GRO), their
   * size (all but the last are this long); 0 for a single datagram.
   */
  readonly segs: Int32Array;
  /** The backing memory (kept referenced: the kernel is given raw pointers into it). */
  readonly memory: ArrayBuffer;

  constructor(size: number, slotBytes = 65535) {
    this.size = size;
    this.slotBytes = slotBytes;
    this.memory = new ArrayBuffer(size * slotBytes);
    this.slots = Array.from(
      { length: size },
      (_, i) => new Uint8Array(this.memory, i * slotBytes, slotBytes),
    );
    this.lens = new Int32Array(size);
    this.addrs = new Uint32Array(size);
    this.segs = new Int32Array(size);
  }
}

export const SOL_UDP = 17;
/** Send option: cut the payload into datagrams of this size (UDP GSO, Linux ≥ 4.18). */
export const UDP_SEGMENT = 103;
/** Receive option: coalesce a sender's datagrams (UDP GRO, Linux ≥ 5.0); the size comes back in a cmsg. */
export const UDP_GRO = 104;
/** Most datagrams per GSO send (the kernel's UDP_MAX_SEGMENTS is 64 on older kernels). */
const GSO_MAX_SEGMENTS = 64;
/** Most payload bytes per GSO send: one IPv4 packet's worth (64 KiB − outer IP and UDP headers). */
const GSO_MAX_BYTES = 65535 - 20 - 8;
/** `CMSG_SPACE(sizeof(int))` on 64-bit Linux: a 16-byte `cmsghdr` and the value, padded to 8. */
const CMSG_SPACE = 24;

const TWO32 = 2 ** 32;

function setPtr(dv: DataView, off: number, p: number): void {
  dv.setUint32(off, p >>> 0, true);
  dv.setUint32(off + 4, Math.floor(p / TWO32), true);
}

/** Options of {@linkcode MmsgIo}. */
export interface MmsgIoOptions {
  /**
   * Send runs of equal-sized datagrams to one peer as one UDP GSO send, and receive with UDP GRO. Off when the
   * kernel refuses the option; on failure of a GSO send its datagrams are resent one by one and GSO is turned
   * off if the device cannot do it. Default true.
   */
  readonly offload?: boolean;
}

/**
 * `recvmmsg`/`sendmmsg` over a {@linkcode PacketBatch}: one `mmsghdr`, `iovec`, `sockaddr_in` and control block
 * per slot, allocated once with pointers into the batch's memory; each call only patches lengths, addresses and
 * (for offloads) which iovecs a header covers.
 */
export class MmsgIo {
  readonly #fd: number;
  readonly #port: number;
  readonly #batch: PacketBatch;
  readonly #hdrs: Uint8Array<ArrayBuffer>;
  readonly #hv: DataView;
  readonly #iovs: Uint8Array<ArrayBuffer>;
  readonly #iv: DataView;
  readonly #names: Uint8Array<ArrayBuffer>;
  readonly #nv: DataView;
  readonly #cmsgs: Uint8Array<ArrayBuffer>;
  readonly #cv: DataView;
  readonly #iovsAt: number;
  readonly #namesAt: number;
  readonly #cmsgsAt: number;
  readonly #c = lib();
  /** Send headers → first slot they cover (one more entry than headers). */
  readonly #first: Int32Array;
  #gsoSend: boolean;
  #groRecv: boolean;

  /**
   * @param fd the UDP socket
   * @param batch the slots
   * @param port the port datagrams are sent to
   * @param options offloads
   */
  constructor(fd: number, batch: PacketBatch, port: number, options: MmsgIoOptions = {}) {
    this.#fd = fd;
    this.#port = port;
    this.#batch = batch;
    const n = batch.size;
    this.#first = new Int32Array(n + 1);
    // Fresh ArrayBuffers of more than 64 bytes: their backing stores live outside the V8 heap and never move.
    const block = (bytes: number) => new Uint8Array(new ArrayBuffer(Math.max(n * bytes, 128)));
    this.#hdrs = block(MMSGHDR);
    this.#iovs = block(IOVEC);
    this.#names = block(SOCKADDR_IN);
    this.#cmsgs = block(CMSG_SPACE);
    this.#hv = new DataView(this.#hdrs.buffer);
    this.#iv = new DataView(this.#iovs.buffer);
    this.#nv = new DataView(this.#names.buffer);
    this.#cv = new DataView(this.#cmsgs.buffer);
    const addr = (b: Uint8Array) => Number(Deno.UnsafePointer.value(Deno.UnsafePointer.of(b)));
    this.#namesAt = addr(this.#names);
    this.#iovsAt = addr(this.#iovs);
    this.#cmsgsAt = addr(this.#cmsgs);
    for (let i = 0; i < n; i++) {
      const h = i * MMSGHDR;
      setPtr(this.#hv, h, this.#namesAt + i * SOCKADDR_IN); // msg_name
      this.#hv.setUint32(h + 8, SOCKADDR_IN, true); // msg_namelen
      setPtr(this.#hv, h + 16, this.#iovsAt + i * IOVEC); // msg_iov
      this.#hv.setUint32(h + 24, 1, true); // msg_iovlen
      setPtr(this.#iv, i * IOVEC, addr(batch.slots[i]!));
      this.#iv.setUint32(i * IOVEC + 8, batch.slotBytes, true);
      this.#nv.setUint16(i * SOCKADDR_IN, AF_INET, true);
      this.#nv.setUint16(i * SOCKADDR_IN + 2, port, false);
      // A UDP_SEGMENT cmsg template: cmsg_len = CMSG_LEN(2) = 18, SOL_UDP, UDP_SEGMENT, then the u16 size.
      this.#cv.setUint32(i * CMSG_SPACE, 18, true);
      this.#cv.setUint32(i * CMSG_SPACE + 8, SOL_UDP, true);
      this.#cv.setUint32(i * CMSG_SPACE + 12, UDP_SEGMENT, true);
    }
    const offload = options.offload ?? true;
    this.#gsoSend = offload;
    this.#groRecv = offload && trySetIntOpt(fd, SOL_UDP, UDP_GRO, 1);
  }

  /** Whether sends use UDP GSO (turned off for good after a device refused it). */
  get gso(): boolean {
    return this.#gsoSend;
  }

  /** Whether receives ask for UDP GRO. */
  get gro(): boolean {
    return this.#groRecv;
  }

  /** The port datagrams are sent to. */
  get port(): number {
    return this.#port;
  }

  /**
   * Receives up to `max` queued datagrams without waiting: slot i gets the payload, `lens[i]` its length,
   * `addrs[i]` the sender's address and `segs[i]` the coalesced datagram size (0: one datagram).
   *
   * @returns how many slots were filled (0 when nothing is queued), or `-errno` on another error
   */
  recv(max: number): number {
    const b = this.#batch;
    const hv = this.#hv;
    const n = Math.min(max, b.size);
    const gro = this.#groRecv;
    for (let i = 0; i < n; i++) {
      const h = i * MMSGHDR;
      hv.setUint32(h + 8, SOCKADDR_IN, true);
      if (gro) {
        setPtr(hv, h + 32, this.#cmsgsAt + i * CMSG_SPACE);
        hv.setUint32(h + 40, CMSG_SPACE, true);
      }
    }
    const got = this.#c.recvmmsg(this.#fd, this.#hdrs, n, MSG_DONTWAIT, null);
    if (got < 0) {
      const e = errno();
      return e === EAGAIN || e === EINTR ? 0 : -e;
    }
    const cv = this.#cv;
    for (let i = 0; i < got; i++) {
      const h = i * MMSGHDR;
      b.lens[i] = hv.getUint32(h + 56, true);
      b.addrs[i] = this.#nv.getUint32(i * SOCKADDR_IN + 4, false);
      let seg = 0;
      // The kernel shortens msg_controllen to what it wrote: a UDP_GRO cmsg carries the datagram size.
      if (gro && hv.getUint32(h + 40, true) >= 20) {
        const c = i * CMSG_SPACE;
        if (cv.getInt32(c + 8, true) === SOL_UDP && cv.getInt32(c + 12, true) === UDP_GRO) {
          seg = cv.getInt32(c + 16, true);
        }
      }
      b.segs[i] = seg > 0 && seg < b.lens[i]! ? seg : 0;
    }
    return got;
  }

  /**
   * Sends slots `0..n-1` (`lens[i]` bytes each to `addrs[i]`:port) in as few system calls as possible: one
   * `sendmmsg`, where each header carries either one datagram or, with GSO, a run of equal-sized datagrams to
   * the same peer (the last may be shorter), which the kernel cuts apart. A datagram the kernel refuses is
   * skipped and reported to `onError` with its errno.
   *
   * @returns how many datagrams were sent
   */
  send(n: number, onError: (slot: number, errno: number) => void): number {
    const b = this.#batch;
    const iv = this.#iv;
    for (let i = 0; i < n; i++) iv.setUint32(i * IOVEC + 8, b.lens[i]!, true);
    return this.#send(0, n, this.#gsoSend, onError);
  }

  #send(from: number, to: number, gso: boolean, onError: (slot: number, errno: number) => void): number {
    const b = this.#batch;
    const hv = this.#hv;
    const lens = b.lens;
    const addrs = b.addrs;
    // Build the headers: header h covers slots first[h] .. first[h + 1] - 1.
    const first = this.#first;
    let h = 0;
    for (let i = from; i < to;) {
      const addr = addrs[i]!;
      const len = lens[i]!;
      let j = i + 1;
      if (gso) {
        const max = Math.min(GSO_MAX_SEGMENTS, Math.floor(GSO_MAX_BYTES / len));
        while (j < to && j - i < max && addrs[j] === addr && lens[j] === len) j++;
        if (j < to && j - i < max && addrs[j] === addr && lens[j]! < len) j++;
      }
      const off = h * MMSGHDR;
      this.#nv.setUint32(h * SOCKADDR_IN + 4, addr, false);
      setPtr(hv, off + 16, this.#iovsAt + i * IOVEC);
      hv.setUint32(off + 24, j - i, true);
      if (j - i > 1) {
        this.#cv.setUint16(h * CMSG_SPACE + 16, len, true);
        setPtr(hv, off + 32, this.#cmsgsAt + h * CMSG_SPACE);
        hv.setUint32(off + 40, CMSG_SPACE, true);
      } else {
        setPtr(hv, off + 32, 0);
        hv.setUint32(off + 40, 0, true);
      }
      first[h++] = i;
      i = j;
    }
    first[h] = to;
    let sent = 0;
    let at = 0;
    while (at < h) {
      const r = this.#c.sendmmsg(this.#fd, this.#hdrs.subarray(at * MMSGHDR), h - at, 0);
      if (r > 0) {
        sent += first[at + r]! - first[at]!;
        at += r;
        continue;
      }
      const e = errno();
      if (e === EINTR) continue;
      const a = first[at]!;
      const z = first[at + 1]!;
      if (z - a > 1) {
        // A GSO send the kernel or the device refused: the datagrams one by one, and no GSO from now on
        // when offloading itself is the problem.
        if (e === EIO || e === EINVAL || e === ENOPROTOOPT || e === EOPNOTSUPP) this.#gsoSend = false;
        sent += this.#send(a, z, false, onError);
        // That call rewrote the headers from 0: build the rest again.
        if (z < to) sent += this.#send(z, to, this.#gsoSend, onError);
        return sent;
      }
      onError(a, e);
      at++;
    }
    return sent;
  }
}
