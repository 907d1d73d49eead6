/**
 * The desired kernel state of a route-based backend, as plain data (pure): the routes, ARP entries and FDB
 * entries that should exist on our devices, each tagged with the peer lease it serves, plus what became of
 * every peer lease (programmed, ignored, or in error and why).
 *
 * Addresses are text as the netlink layer takes them ("10.42.7.0", "10.42.7.0/24"), MACs lower-case colon
 * form, devices ifindex numbers.
 *
 * @module
 */
import { formatCidr, formatIp, type IpAddr, type IpNet } from "../../ip.ts";
import type { Lease } from "../../subnet/lease.ts";
import type { PeerState } from "../backend.ts";

/** A route in the main table that should exist. */
export interface DesiredRoute {
  readonly dst: string;
  readonly gateway: string;
  readonly oif: number;
  readonly onlink: boolean;
  /** The lease key (`10.42.7.0-24`) this entry serves. */
  readonly peer: string;
}

/** A permanent ARP entry that should exist. */
export interface DesiredNeigh {
  readonly index: number;
  readonly dst: string;
  readonly lladdr: string;
  readonly peer: string;
}

/** A permanent `self` FDB entry (vxlan remote) that should exist. */
export interface DesiredFdb {
  readonly index: number;
  readonly lladdr: string;
  readonly dst: string;
  readonly peer: string;
}

/** Everything a backend wants in the kernel for one lease snapshot. */
export interface DesiredState {
  readonly routes: readonly DesiredRoute[];
  readonly neighs: readonly DesiredNeigh[];
  readonly fdbs: readonly DesiredFdb[];
  /** Every remote lease of the snapshot, keyed by lease key, with what the plan made of it. */
  readonly peers: ReadonlyMap<string, PeerState>;
}

/**
 * How the kernel reaches a peer's PublicIP, resolved before planning (`ip route get`): directly on an
 * interface, through a gateway, or not at all.
 */
export type PeerReach =
  | { readonly kind: "direct"; readonly oif: number }
  | { readonly kind: "gateway"; readonly oif: number; readonly gateway: string }
  | { readonly kind: "unreachable"; readonly reason: string };

/** Looks a PublicIP up in the resolved reachability; `undefined` when it was not resolved. */
export type ReachLookup = (publicIp: string) => PeerReach | undefined;

/**
 * Parses a VTEP MAC the way Go's `net.ParseMAC` accepts a 6-byte one (`:`, `-` or `.` forms) and returns it
 * in lower-case colon form, or `undefined` when it is not one.
 *
 * @example
 * ```ts
 * import { normalizeMac } from "./desired.ts";
 * normalizeMac("72-24-08-C1-71-25"); // "72:24:08:c1:71:25"
 * ```
 */
export function normalizeMac(text: unknown): string | undefined {
  if (typeof text !== "string") return undefined;
  let hex: string | undefined;
  if (/^[0-9a-fA-F]{2}([:-])[0-9a-fA-F]{2}(\1[0-9a-fA-F]{2}){4}$/.test(text)) {
    hex = text.replace(/[:-]/g, "");
  } else if (/^[0-9a-fA-F]{4}\.[0-9a-fA-F]{4}\.[0-9a-fA-F]{4}$/.test(text)) {
    hex = text.replace(/\./g, "");
  }
  if (!hex) return undefined;
  return hex.toLowerCase().match(/../g)!.join(":");
}

/**
 * A route's identity in the main table, for diffing. Our routes carry no metric; the kernel gives an IPv6 route
 * sent without one the metric 1024 (IP6_RT_PRIO_USER), so that is what "none" means for IPv6.
 */
export function routeKey(r: { readonly dst: string; readonly priority?: number | undefined }): string {
  return `${r.dst}#${r.priority ?? (r.dst.includes(":") ? IP6_RT_PRIO_USER : 0)}`;
}

/** The metric the kernel gives an IPv6 route added without one. */
export const IP6_RT_PRIO_USER = 1024;

/** An FDB entry's identity: one remote of one MAC. */
export function fdbKey(
  f: { readonly lladdr?: string | undefined; readonly dst?: string | undefined },
): string {
  return `${f.lladdr} ${f.dst}`;
}

/**
 * A plan indexed by entry identity: what event matching compares against, and, once the plan is known to be
 * in the kernel, what the next plan is diffed against without dumping the kernel again.
 */
export interface PlanIndex {
  /** By {@linkcode routeKey}. */
  readonly routes: ReadonlyMap<string, DesiredRoute>;
  /** By destination address. */
  readonly neighs: ReadonlyMap<string, DesiredNeigh>;
  /** By {@linkcode fdbKey}. */
  readonly fdbs: ReadonlyMap<string, DesiredFdb>;
}

/** The index of a plan with no entries. */
export const EMPTY_PLAN: PlanIndex = { routes: new Map(), neighs: new Map(), fdbs: new Map() };

