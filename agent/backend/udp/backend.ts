/**
 * The udp backend: a TUN device and a userspace forwarder, upstream's escape hatch where VXLAN is blocked.
 *
 * Kernel state on the node (upstream `pkg/backend/udp`), created when our lease is known:
 * 1. TUN `flannel%d` (→ `flannel0`), `IFF_TUN | IFF_NO_PI`, not persistent: it vanishes when the agent exits,
 *    taking its address and route with it — there is nothing to clean up after a crash;
 * 2. address `<lease subnet address>/32` (e.g. `10.5.3.0/32`), MTU = interface MTU − 28 (outer IPv4 + UDP
 *    headers), link up;
 * 3. route `<Network> dev flannel0` (scope universe): every pod address not on this node goes to the proxy;
 * 4. a UDP socket bound to `<interface address>:<Port>` (default 8285);
 * 5. `net.ipv4.conf.flannel0.accept_local=1` (ours, not upstream's): the proxy's ICMP net-unreachable errors
 *    carry the TUN's own address as source, and without it the kernel drops them as martians.
 *
 * Per remote node there is no kernel entry at all: the proxy keeps a table of peer subnet → PublicIP, replaced
 * on each reconcile (every IPv4 lease but ours, whatever its BackendType, as upstream). Nothing is published in
 * the lease: no BackendType, no BackendData (upstream's udp writes none either).
 *
 * `reconcile` is level-triggered like the other backends: besides the peer table, it re-adds the address and the
 * route if someone removed them. See `udp/proxy.ts` for the data path and how it differs from upstream.
 *
 * @module
 */
import type { Backend, BackendContext, PeerState, ReconcileReport } from "../backend.ts";
import type { BackendLeaseFields } from "../lease_fields.ts";
import { UDP_OVERHEAD } from "../lease_fields.ts";
import { AF_INET, type Link, NetlinkError, RT_SCOPE_UNIVERSE, Tun } from "../../netlink/mod.ts";
import type { Lease } from "../../subnet/lease.ts";
import { formatCidr, formatIp } from "../../ip.ts";
import { ipv4ToU32 } from "./packet.ts";
import { UdpProxy } from "./proxy.ts";
import { routesFromLeases } from "./routes.ts";
import { closeFd, openUdpSocket } from "./socket.ts";

/** Options of {@linkcode createUdpBackend} beyond the context. */
export interface UdpBackendOptions {
  /** TUN name pattern (default `flannel%d`). */
  readonly tunName?: string;
  /** Let the kernel batch the proxy's datagrams (UDP GSO/GRO; default true). Same datagrams on the wire. */
  readonly offload?: boolean;
}

function ignoreCode(code: string) {
  return (e: unknown) => {
    if (!(e instanceof NetlinkError && e.code === code)) throw e;
  };
}

/** The udp backend. Make one with {@linkcode createUdpBackend}. */
export class UdpBackend implements Backend {
  readonly type = "udp" as const;
  readonly mtu: number;
  readonly #ctx: BackendContext;
  readonly #port: number;
  readonly #tunName: string;
  readonly #offload: boolean;
  #tun: Tun | undefined;
  #sockFd = -1;
  #proxy: UdpProxy | undefined;
  #loop: Promise<void> | undefined;
  #own: Lease | undefined;
  #link: Link | undefined;

  /** @internal use {@linkcode createUdpBackend} */
  constructor(ctx: BackendContext, options: UdpBackendOptions = {}) {
    if (ctx.config.backend.type !== "udp") throw new TypeError("UdpBackend needs a udp backend config");
    if (!ctx.config.ipv4) {
      throw new TypeError("The udp backend is IPv4 only: the network config has no Network");
    }
    if (!ctx.ext.ifaceAddr) {
      throw new TypeError("The udp backend needs an IPv4 address on the external interface");
    }
    this.#ctx = ctx;
    this.#port = ctx.config.backend.port;
    this.#tunName = options.tunName ?? "flannel%d";
    this.#offload = options.offload ?? true;
    this.mtu = ctx.ext.mtu - UDP_OVERHEAD;
  }

  /** The forwarder, once activated (its counters are the backend's metrics). */
  get proxy(): UdpProxy | undefined {
    return this.#proxy;
  }

  /** The TUN device name, once activated (`flannel0`). */
  get deviceName(): string | undefined {
    return this.#tun?.name;
  }

  /** udp publishes nothing: no BackendType, no BackendData. */
  leaseFields(): BackendLeaseFields {
    return {};
  }

  /**
   * Creates the TUN, its address, MTU and route, binds the socket and starts the proxy. Called again with a
   * lease for another subnet, it moves the address.
   *
   * @param own our lease
   * @throws {NetlinkError | OsError} when the device or the socket cannot be set up (e.g. `EADDRINUSE`)
   */
  async activate(own: Lease): Promise<void> {
    if (!own.subnet) throw new TypeError("The udp backend needs an IPv4 lease");
    const { nl, logger } = this.#ctx;
    const first = this.#tun === undefined;
    this.#tun ??= Tun.open({ name: this.#tunName });
    const link = await nl.link.get(this.#tun.name);
    this.#link = link;
    const previous = this.#own;
    this.#own = own;
    if (previous?.subnet && formatCidr(previous.subnet) !== formatCidr(own.subnet)) {
      await nl.addr.delete({ index: link.index, cidr: `${formatIp(previous.subnet.addr)}/32` })
        .catch(ignoreCode("EADDRNOTAVAIL"));
    }
    await nl.link.set(link.index, { mtu: this.mtu, up: true });
    await this.#ensureAddrAndRoute();
    if (first) {
      await this.#acceptLocal(this.#tun.name);
      const hostname = formatIp(this.#ctx.ext.ifaceAddr!);
      this.#sockFd = openUdpSocket({ address: ipv4ToU32(hostname), port: this.#port });
      this.#proxy = new UdpProxy({
        tunFd: this.#tun.fd,
        sockFd: this.#sockFd,
        port: this.#port,
        tunAddr: ipv4ToU32(formatIp(own.subnet.addr)),
        offload: this.#offload,
        logger: logger.child("udp"),
      });
      this.#loop = this.#proxy.start().catch((e) => logger.error("The udp proxy stopped", { error: e }));
      logger.info("udp backend up", {
        device: this.#tun.name,
        mtu: this.mtu,
        listen: `${hostname}:${this.#port}`,
      });
    }
  }

