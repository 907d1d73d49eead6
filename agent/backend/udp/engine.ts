/**
 * The udp proxy's forwarding step, independent of how packets are read and written (the worker plugs in the
 * FFI calls of `udp/socket.ts`, the unit tests plug in fakes).
 *
 * One {@linkcode UdpEngine.pump} moves what is queued, in batches, with no allocation on the fast path:
 * - TUN → peers: up to `tx.size` packets are read into the send batch's slots, checked and routed in place
 *   (TTL − 1 with an incremental checksum update), then sent with one `sendmmsg`;
 * - peers → TUN: one `recvmmsg` takes up to `rx.size` datagrams; each one from a peer that is an IPv4 packet is
 *   written to the TUN straight from its slot.
 *
 * Policy (see `udp/proxy.ts` for how it differs from upstream): unknown destination → ICMP net unreachable back
 * into the TUN (never about ICMP or a non-first fragment), TTL decremented once on the way in, datagrams only from
 * peers' PublicIPs, IPv6 dropped and counted, nothing truncated (slots are 64 KiB).
 *
 * @module
 */
import { decrementTtl, icmpNetUnreachable, ipv4Dst, isIpv4Len } from "./packet.ts";
import { type UdpPeerRoute, UdpRouteTable } from "./routes.ts";
import type { PacketBatch } from "./socket.ts";

/** Index of each counter in the shared statistics array. */
export const STAT = {
  sent: 0,
  received: 1,
  unreachable: 2,
  dropped: 3,
  rejected: 4,
  malformed: 5,
  errors: 6,
} as const;

/** Number of counters. */
export const STAT_COUNT = 7;

/** The system calls the engine needs. */
export interface DatapathIo {
  /** Reads one packet from the TUN into `into`; its length, or -1 when none is queued. */
  tunRead(into: Uint8Array<ArrayBuffer>): number;
  /** Writes the first `len` bytes of `buf` into the TUN as one packet; false when the kernel dropped it. */
  tunWrite(buf: Uint8Array<ArrayBuffer>, len: number): boolean;
  /**
   * Receives up to `max` datagrams into the receive batch (`segs[i]` > 0: slot i holds several datagrams of that
   * size from one sender, coalesced); how many slots were filled, or `-errno`.
   */
  recv(max: number): number;
  /** Sends slots `0..n-1` of the send batch; reports each refused one; returns how many went out. */
  send(n: number, onError: (slot: number, errno: number) => void): number;
}

/** What the engine reports besides counters (sampled: the first error of every thousand). */
export type EngineLog = (message: string, fields: Record<string, unknown>) => void;

/** The forwarding step. */
export class UdpEngine {
  readonly #io: DatapathIo;
  readonly #tx: PacketBatch;
  readonly #rx: PacketBatch;
  readonly #tunAddr: number;
  readonly #stats: Float64Array;
  readonly #log: EngineLog | undefined;
  #table = new UdpRouteTable([]);
  readonly #onSendError = (slot: number, errno: number) =>
    this.#error("Failed to send to a peer", slot, errno);

  /**
   * @param options the I/O, the batches it works on, the TUN address (u32: source of ICMP errors), the
   *   counters (indexed by {@linkcode STAT}, possibly shared memory), a log hook
   */
  constructor(options: {
    readonly io: DatapathIo;
    readonly tx: PacketBatch;
    readonly rx: PacketBatch;
    readonly tunAddr: number;
    readonly stats: Float64Array;
    readonly log?: EngineLog;
  }) {
    this.#io = options.io;
    this.#tx = options.tx;
    this.#rx = options.rx;
    this.#tunAddr = options.tunAddr;
    this.#stats = options.stats;
    this.#log = options.log;
  }

  /** Replaces the peer table (next packet on). */
  setRoutes(routes: readonly UdpPeerRoute[]): void {
    this.#table = new UdpRouteTable(routes);
  }

  #error(message: string, slot: number, errno: number): void {
    const s = this.#stats;
    s[STAT.errors]!++;
    if (s[STAT.errors]! % 1000 === 1) {
      const a = this.#tx.addrs[slot]!;
      this.#log?.(message, {
        peer: `${a >>> 24}.${(a >>> 16) & 0xff}.${(a >>> 8) & 0xff}.${a & 0xff}`,
        errno,
        errors: s[STAT.errors],
      });
    }
  }

  /**
   * Moves one batch in each direction.
   *
   * @returns how many packets and datagrams were taken in (0: both queues were empty)
   */
  pump(): number {
    return this.tunToPeers() + this.peersToTun();
  }

  /** TUN → peers, one batch. @returns packets read from the TUN */
  tunToPeers(): number {
    const io = this.#io;
    const tx = this.#tx;
    const s = this.#stats;
    const table = this.#table;
    let n = 0;
    let reads = 0;
    while (reads < tx.size) {
      const slot = tx.slots[n]!;
      const len = io.tunRead(slot);
      if (len < 0) break;
      reads++;
      if (!isIpv4Len(slot, len)) {
        s[STAT.dropped]!++;
        continue;
      }
      const addr = table.lookupAddr(ipv4Dst(slot));
      if (addr < 0) {
        const icmp = icmpNetUnreachable(slot.subarray(0, len), this.#tunAddr);
        if (icmp && io.tunWrite(icmp, icmp.length)) s[STAT.unreachable]!++;
        else s[STAT.dropped]!++;
        continue;
      }
      if (!decrementTtl(slot)) {
        s[STAT.dropped]!++;
        continue;
      }
      tx.lens[n] = len;
      tx.addrs[n] = addr;
      n++;
    }
    if (n > 0) s[STAT.sent]! += io.send(n, this.#onSendError);
    return reads;
  }

  #deliver(packet: Uint8Array<ArrayBuffer>, len: number): void {
    const s = this.#stats;
    if (!isIpv4Len(packet, len)) s[STAT.malformed]!++;
    else if (this.#io.tunWrite(packet, len)) s[STAT.received]!++;
    else s[STAT.errors]!++;
  }

  /** Peers → TUN, one batch. @returns datagrams received (an error counts as one) */
  peersToTun(): number {
    const io = this.#io;
    const rx = this.#rx;
    const s = this.#stats;
    const table = this.#table;
    const k = io.recv(rx.size);
    if (k < 0) {
      // A pending socket error (e.g. ICMP about an earlier send) is consumed by the call that returns it.
      s[STAT.errors]!++;
      return 1;
    }
    for (let i = 0; i < k; i++) {
      if (!table.isPeerAddr(rx.addrs[i]!)) {
        s[STAT.rejected]!++;
        continue;
      }
      const slot = rx.slots[i]!;
      const len = rx.lens[i]!;
      const seg = rx.segs[i]!;
      if (seg === 0) {
        this.#deliver(slot, len);
        continue;
      }
      // Several datagrams of one peer, coalesced by the kernel (UDP GRO): each is one packet.
      for (let off = 0; off < len; off += seg) this.#deliver(slot.subarray(off), Math.min(seg, len - off));
    }
    return k;
  }
}
