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
 * IPv6 (dual-stack, or IPv6 alone with `EnableIPv4: false`): the same three entries per peer on a second
 * device, `flannel-v6.<VNI>` (LOCAL6 = PublicIPv6, same external interface, same VNI and port), built from the
 * lease's IPv6 subnet, `PublicIPv6` and `BackendV6Data` (`{VNI, VtepMAC}` of flannel-v6.N); the device carries
 * `<v6 subnet address>/128`; DirectRouting likewise asks the kernel about each PublicIPv6. Each family is one
 * reconcile scope (its device, its routes and NDP/ARP entries, its Network), so neither touches the other's.
 *
 * MTU of flannel-v6.N: (Backend.MTU or the interface's MTU) − 70, because the outer header is IPv6 (40 bytes)
 * + UDP (8) + VXLAN (8) + inner Ethernet (14). Upstream asks for − 50 for both devices ();
 * the kernel clamps an IPv6 vxlan device to its lower device's MTU − 70, so on the same underlay upstream's
 * flannel-v6.1 also ends up 1430 [measured in interop_dualstack_test, kernel 6.18] and the devices agree. Where
 * they can differ: a `Backend.MTU` below the interface's (upstream then gets MTU − 50 on flannel-v6.N, and
 * full-size packets are dropped by the underlay), and FLANNEL_MTU, which upstream writes as underlay − 50
 * (1450) while ours is the smallest MTU of the devices in use (1430 when IPv6 is on), so pods never send a
 * packet one of the tunnels cannot carry. A mixed cluster works either way: the MTU only limits what each
 * node sends.
 *
 * When the external interface is deleted and recreated under the same name (a network restart, S12), the
 * kernel deletes the vxlan devices bound to it; the reconcile finds the interface by name again, re-binds to
 * its new ifindex, and recreates the devices on it with their published MACs, so peers need no update.
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
import type { Logger } from "../../../cli/log.ts";
import type { BackendConfig } from "../../config/mod.ts";
import { formatIp, type IpNet } from "../../ip.ts";
import type { Link, NetlinkEvent } from "../../netlink/mod.ts";
import type { Lease } from "../../subnet/lease.ts";
import type {
  Backend,
  BackendContext,
  EventVerdict,
  PeerState,
  ReconcileOptions,
  ReconcileReport,
} from "../backend.ts";
import {
  classifyEvent,
  convergeSlot,
  EMPTY_PLAN,
  leaseFamilyPart,
  mergePeerStates,
  type OwnershipScope,
  type PlanSlot,
  type ReachLookup,
  ReachResolver,
  resolveExtIndex,
} from "../reconcile/mod.ts";
import { type BackendLeaseFields, VXLAN_OVERHEAD, type VxlanBackendData } from "../lease_fields.ts";
import { ensureDeviceAddress, ensureVxlanDevice, type VxlanDeviceSpec } from "./device.ts";
import { planVxlan } from "./plan.ts";
import { removeOwnedRoutes } from "../teardown.ts";

type VxlanConfig = Extract<BackendConfig, { type: "vxlan" }>;

/** IPv6 header + UDP header + VXLAN header + inner Ethernet header: flannel-v6.N's overhead. */
export const VXLAN6_OVERHEAD = 70;

/** What vxlan publishes: upstream's BackendData for flannel.N and BackendV6Data for flannel-v6.N. */
export interface VxlanLeaseFields extends BackendLeaseFields {
  readonly backendType: "vxlan";
  readonly backendData?: VxlanBackendData;
  readonly backendV6Data?: VxlanBackendData;
}

/** One address family's device and its last plan. */
interface Stack extends PlanSlot {
  readonly family: 4 | 6;
  spec: VxlanDeviceSpec;
  device: Link;
  mac: string;
  readonly networks: readonly IpNet[];
}

/**
 * The device specs for the families the config enables (pure).
 *
 * @example
 * ```ts ignore
 * vxlanStackSpecs(ctx); // [{ family: 4, spec: { name: "flannel.1", mtu: 1450, … } }, { family: 6, spec: { name: "flannel-v6.1", mtu: 1430, … } }]
 * ```
 */
