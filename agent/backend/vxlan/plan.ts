/**
 * vxlan's desired kernel state for a lease snapshot (pure). See `vxlan/backend.ts` for the design note; in short, per
 * remote vxlan lease: ARP `subnet-addr lladdr VtepMAC PERMANENT`, FDB `VtepMAC dst PublicIP self permanent`
 * and route `subnet via subnet-addr dev flannel.N onlink` — or, with DirectRouting and a peer whose PublicIP
 * the kernel reaches without a gateway on the external interface, only `subnet via PublicIP dev <ext>`.
 * A VtepMAC that two hosts claim (or that is our own) is an error for every lease but the lowest-keyed owner:
 * the FDB holds one remote per MAC.
 *
 * The plan is per address family: IPv4 programs `flannel.<VNI>` from the lease's subnet, `PublicIP` and
 * `BackendData`; IPv6 programs `flannel-v6.<VNI>` from its IPv6 subnet, `PublicIPv6` and `BackendV6Data`.
 *
 * @module
 */
import { formatIp } from "../../ip.ts";
import type { Lease } from "../../subnet/lease.ts";
import { leaseKeyName } from "../../subnet/lease_codec.ts";
import type { PeerState } from "../backend.ts";
import {
  type DesiredFdb,
  type DesiredNeigh,
  type DesiredRoute,
  type DesiredState,
  normalizeMac,
  type ReachLookup,
  screenPeer,
} from "../reconcile/mod.ts";

/** What the vxlan plan needs besides the snapshot. */
export interface VxlanPlanContext {
  /** ifindex of `flannel.<VNI>`. */
  readonly device: number;
  /** ifindex of the external interface. */
  readonly extIndex: number;
  readonly directRouting: boolean;
  /** The kernel's route to each peer's PublicIP (consulted only with DirectRouting). */
  readonly reach: ReachLookup;
  /** Which family to plan (default 4): IPv6 uses the v6 subnet, PublicIPv6 and BackendV6Data. */
  readonly family?: 4 | 6;
}

/** A remote lease reached through the tunnel, before MAC clashes are settled. */
interface Tunnel {
  readonly key: string;
  readonly mac: string;
  readonly publicIp: string;
  readonly dst: string;
  readonly subnetAddr: string;
}

function vtepMac(data: unknown): string | undefined {
  return normalizeMac(
    typeof data === "object" && data !== null ? (data as { VtepMAC?: unknown }).VtepMAC : undefined,
  );
}

/**
 * Which lease owns each VtepMAC: the lowest lease key, so that every agent settles a clash the same way
 * whatever order its snapshot holds.
 */
function macOwners(tunnels: readonly Tunnel[]): Map<string, Tunnel> {
  const owners = new Map<string, Tunnel>();
  for (const t of tunnels) {
    const o = owners.get(t.mac);
    if (!o || t.key < o.key) owners.set(t.mac, t);
  }
  return owners;
}

/**
 * The entries vxlan wants for every remote lease of `snapshot`.
 *
 * @param snapshot every lease, ours included, keyed by lease key
 * @param own our lease (skipped)
 * @param ctx devices and DirectRouting reachability
 * @returns routes, neighbours, FDB entries and per-peer states
 * @example
 * ```ts ignore
 * const desired = planVxlan(manager.snapshot, manager.lease, { device: 5, extIndex: 2, directRouting: false, reach: () => undefined });
 * ```
 */
export function planVxlan(
  snapshot: ReadonlyMap<string, Lease>,
  own: Lease,
  ctx: VxlanPlanContext,
): DesiredState {
  const ownKey = leaseKeyName(own);
  const family = ctx.family ?? 4;
  const routes: DesiredRoute[] = [];
  const peers = new Map<string, PeerState>();
  const tunnels: Tunnel[] = [];
  for (const [key, lease] of snapshot) {
    if (key === ownKey) continue;
    const screened = screenPeer(lease, family, {
      backendType: "vxlan",
      otherType: "this node only tunnels to vxlan peers",
      perFamily: "this node's vxlan programs",
    });
    if ("state" in screened) {
      peers.set(key, screened);
      continue;
    }
    const { part, publicIp, dst } = screened;
    if (ctx.directRouting) {
      const reach = ctx.reach(publicIp);
      if (reach?.kind === "direct" && reach.oif === ctx.extIndex) {
        routes.push({ dst, gateway: publicIp, oif: ctx.extIndex, onlink: false, peer: key });
        peers.set(key, { state: "programmed", via: "direct" });
        continue;
      }
    }
    const mac = vtepMac(part.data);
    if (!mac) {
      peers.set(key, {
        state: "error",
        reason: `the lease's ${family === 4 ? "BackendData" : "BackendV6Data"} has no valid VtepMAC`,
      });
      continue;
    }
    tunnels.push({ key, mac, publicIp, dst, subnetAddr: formatIp(part.subnet.addr) });
  }

  const neighs: DesiredNeigh[] = [];
  const fdbs: DesiredFdb[] = [];
  const ownMac = vtepMac(family === 4 ? own.attrs.backendData : own.attrs.backendV6Data);
  const owners = macOwners(tunnels);
  const forwarded = new Set<string>();
  for (const t of tunnels) {
    const owner = owners.get(t.mac)!;
    const clash = t.mac === ownMac
      ? "is this node's own VTEP's"
      : owner.publicIp !== t.publicIp
      ? `is also claimed by lease ${owner.key} (PublicIP ${owner.publicIp})`
      : undefined;
    if (clash) {
      // The FDB maps one MAC to one remote VTEP: installing both would have each run overwrite the other's
      // entry, and traffic for one of the subnets would go to the wrong host.
      peers.set(t.key, {
        state: "error",
        reason: `VtepMAC ${t.mac} ${clash}, so nothing is installed for it`,
      });
      continue;
    }
    neighs.push({ index: ctx.device, dst: t.subnetAddr, lladdr: t.mac, peer: t.key });
    // Leases of one host that share its MAC share one FDB entry.
    if (!forwarded.has(t.mac)) {
      forwarded.add(t.mac);
      fdbs.push({ index: ctx.device, lladdr: t.mac, dst: t.publicIp, peer: t.key });
    }
    routes.push({ dst: t.dst, gateway: t.subnetAddr, oif: ctx.device, onlink: true, peer: t.key });
    peers.set(t.key, { state: "programmed", via: "tunnel" });
  }
  return { routes, neighs, fdbs, peers };
}
