/**
 * TUN devices for the udp backend: `/dev/net/tun` + `TUNSETIFF` (`IFF_TUN | IFF_NO_PI`: raw IP packets, no
 * packet-information header), non-persistent, so the device disappears with the last descriptor.
 *
 * The device is created in the network namespace of the thread calling `TUNSETIFF`; with `netns` the open and
 * the ioctl run with the main thread switched into it (see `withNetns` in `agent/libc/netns.ts`).
 *
 * I/O is for a userspace encapsulation loop: the descriptor is non-blocking; {@link Tun.readBatch} waits with a
 * `nonblocking` FFI `poll()` off the main thread, then drains up to `max` packets synchronously (one FFI call
 * per packet at ≈0.1 µs instead of a thread-pool hop per packet).
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
  errno,
  lib,
  O_CLOEXEC,
  O_NONBLOCK,
  O_RDWR,
  openRaw,
  OsError,
  POLLIN,
  withNetns,
} from "../libc/mod.ts";
import { IFF_NO_PI, IFF_TUN, IFNAMSIZ, TUNSETIFF } from "./consts.ts";

/** Options for {@link Tun.open}. */
export interface TunOptions {
  /** Device name, or a pattern with `%d` for the kernel to number ("flannel%d" → "flannel0"). Default "flannel%d". */
  readonly name?: string;
  /** Create it in this network namespace (name under /run/netns, or a path). Default: the current one. */
  readonly netns?: string;
  /** Largest packet to read. Default 65535. */
  readonly bufferSize?: number;
}

/**
 * An open TUN device.
 *
 * @example Echo loop skeleton
 * ```ts ignore
 * using tun = Tun.open({ name: "flannel%d", netns: "lab1" });
 * console.log(tun.name); // "flannel0"
 * for (;;) {
 *   const packets = await tun.readBatch(256);
 *   for (const p of packets) udp.send(p, peerFor(p));
 * }
 * ```
 */
export class Tun implements Disposable {
  /** The raw file descriptor. */
  readonly fd: number;
  /** The device name the kernel chose. */
  readonly name: string;
  readonly #efd: number;
  readonly #buf: Uint8Array<ArrayBuffer>;
  readonly #pollfds = new Uint8Array(16);
  #closed = false;
  #waiting: Promise<number> | undefined;

  private constructor(fd: number, efd: number, name: string, bufferSize: number) {
    this.fd = fd;
    this.#efd = efd;
    this.name = name;
    this.#buf = new Uint8Array(bufferSize);
    const pv = new DataView(this.#pollfds.buffer);
    pv.setInt32(0, fd, true);
    pv.setInt16(4, POLLIN, true);
    pv.setInt32(8, efd, true);
    pv.setInt16(12, POLLIN, true);
  }

  /**
   * Creates (or attaches to) a TUN device.
   *
   * @param options name pattern and namespace
   * @returns the open device
   * @throws {OsError} e.g. EBUSY when the name belongs to a device of another type
   * @example
   * ```ts ignore
   * using tun = Tun.open({ name: "flannel%d" });
   * ```
   */
  static open(options: TunOptions = {}): Tun {
    const name = options.name ?? "flannel%d";
    const nameBytes = new TextEncoder().encode(name);
    if (nameBytes.length >= IFNAMSIZ) {
      throw new RangeError(`Invalid TUN name "${name}": longer than 15 bytes`);
    }
    const create = (): [number, string] => {
      const fd = openRaw("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
      try {
        const ifr = new Uint8Array(40);
        ifr.set(nameBytes);
        new DataView(ifr.buffer).setUint16(IFNAMSIZ, IFF_TUN | IFF_NO_PI, true);
        check("ioctl(TUNSETIFF)", lib().ioctl(fd, BigInt(TUNSETIFF), ifr));
        const end = ifr.indexOf(0);
        return [fd, new TextDecoder().decode(ifr.subarray(0, end < 0 || end > IFNAMSIZ ? IFNAMSIZ : end))];
      } catch (e) {
        closeQuietly(fd);
        throw e;
      }
    };
    const [fd, actual] = options.netns === undefined ? create() : withNetns(options.netns, create);
    let efd = -1;
    try {
      efd = check("eventfd", lib().eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    } catch (e) {
      closeQuietly(fd);
      throw e;
    }
    return new Tun(fd, efd, actual, options.bufferSize ?? 65535);
  }

  /**
   * One packet if one is queued, else `null` (never waits).
   *
   * @example
   * ```ts ignore
   * const p = tun.tryRead();
   * ```
   */
  tryRead(): Uint8Array | null {
    for (;;) {
      const n = Number(lib().read(this.fd, this.#buf, BigInt(this.#buf.length)));
      if (n >= 0) return this.#buf.slice(0, n);
      const e = errno();
      if (e === EAGAIN) return null;
      if (e !== EINTR) throw new OsError(`read ${this.name}`, e);
    }
  }

  /**
   * Waits (off the main thread) until packets are queued, then returns up to `max` of them. Returns an empty
   * array once the device is closed.
   *
   * @param max most packets to return
   * @example
   * ```ts ignore
   * const packets = await tun.readBatch(256);
   * ```
   */
  async readBatch(max = 256): Promise<Uint8Array[]> {
    for (;;) {
      if (this.#closed) return [];
      const out: Uint8Array[] = [];
      while (out.length < max) {
        const p = this.tryRead();
        if (p === null) break;
        out.push(p);
      }
      if (out.length > 0) return out;
      const pv = new DataView(this.#pollfds.buffer);
      pv.setInt16(6, 0, true);
      pv.setInt16(14, 0, true);
      this.#waiting = lib().poll(this.#pollfds, 2n, -1);
      try {
        await this.#waiting;
      } finally {
        this.#waiting = undefined;
      }
    }
  }

  /**
   * Writes one packet (an IP packet, no header). Returns false when the device queue is full (EAGAIN).
   *
   * @example
   * ```ts ignore
   * tun.write(packet);
   * ```
   */
  write(packet: Uint8Array<ArrayBuffer>): boolean {
    for (;;) {
      const n = Number(lib().write(this.fd, packet, BigInt(packet.length)));
      if (n >= 0) return true;
      const e = errno();
      if (e === EAGAIN) return false;
      if (e !== EINTR) throw new OsError(`write ${this.name}`, e);
    }
  }

  /**
   * Writes packets until one would block; returns how many were written.
   *
   * @example
   * ```ts ignore
   * const n = tun.writeBatch(packets);
   * ```
   */
  writeBatch(packets: readonly Uint8Array<ArrayBuffer>[]): number {
    let n = 0;
    for (const p of packets) {
      if (!this.write(p)) break;
      n++;
    }
    return n;
  }

  /** Closes the device (it disappears: it is not persistent). A pending `readBatch` returns `[]`. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const one = new Uint8Array(8);
    one[0] = 1;
    lib().write(this.#efd, one, 8n);
    const release = () => {
      closeQuietly(this.fd);
      closeQuietly(this.#efd);
    };
    if (this.#waiting) this.#waiting.then(release, release);
    else release();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
