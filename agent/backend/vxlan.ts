/**
 * The vxlan backend.
 *
 * Some design notes, in the manner of upstream's vxlan.go:
 *
 * Each node owns one VXLAN device, `flannel.<VNI>`, bound to the external interface (`dev`), with the node's
 * PublicIP as `local`, no learning, no group, and MTU = (Backend.MTU or the interface's MTU) − 50. It carries
 * the node's subnet address as a /32 (`10.244.3.0/32`), so the kernel has a source address for packets it
 * sends into the tunnel, but no route to the whole Network: every peer gets its own route.
 *
 * The device's MAC — the VTEP MAC — is published in the lease (`BackendData.VtepMAC`). For every remote vxlan
 * lease the node programs three entries, in this order:
 * 1. ARP: `<peer subnet address> lladdr <peer VtepMAC> PERMANENT dev flannel.N` — the inner packet's next hop
 *    resolves to the peer's VTEP without any ARP on the wire;
 * 2. FDB: `<peer VtepMAC> dst <peer PublicIP> self permanent dev flannel.N` — the VXLAN driver finds the
 *    underlay address to send the encapsulated frame to;
 * 3. route: `<peer subnet> via <peer subnet address> dev flannel.N onlink` — `onlink`, because the /32 on the
 *    device makes no prefix cover the gateway.
 * The route points at the ARP entry, which points at the FDB entry, so adding in this order (and deleting the
 * other way round) never leaves a route that blackholes into an incomplete neighbour.
 *
 * With DirectRouting, a peer whose PublicIP the kernel reaches without a gateway on the external interface gets
 * only `<peer subnet> via <PublicIP> dev <ext>` (no encapsulation, like host-gw); the others use the tunnel.
 * Reachability is asked of the kernel (`ip route get`) before planning and re-asked when the underlay changes.
 *
 * Where we differ from upstream (each on purpose): entries are converged, not added per event — leases that
 * vanished while the agent was down, a peer's changed VTEP MAC or PublicIP (upstream leaves the old FDB entry)
 * and entries deleted by hand all heal within one reconcile; an existing device's MTU and learning are checked
 * and fixed in place; a device deleted by hand is recreated with the same MAC and every peer replayed
 * (upstream gives it a new random MAC, does not update the lease and does not replay peers); and if the MAC
 * changes anyway, the lease is re-published.
 *
 * @module
 */
import type { Logger } from "../../cli/log.ts";
import type { BackendConfig } from "../config.ts";
import { formatIp, type IpNet } from "../ip.ts";
import type { Link, NetlinkEvent } from "../netlink/mod.ts";
import type { Lease } from "../subnet/lease.ts";
import type { Backend, BackendContext, EventVerdict, ReconcileReport } from "./backend.ts";
import type { ReachLookup } from "./desired.ts";
import { classifyEvent, indexPlan, type PlanIndex } from "./events.ts";
import { converge, ReachResolver } from "./kernel.ts";
import { type BackendLeaseFields, backendLeaseFields, backendMtu } from "./lease_fields.ts";
import type { OwnershipScope } from "./reconcile.ts";
import { ensureDeviceAddress, ensureVxlanDevice, type VxlanDeviceSpec } from "./vxlan_device.ts";
import { planVxlan } from "./vxlan_plan.ts";
import { removeOwnedRoutes } from "./teardown.ts";

type VxlanConfig = Extract<BackendConfig, { type: "vxlan" }>;

/** The vxlan backend; create it with {@linkcode VxlanBackend.create}. */
export class VxlanBackend implements Backend {
  readonly type = "vxlan" as const;
  readonly mtu: number;
  readonly #ctx: BackendContext;
  readonly #cfg: VxlanConfig;
  readonly #spec: VxlanDeviceSpec;
  readonly #log: Logger;
  readonly #networks: readonly IpNet[];
  readonly #reach: ReachResolver;
  #device: Link;
  #mac: string;
  #own: Lease | undefined;
  #plan: PlanIndex = { routes: new Map(), neighs: new Map(), fdbs: new Set() };

  private constructor(ctx: BackendContext, cfg: VxlanConfig, spec: VxlanDeviceSpec, device: Link) {
    this.#ctx = ctx;
    this.#cfg = cfg;
    this.#spec = spec;
    this.#device = device;
    this.#mac = device.mac ?? "";
    this.mtu = spec.mtu;
    this.#log = ctx.logger;
    this.#networks = ctx.config.ipv4 ? [ctx.config.ipv4.network] : [];
    this.#reach = new ReachResolver(ctx.nl);
  }