export function vxlanStackSpecs(ctx: BackendContext): { family: 4 | 6; spec: VxlanDeviceSpec }[] {
  const cfg = ctx.config.backend;
  if (cfg.type !== "vxlan") throw new TypeError(`VxlanBackend given a ${cfg.type} config`);
  const base = cfg.mtu ?? ctx.ext.mtu;
  const common = {
    vni: cfg.vni,
    link: ctx.ext.link.index,
    port: cfg.port,
    learning: cfg.learning,
    gbp: cfg.gbp,
  };
  const out: { family: 4 | 6; spec: VxlanDeviceSpec }[] = [];
  if (ctx.config.ipv4) {
    out.push({
      family: 4,
      spec: {
        ...common,
        name: `flannel.${cfg.vni}`,
        mtu: base - VXLAN_OVERHEAD,
        local: formatIp(ctx.ext.publicIp),
      },
    });
  }
  if (ctx.config.ipv6) {
    if (!ctx.ext.publicIpv6) {
      throw new Error(
        `The vxlan backend needs an IPv6 PublicIP for flannel-v6.${cfg.vni}: ${ctx.ext.link.name} has no usable ` +
          `global IPv6 address and no --public-ipv6 was given`,
      );
    }
    out.push({
      family: 6,
      spec: {
        ...common,
        name: `flannel-v6.${cfg.vni}`,
        mtu: base - VXLAN6_OVERHEAD,
        local: formatIp(ctx.ext.publicIpv6),
      },
    });
  }
  return out;
}

function strongest(a: EventVerdict, b: EventVerdict): EventVerdict {
  const rank = { ignore: 0, reconcile: 1, topology: 2 } as const;
  return rank[a] >= rank[b] ? a : b;
}

/** The vxlan backend; create it with {@linkcode VxlanBackend.create}. */
export class VxlanBackend implements Backend {
  readonly type = "vxlan" as const;
  readonly mtu: number;
  readonly #ctx: BackendContext;
  readonly #cfg: VxlanConfig;
  readonly #log: Logger;
  readonly #reach: ReachResolver;
  readonly #stacks: Stack[];
  readonly #extName: string;
  #extIndex: number;

  private constructor(ctx: BackendContext, cfg: VxlanConfig, stacks: Stack[]) {
    this.#ctx = ctx;
    this.#cfg = cfg;
    this.#stacks = stacks;
    this.mtu = Math.min(...stacks.map((s) => s.spec.mtu));
    this.#log = ctx.logger;
    this.#reach = new ReachResolver(ctx.nl);
    this.#extName = ctx.ext.link.name;
    this.#extIndex = ctx.ext.link.index;
  }

  /**
   * Creates or adopts `flannel.<VNI>` (IPv4 on) and `flannel-v6.<VNI>` (IPv6 on) on the external interface
   * (before the lease is acquired: the lease publishes their MACs).
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
    const stacks: Stack[] = [];
    for (const { family, spec } of vxlanStackSpecs(ctx)) {
      const device = await ensureVxlanDevice(ctx.nl, spec, ctx.logger);
      ctx.logger.info(`Using ${spec.name}`, { mac: device.mac, mtu: device.mtu, ifindex: device.index });
      stacks.push({
        family,
        spec,
        device,
        mac: device.mac ?? "",
        networks: family === 4 ? [ctx.config.ipv4!.network] : [ctx.config.ipv6!.network],
        plan: EMPTY_PLAN,
        applied: false,
      });
    }
    return new VxlanBackend(ctx, cfg, stacks);
  }

  /** The IPv4 device's name, `flannel.<VNI>` (`flannel-v6.<VNI>` when IPv4 is off). */
  get deviceName(): string {
    return this.#stacks[0]!.spec.name;
  }

  /** The VTEP MAC we publish for IPv4 (for IPv6 when IPv4 is off). */
  get vtepMac(): string {
    return this.#stacks[0]!.mac;
  }