  /**
   * The proxy's ICMP errors come from the TUN's own address, which the kernel drops as a martian source when it
   * arrives on a device of this node — upstream's errors never reach the sender (measured). Accepting local
   * sources on flannel0 only (nothing but the proxy writes into it) lets them through.
   */
  async #acceptLocal(device: string): Promise<void> {
    try {
      await Deno.writeTextFile(`/proc/sys/net/ipv4/conf/${device}/accept_local`, "1");
    } catch (e) {
      this.#ctx.logger.warn(
        "Failed to set accept_local on the TUN; ICMP net unreachable will not reach pods",
        {
          device,
          error: e,
        },
      );
    }
  }

  async #ensureAddrAndRoute(): Promise<void> {
    const { nl } = this.#ctx;
    const link = this.#link!;
    const own = this.#own!;
    const cidr = `${formatIp(own.subnet!.addr)}/32`;
    const addrs = await nl.addr.list({ index: link.index, family: AF_INET });
    if (!addrs.some((a) => a.cidr === cidr)) await nl.addr.add({ index: link.index, cidr });
    await nl.route.add({
      dst: formatCidr(this.#ctx.config.ipv4!.network),
      oif: link.index,
      scope: RT_SCOPE_UNIVERSE,
    })
      .catch(ignoreCode("EEXIST"));
  }

  /**
   * Replaces the proxy's peer table with the snapshot's IPv4 leases (ours excluded) and re-asserts the address
   * and the route.
   *
   * @param snapshot every lease, keyed by lease key name
   * @param own our lease
   * @returns which peers are programmed
   */
  async reconcile(snapshot: ReadonlyMap<string, Lease>, own: Lease): Promise<ReconcileReport> {
    const proxy = this.#proxy;
    if (!proxy) throw new Error("Failed to reconcile the udp backend: activate() has not run");
    let errors = 0;
    try {
      await this.#ensureAddrAndRoute();
    } catch (e) {
      errors++;
      this.#ctx.logger.error("Failed to restore flannel0's address or route", { error: e });
    }
    const before = new Set(proxy.routes.map((r) => `${r.subnet}=${r.publicIp}`));
    const routes = routesFromLeases(snapshot, own);
    proxy.setRoutes(routes);
    const after = new Set(routes.map((r) => `${r.subnet}=${r.publicIp}`));
    const peers = new Map<string, PeerState>();
    const bySubnet = new Set(routes.map((r) => r.subnet));
    for (const [key, lease] of snapshot) {
      if (
        lease === own || (own.subnet && lease.subnet && formatCidr(lease.subnet) === formatCidr(own.subnet))
      ) {
        continue;
      }
      if (lease.subnet && bySubnet.has(formatCidr(lease.subnet))) {
        peers.set(key, { state: "programmed", via: "proxy" });
      } else {
        peers.set(key, {
          state: "ignored",
          reason: lease.subnet ? "the lease has no IPv4 PublicIP" : "the udp backend is IPv4 only",
        });
      }
    }
    return {
      added: [...after].filter((r) => !before.has(r)).length,
      removed: [...before].filter((r) => !after.has(r)).length,
      errors,
      peers,
    };
  }

  /** Stops the proxy, closes the socket, removes the route and closes the TUN (the device disappears). */
  async teardown(): Promise<void> {
    // The worker uses both descriptors until it has stopped: close them only then.
    await this.#proxy?.stop();
    closeFd(this.#sockFd);
    this.#sockFd = -1;
    if (this.#link && this.#ctx.config.ipv4) {
      await this.#ctx.nl.route.delete({
        dst: formatCidr(this.#ctx.config.ipv4.network),
        oif: this.#link.index,
      })
        .catch(() => {});
    }
    this.#tun?.close();
    await this.#loop;
    this.#tun = undefined;
    this.#proxy = undefined;
    this.#loop = undefined;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.teardown();
  }
}

/**
 * Creates the udp backend. Nothing touches the kernel until {@linkcode UdpBackend.activate}.
 *
 * @param ctx config (backend type udp), external interface (with an IPv4 address), netlink, logger
 * @param options TUN name pattern
 * @returns the backend
 * @example
 * ```ts ignore
 * const udp = await createUdpBackend(ctx);
 * await udp.activate(own);
 * await udp.reconcile(snapshot, own);
 * // …
 * await udp.teardown();
 * ```
 */
export function createUdpBackend(ctx: BackendContext, options: UdpBackendOptions = {}): Promise<UdpBackend> {
  return Promise.resolve(new UdpBackend(ctx, options));
}