  /**
   * Creates or adopts `flannel.<VNI>` on the external interface (before the lease is acquired: the lease
   * publishes its MAC).
   *
   * @example
   * ```ts ignore
   * const backend = await VxlanBackend.create({ config, ext, nl, logger });
   * backend.leaseFields(); // { backendType: "vxlan", backendData: { VNI: 1, VtepMAC: "…" } }
   * ```
   */
  static async create(ctx: BackendContext): Promise<VxlanBackend> {
    const cfg = ctx.config.backend;
    if (cfg.type !== "vxlan") throw new TypeError(`VxlanBackend given a ${cfg.type} config`);
    if (!ctx.config.ipv4) {
      throw new Error(
        "The vxlan backend of flannel-lab programs IPv4 only, and the network config disables it",
      );
    }
    const spec: VxlanDeviceSpec = {
      name: `flannel.${cfg.vni}`,
      vni: cfg.vni,
      mtu: backendMtu(cfg, ctx.ext.mtu),
      local: formatIp(ctx.ext.publicIp),
      link: ctx.ext.link.index,
      port: cfg.port,
      learning: cfg.learning,
      gbp: cfg.gbp,
    };
    const device = await ensureVxlanDevice(ctx.nl, spec, ctx.logger);
    ctx.logger.info(`Using ${spec.name}`, { mac: device.mac, mtu: device.mtu, ifindex: device.index });
    return new VxlanBackend(ctx, cfg, spec, device);
  }

  /** The device's name, `flannel.<VNI>`. */
  get deviceName(): string {
    return this.#spec.name;
  }

  /** The VTEP MAC we publish. */
  get vtepMac(): string {
    return this.#mac;
  }

  leaseFields(): BackendLeaseFields {
    return backendLeaseFields(this.#cfg, this.#mac);
  }

  async activate(own: Lease): Promise<void> {
    this.#own = own;
    if (!own.subnet) throw new Error("Our lease has no IPv4 subnet");
    await ensureDeviceAddress(this.#ctx.nl, this.#device.index, formatIp(own.subnet.addr), this.#networks);
  }

  #scope(): OwnershipScope {
    return { device: this.#device.index, extIndex: this.#ctx.ext.link.index, networks: this.#networks };
  }

  /** Makes sure the device exists with our MAC, MTU, address and up; recreates it with the same MAC if gone. */
  async #ensureDevice(own: Lease): Promise<{ recreated: boolean; fieldsChanged: boolean }> {
    const nl = this.#ctx.nl;
    const link = await nl.link.find(this.#spec.name);
    let recreated = false;
    let fieldsChanged = false;
    if (!link || link.index !== this.#device.index || link.kind !== "vxlan") {
      this.#log.warn(`${this.#spec.name} vanished or was replaced; recreating it with the same MAC`, {
        mac: this.#mac,
      });
      this.#device = await ensureVxlanDevice(nl, this.#spec, this.#log, { mac: this.#mac });
      this.#reach.invalidate();
      recreated = true;
    } else {
      this.#device = link;
      if (link.mtu !== this.#spec.mtu) await nl.link.setMtu(link.index, this.#spec.mtu);
    }
    const mac = this.#device.mac ?? "";
    if (mac !== this.#mac) {
      this.#log.warn(`${this.#spec.name}'s MAC changed behind our back; re-publishing it in our lease`, {
        was: this.#mac,
        now: mac,
      });
      this.#mac = mac;
      fieldsChanged = true;
    }
    if (recreated || !this.#device.up || own !== this.#own) await this.activate(own);
    else {
      // Cheap enough to check on every reconcile: one address dump on one device.
      await ensureDeviceAddress(nl, this.#device.index, formatIp(own.subnet!.addr), this.#networks);
    }
    return { recreated, fieldsChanged };
  }

  async reconcile(snapshot: ReadonlyMap<string, Lease>, own: Lease): Promise<ReconcileReport> {
    const { recreated, fieldsChanged } = await this.#ensureDevice(own);
    let reach: ReachLookup = () => undefined;
    if (this.#cfg.directRouting) {
      const ips = [...snapshot.values()].filter((l) => l.attrs.backendType === "vxlan").map((l) =>
        formatIp(l.attrs.publicIp)
      );
      reach = await this.#reach.resolve(ips);
    }
    const desired = planVxlan(snapshot, own, {
      device: this.#device.index,
      extIndex: this.#ctx.ext.link.index,
      directRouting: this.#cfg.directRouting,
      reach,
    });
    this.#plan = indexPlan(desired);
    const result = await converge(this.#ctx.nl, desired, this.#scope());
    return {
      added: result.added,
      removed: result.removed,
      errors: result.failures.length,
      peers: result.peers,
      fieldsChanged,
      deviceRecreated: recreated,
    };
  }

  classifyEvent(event: NetlinkEvent): EventVerdict {
    const verdict = classifyEvent(event, {
      scope: this.#scope(),
      deviceName: this.#spec.name,
      deviceMac: this.#mac,
      deviceMtu: this.#spec.mtu,
      plan: this.#plan,
      networks: this.#networks,
    });
    if (verdict === "topology") this.#reach.invalidate();
    return verdict;
  }

  /** Forgets cached reachability (called on the periodic resync). */
  invalidateReach(): void {
    this.#reach.invalidate();
  }

  async teardown(): Promise<void> {
    const nl = this.#ctx.nl;
    // Deleting the device takes its routes, ARP and FDB entries with it.
    await nl.link.delete(this.#device.index).catch(() => {});
    await removeOwnedRoutes(nl, { extIndex: this.#ctx.ext.link.index, networks: this.#networks });
  }

  /** Leaves the data plane in place (as upstream does on SIGTERM). */
  [Symbol.asyncDispose](): Promise<void> {
    return Promise.resolve();
  }
}