  leaseFields(): VxlanLeaseFields {
    const data = (family: 4 | 6) => {
      const s = this.#stacks.find((x) => x.family === family);
      return s ? { VNI: this.#cfg.vni, VtepMAC: s.mac } : undefined;
    };
    const v4 = data(4);
    const v6 = data(6);
    return { backendType: "vxlan", ...(v4 ? { backendData: v4 } : {}), ...(v6 ? { backendV6Data: v6 } : {}) };
  }

  async activate(own: Lease): Promise<void> {
    for (const s of this.#stacks) await this.#address(s, own);
  }

  async #address(s: Stack, own: Lease): Promise<void> {
    const part = leaseFamilyPart(own, s.family);
    if (!part) throw new Error(`Our lease has no IPv${s.family} subnet, and IPv${s.family} is enabled`);
    await ensureDeviceAddress(this.#ctx.nl, s.device.index, formatIp(part.subnet.addr), s.networks);
  }

  #scope(s: Stack): OwnershipScope {
    return { device: s.device.index, extIndex: this.#extIndex, networks: s.networks, family: s.family };
  }

  /** Re-binds to the external interface when it was recreated under the same name. */
  async #ensureExt(): Promise<void> {
    const index = await resolveExtIndex(this.#ctx.nl, this.#extName, this.#extIndex);
    if (index === this.#extIndex) return;
    this.#log.warn(`${this.#extName} was recreated; re-binding the vxlan devices to it`, {
      was: this.#extIndex,
      now: index,
    });
    this.#extIndex = index;
    for (const s of this.#stacks) s.spec = { ...s.spec, link: index };
    this.#reach.invalidate();
  }

  /** Makes sure a device exists with our MAC, MTU, address and up; recreates it with the same MAC if gone. */
  async #ensureDevice(s: Stack, own: Lease): Promise<{ recreated: boolean; fieldsChanged: boolean }> {
    const nl = this.#ctx.nl;
    const link = await nl.link.find(s.spec.name);
    let recreated = false;
    let fieldsChanged = false;
    if (
      !link || link.index !== s.device.index || link.kind !== "vxlan" || link.vxlan?.link !== s.spec.link
    ) {
      this.#log.warn(`${s.spec.name} vanished or was replaced; recreating it with the same MAC`, {
        mac: s.mac,
      });
      s.device = await ensureVxlanDevice(nl, s.spec, this.#log, { mac: s.mac });
      this.#reach.invalidate();
      recreated = true;
    } else {
      s.device = link;
      if (link.mtu !== s.spec.mtu) await nl.link.setMtu(link.index, s.spec.mtu);
    }
    const mac = s.device.mac ?? "";
    if (mac !== s.mac) {
      this.#log.warn(`${s.spec.name}'s MAC changed behind our back; re-publishing it in our lease`, {
        was: s.mac,
        now: mac,
      });
      s.mac = mac;
      fieldsChanged = true;
    }
    // Cheap enough to check on every reconcile: one address dump on one device.
    await this.#address(s, own);
    return { recreated, fieldsChanged };
  }

  async reconcile(
    snapshot: ReadonlyMap<string, Lease>,
    own: Lease,
    options: ReconcileOptions = {},
  ): Promise<ReconcileReport> {
    // A lease change alone needs no device check: anything that happens to the device or the external
    // interface arrives as a netlink event, which asks for a full run.
    const quick = options.leasesOnly === true && this.#stacks.every((s) => s.applied);
    if (!quick) await this.#ensureExt();
    let added = 0;
    let removed = 0;
    let errors = 0;
    let recreated = false;
    let fieldsChanged = false;
    const peers: [4 | 6, ReadonlyMap<string, PeerState>][] = [];
    for (const s of this.#stacks) {
      if (!quick) {
        const dev = await this.#ensureDevice(s, own);
        recreated ||= dev.recreated;
        fieldsChanged ||= dev.fieldsChanged;
      }
      let reach: ReachLookup = () => undefined;
      if (this.#cfg.directRouting) {
        const ips: string[] = [];
        for (const l of snapshot.values()) {
          const ip = l.attrs.backendType === "vxlan" ? leaseFamilyPart(l, s.family)?.publicIp : undefined;
          if (ip) ips.push(formatIp(ip));
        }
        reach = await this.#reach.resolve(ips);
      }
      const desired = planVxlan(snapshot, own, {
        device: s.device.index,
        extIndex: this.#extIndex,
        directRouting: this.#cfg.directRouting,
        reach,
        family: s.family,
      });
      const result = await convergeSlot(this.#ctx.nl, s, desired, this.#scope(s), quick);
      added += result.added;
      removed += result.removed;
      errors += result.failures.length;
      peers.push([s.family, result.peers]);
    }
    return {
      added,
      removed,
      errors,
      peers: mergePeerStates(peers),
      fieldsChanged,
      deviceRecreated: recreated,
    };
  }

  classifyEvent(event: NetlinkEvent): EventVerdict {
    let verdict: EventVerdict = "ignore";
    for (const s of this.#stacks) {
      verdict = strongest(
        verdict,
        classifyEvent(event, {
          scope: this.#scope(s),
          deviceName: s.spec.name,
          deviceMac: s.mac,
          deviceMtu: s.spec.mtu,
          plan: s.plan,
          networks: s.networks,
          extName: this.#extName,
        }),
      );
    }
    if (verdict === "topology") this.#reach.invalidate();
    return verdict;
  }

  /** Forgets cached reachability (called on the periodic resync). */
  invalidateReach(): void {
    this.#reach.invalidate();
  }

  async teardown(): Promise<void> {
    const nl = this.#ctx.nl;
    for (const s of this.#stacks) {
      // Deleting the device takes its routes, neighbour and FDB entries with it.
      await nl.link.delete(s.device.index).catch(() => {});
      await removeOwnedRoutes(nl, { extIndex: this.#extIndex, networks: s.networks, family: s.family });
    }
  }

  /** Leaves the data plane in place (as upstream does on SIGTERM). */
  [Symbol.asyncDispose](): Promise<void> {
    return Promise.resolve();
  }
}
