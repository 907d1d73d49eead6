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
 * - packets are never truncated: every buffer slot is 64 KiB (upstream's buffer is one MTU, cutting oversized
 *   packets silently);
 * - IPv6 packets that the kernel hands to the TUN are dropped and counted, not parsed as IPv4.
 *
 * Performance design (measured in bench/results/udp.md): the data path runs on a dedicated Worker thread
 * (`udp/worker.ts`) that does what upstream's C loop does — a *blocking* `poll()` on the TUN, the socket and a
 * control eventfd, then draining both directions with synchronous FFI calls until they are empty — and batches
 * what C does one call at a time: `recvmmsg`/`sendmmsg` of up to {@linkcode BATCH} datagrams, over reused
 * buffers, TTL patched in place. Earlier designs on the main thread paid a thread-pool hop per wake-up (≈29 µs)
 * and a promise per datagram (`Deno.listenDatagram`): 0.49 Gbit/s and ≈880 µs RTT.
 *
 * The main thread only sends route updates (a message plus an eventfd signal) and reads the counters, which
 * live in shared memory.
 *
 * @module
 */
import type { Logger } from "../../../cli/log.ts";
import type { UdpPeerRoute } from "./routes.ts";
import { STAT, STAT_COUNT } from "./engine.ts";
import { closeFd, openEventfd, signalEventfd } from "./socket.ts";
import { CONTROL, type WorkerCommand, type WorkerEvent, type WorkerInit } from "./worker_protocol.ts";

/** Most datagrams moved per system call and direction. */
export const BATCH = 64;

/** Counters, cumulative. */
export interface UdpProxyStats {
  /** TUN → peers. */
  readonly sent: number;
  /** Peers → TUN. */
  readonly received: number;
  /** No route: ICMP net unreachable written back. */
  readonly unreachable: number;
  /** Dropped: no route and no ICMP allowed, TTL expired, not IPv4. */
  readonly dropped: number;
  /** Datagrams from an address that is not a peer's PublicIP. */
  readonly rejected: number;
  /** Datagrams that were not IPv4 packets. */
  readonly malformed: number;
  /** Send failures (no route to the peer, EMSGSIZE, …) and TUN queue overflows. */
  readonly errors: number;
}

/** Options of {@linkcode UdpProxy}. */
export interface UdpProxyOptions {
  /** The TUN's file descriptor (non-blocking, `IFF_TUN | IFF_NO_PI`: `Tun.fd`). */
  readonly tunFd: number;
  /** A UDP socket bound to `<interface address>:<port>` (`openUdpSocket`). */
  readonly sockFd: number;
  /** The port datagrams are sent to (our own: the peer's is not in its lease, as upstream). */
  readonly port: number;
  /** The TUN's address as u32: the source of ICMP errors. */
  readonly tunAddr: number;
  readonly logger?: Logger;
  /** Datagrams per system call (default {@linkcode BATCH}). */
  readonly batch?: number;
  /** UDP GSO/GRO between the proxy and the kernel (default true; the wire format is the same either way). */
  readonly offload?: boolean;
}

const WORKER = new URL("./worker.ts", import.meta.url).href;

/**
 * The forwarder. Create it, give it routes with {@linkcode setRoutes}, {@linkcode start} it, {@linkcode stop} it
 * before closing the TUN and the socket (the worker uses their descriptors until then).
 */
export class UdpProxy {
  /** Live counters (read from shared memory). */
  readonly stats: UdpProxyStats;
  readonly #o: UdpProxyOptions;
  readonly #counters = new Float64Array(new SharedArrayBuffer(STAT_COUNT * 8));
  readonly #control = new Int32Array(new SharedArrayBuffer(8));
  #routes: readonly UdpPeerRoute[] = [];
  #worker: Worker | undefined;
  #ctlFd = -1;
  #running: Promise<void> | undefined;
  #stopped = false;

  /** @param options TUN and socket descriptors, port, TUN address */
  constructor(options: UdpProxyOptions) {
    this.#o = options;
    const stats = {};
    for (const [name, i] of Object.entries(STAT)) {
      Object.defineProperty(stats, name, { enumerable: true, get: () => this.#counters[i] });
    }
    this.stats = stats as UdpProxyStats;
  }

  /** The routes in use. */
  get routes(): readonly UdpPeerRoute[] {
    return this.#routes;
  }

  /** Replaces the routing table (takes effect within a batch) and with it the set of accepted peers. */
  setRoutes(routes: readonly UdpPeerRoute[]): void {
    this.#routes = routes.map((r) => ({ ...r }));
    if (!this.#worker || this.#stopped) return;
    Atomics.add(this.#control, CONTROL.PENDING, 1);
    this.#worker.postMessage({ type: "routes", routes: this.#routes } satisfies WorkerCommand);
    signalEventfd(this.#ctlFd);
  }

  /**
   * Starts the data-path worker. The promise settles when {@linkcode stop} has been called and the worker
   * ended; it rejects on an unexpected error of the TUN or the socket.
   */
  start(): Promise<void> {
    this.#running ??= new Promise<void>((resolve, reject) => {
      this.#ctlFd = openEventfd();
      const worker = new Worker(WORKER, { type: "module", name: "udp-proxy" });
      this.#worker = worker;
      const end = (error?: Error) => {
        worker.terminate();
        closeFd(this.#ctlFd);
        this.#ctlFd = -1;
        this.#worker = undefined;
        if (error) reject(error);
        else resolve();
      };
      worker.onmessage = (e: MessageEvent<WorkerEvent>) => {
        const m = e.data;
        if (m.type === "log") this.#o.logger?.warn(m.message, m.fields);
        else if (m.type === "stopped") end();
        else end(new Error(`The udp proxy failed: ${m.message}`));
      };
      worker.onerror = (e) => {
        e.preventDefault();
        end(new Error(`The udp proxy's worker failed: ${e.message}`));
      };
      worker.postMessage(
        {
          type: "init",
          tunFd: this.#o.tunFd,
          sockFd: this.#o.sockFd,
          ctlFd: this.#ctlFd,
          port: this.#o.port,
          tunAddr: this.#o.tunAddr,
          batch: this.#o.batch ?? BATCH,
          offload: this.#o.offload ?? true,
          stats: this.#counters.buffer as SharedArrayBuffer,
          control: this.#control.buffer as SharedArrayBuffer,
          routes: this.#routes,
        } satisfies WorkerInit,
      );
    });
    return this.#running;
  }

  /** Asks the worker to stop (it finishes the batch in hand). {@linkcode stop} also waits for it. */
  close(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    Atomics.store(this.#control, CONTROL.STOP, 1);
    if (this.#ctlFd >= 0) signalEventfd(this.#ctlFd);
  }

  /** Stops the worker and waits until it no longer touches the descriptors. Errors of the loop are ignored. */
  async stop(): Promise<void> {
    this.close();
    await this.#running?.catch(() => {});
  }
}
