/**
 * The udp backend's userspace forwarder: packets the kernel routes into the TUN go to the peer owning their
 * destination as UDP datagrams, and datagrams from peers go back into the TUN.
 *
 * Wire format, upstream's: the UDP payload is the bare inner IPv4 packet, no header of our own, so our nodes and
 * upstream flanneld udp nodes interoperate.
 *
 * Differences from upstream's C proxy, on purpose:
 * - only datagrams whose source address is a current peer's PublicIP are accepted (upstream writes whatever
 *   arrives on the port into the TUN: anyone who can reach the port can inject packets into the pod network);
 * - the inner TTL is decremented once, when the packet enters the tunnel, so the tunnel counts as one hop
 *   (upstream decrements on both ends; each node's kernel decrements as well when it forwards);
 * - packets are never truncated: the TUN read buffer is 64 KiB (upstream's is one MTU, cutting oversized
 *   packets silently);
 * - IPv6 packets that the kernel hands to the TUN are dropped and counted, not parsed as IPv4.
 *
 * Performance: the TUN is read in batches (one off-thread `poll()`, then up to {@linkcode BATCH} synchronous
 * reads) and each batch's sends are issued together; received datagrams land in one reused buffer and are
 * written to the TUN synchronously, so nothing is copied after the kernel hands it over. Neither loop blocks the
 * event loop.
 *
 * @module
 */
import type { Logger } from "../../cli/log.ts";
import { decrementTtl, icmpNetUnreachable, ipv4Dst, isIpv4 } from "./udp_packet.ts";
import { type UdpPeerRoute, UdpRouteTable } from "./udp_routes.ts";

/** Most packets taken from the TUN per wake-up. */
export const BATCH = 256;

/** What the proxy needs of a TUN device (`agent/netlink` `Tun` fits). */
export interface TunDevice {
  readBatch(max: number): Promise<Uint8Array[]>;
  write(packet: Uint8Array<ArrayBuffer>): boolean;
}

/** Counters, cumulative. */
export interface UdpProxyStats {
  /** TUN → peers. */
  sent: number;
  /** Peers → TUN. */
  received: number;
  /** No route: ICMP net unreachable written back. */
  unreachable: number;
  /** Dropped: no route and no ICMP allowed, TTL expired, not IPv4. */
  dropped: number;
  /** Datagrams from an address that is not a peer's PublicIP. */
  rejected: number;
  /** Datagrams that were not IPv4 packets. */
  malformed: number;
  /** Send failures (no route to the peer, EMSGSIZE, …) and TUN queue overflows. */
  errors: number;
}

/** Options of {@linkcode UdpProxy}. */
export interface UdpProxyOptions {
  readonly tun: TunDevice;
  /** A UDP socket bound to `<interface address>:<port>` (`Deno.listenDatagram`, `--unstable-net`). */
  readonly conn: Deno.DatagramConn;
  /** The port datagrams are sent to (our own: the peer's is not in its lease, as upstream). */
  readonly port: number;
  /** The TUN's address as u32: the source of ICMP errors. */
  readonly tunAddr: number;
  readonly logger?: Logger;
}

/** The forwarder. Create it, give it routes with {@linkcode setRoutes}, {@linkcode start} it, {@linkcode close} it. */
export class UdpProxy {
  readonly stats: UdpProxyStats = {
    sent: 0,
    received: 0,
    unreachable: 0,
    dropped: 0,
    rejected: 0,
    malformed: 0,
    errors: 0,
  };
  readonly #o: UdpProxyOptions;
  #table = new UdpRouteTable([]);
  #closed = false;
  #running: Promise<void> | undefined;

  /** @param options TUN, socket, port, TUN address */
  constructor(options: UdpProxyOptions) {
    this.#o = options;
  }

  /** The routes in use. */
  get routes(): readonly UdpPeerRoute[] {
    return this.#table.routes;
  }

  /** Replaces the routing table (takes effect for the next packet) and with it the set of accepted peers. */
  setRoutes(routes: readonly UdpPeerRoute[]): void {
    this.#table = new UdpRouteTable(routes);
  }

  /**
   * Starts both directions. The promise settles when {@linkcode close} has been called and both loops ended;
   * it rejects only on an unexpected error of the TUN or the socket.
   */
  start(): Promise<void> {
    this.#running ??= Promise.all([this.#tunToUdp(), this.#udpToTun()]).then(() => {});
    return this.#running;
  }

  /** Stops forwarding. Closing the TUN and the socket is the owner's business (it ends the loops). */
  close(): void {
    this.#closed = true;
  }

  async #tunToUdp(): Promise<void> {
    const { tun, conn, port, tunAddr } = this.#o;
    const s = this.stats;
    while (!this.#closed) {
      const packets = await tun.readBatch(BATCH);
      if (packets.length === 0) break; // the TUN was closed
      const sends: Promise<unknown>[] = [];
      for (const p of packets) {
        if (!isIpv4(p)) {
          s.dropped++;
          continue;
        }
        const route = this.#table.lookup(ipv4Dst(p));
        if (!route) {
          const icmp = icmpNetUnreachable(p, tunAddr);
          if (icmp && tun.write(icmp)) s.unreachable++;
          else s.dropped++;
          continue;
        }
        if (!decrementTtl(p)) {
          s.dropped++;
          continue;
        }
        sends.push(
          conn.send(p, { transport: "udp", hostname: route.publicIp, port }).then(
            () => s.sent++,
            (e) => this.#sendError(e, route),
          ),
        );
      }
      if (sends.length > 0) await Promise.all(sends);
    }
  }

  #sendError(e: unknown, route: UdpPeerRoute): void {
    this.stats.errors++;
    if (this.stats.errors % 1000 === 1) {
      this.#o.logger?.warn("Failed to send to a peer", {
        peer: route.publicIp,
        error: e,
        errors: this.stats.errors,
      });
    }
  }

  async #udpToTun(): Promise<void> {
    const { tun, conn } = this.#o;
    const s = this.stats;
    const buf = new Uint8Array(65536);
    while (!this.#closed) {
      let data: Uint8Array;
      let addr: Deno.Addr;
      try {
        [data, addr] = await conn.receive(buf);
      } catch (e) {
        if (this.#closed || e instanceof Deno.errors.BadResource || e instanceof Deno.errors.Interrupted) {
          break;
        }
        // ICMP errors for earlier sends surface here (ECONNREFUSED from a peer without a listener): keep going.
        s.errors++;
        continue;
      }
      const from = (addr as Deno.NetAddr).hostname;
      if (!this.#table.isPeer(from)) {
        s.rejected++;
        continue;
      }
      if (!isIpv4(data)) {
        s.malformed++;
        continue;
      }
      if (tun.write(data as Uint8Array<ArrayBuffer>)) s.received++;
      else s.errors++;
    }
  }
}