/**
 * Indexes a plan by entry identity.
 *
 * @example
 * ```ts
 * import { indexPlan } from "./desired.ts";
 * const route = { dst: "10.5.7.0/24", gateway: "10.5.7.0", oif: 5, onlink: true, peer: "10.5.7.0-24" };
 * indexPlan({ routes: [route], neighs: [], fdbs: [], peers: new Map() }).routes.get("10.5.7.0/24#0"); // route
 * ```
 */
export function indexPlan(desired: DesiredState): PlanIndex {
  return {
    routes: new Map(desired.routes.map((r) => [routeKey(r), r] as const)),
    neighs: new Map(desired.neighs.map((n) => [n.dst, n] as const)),
    fdbs: new Map(desired.fdbs.map((f) => [fdbKey(f), f] as const)),
  };
}

/**
 * Merges the per-family peer states of a dual-stack plan into one state per lease: an error in either family
 * wins (its reason says which family), then programmed (a lease without a part in one family is programmed
 * in the other), then ignored.
 *
 * @example
 * ```ts
 * import { mergePeerStates } from "./desired.ts";
 * const v4 = new Map([["a", { state: "programmed", via: "tunnel" } as const]]);
 * const v6 = new Map([["a", { state: "error", reason: "no VtepMAC" } as const]]);
 * mergePeerStates([[4, v4], [6, v6]]).get("a"); // { state: "error", reason: "IPv6: no VtepMAC" }
 * ```
 */
export function mergePeerStates(
  families: readonly (readonly [4 | 6, ReadonlyMap<string, PeerState>])[],
): ReadonlyMap<string, PeerState> {
  if (families.length === 1) return families[0]![1];
  const rank = { error: 0, programmed: 1, ignored: 2 } as const;
  const out = new Map<string, PeerState>();
  for (const [family, peers] of families) {
    for (const [key, state] of peers) {
      const s: PeerState = state.state === "error"
        ? { state: "error", reason: `IPv${family}: ${state.reason}` }
        : state;
      const prior = out.get(key);
      if (!prior || rank[s.state] < rank[prior.state]) out.set(key, s);
      else if (prior.state === "error" && s.state === "error") {
        out.set(key, { state: "error", reason: `${prior.reason}; ${s.reason}` });
      }
    }
  }
  return out;
}

/**
 * The parts of a lease one family's plan uses — IPv4: subnet, PublicIP (`undefined` for `0.0.0.0`),
 * BackendData; IPv6: IPv6 subnet, PublicIPv6, BackendV6Data — or `undefined` when the lease has no such part.
 */
export function leaseFamilyPart(
  lease: Lease,
  family: 4 | 6,
): { subnet: IpNet; publicIp: IpAddr | undefined; data: unknown } | undefined {
  if (family === 4) {
    return lease.subnet
      ? {
        subnet: lease.subnet,
        publicIp: lease.attrs.publicIp.value === 0n ? undefined : lease.attrs.publicIp,
        data: lease.attrs.backendData,
      }
      : undefined;
  }
  return lease.ipv6Subnet
    ? { subnet: lease.ipv6Subnet, publicIp: lease.attrs.publicIpv6, data: lease.attrs.backendV6Data }
    : undefined;
}

/** How a backend words why it passes a peer by (the rest of each message is shared). */
export interface PeerWording {
  /** The backend type a peer must publish: `vxlan`, `host-gw`. */
  readonly backendType: string;
  /** Why another type is passed by: "this node only tunnels to vxlan peers". */
  readonly otherType: string;
  /** What the node does per family: "this node's vxlan programs". */
  readonly perFamily: string;
}

/** A remote lease this family's plan can program: its subnet and PublicIP, as text too. */
export interface PlannablePeer {
  readonly part: { subnet: IpNet; publicIp: IpAddr; data: unknown };
  readonly publicIp: string;
  readonly dst: string;
}

/**
 * The checks every kernel backend makes before programming a peer: the peer's backend type, that the lease has
 * this family's part, and that it carries a PublicIP. Returns the peer's state when it cannot be programmed.
 */
export function screenPeer(lease: Lease, family: 4 | 6, wording: PeerWording): PlannablePeer | PeerState {
  const type = lease.attrs.backendType;
  if (type !== wording.backendType) {
    return {
      state: "ignored",
      reason: `backend type "${type ?? "udp"}" is not ${wording.backendType}: ${wording.otherType}`,
    };
  }
  const part = leaseFamilyPart(lease, family);
  if (!part) {
    return {
      state: "ignored",
      reason: family === 4
        ? `IPv6-only lease: ${wording.perFamily} IPv4`
        : `IPv4-only lease: ${wording.perFamily} IPv6`,
    };
  }
  if (!part.publicIp) {
    return {
      state: "error",
      reason: family === 4
        ? "the lease has no IPv4 PublicIP (0.0.0.0)"
        : "the lease has an IPv6 subnet but no PublicIPv6",
    };
  }
  return {
    part: { ...part, publicIp: part.publicIp },
    publicIp: formatIp(part.publicIp),
    dst: formatCidr(part.subnet),
  };
}
