/**
 * Kernel state as structured diffs (pure). The expected routes, neighbours, FDB entries and vxlan device
 * attributes of a node come from the leases in etcd through the agent's own pure plan functions
 * (`planVxlan`, `planHostGw`); the observed state is read from `ip -j` / `bridge -j` output; the comparison
 * yields missing / extra / different entries, each named by its key.
 *
 * The plans speak ifindex numbers; the harness gives the vxlan device and the external interface symbolic
 * indexes ({@linkcode DEVICE_INDEX}, {@linkcode EXT_INDEX}) and maps them back to names, so nothing here needs
 * the node's real ifindexes.
 *
 * @module
 */
import { planVxlan } from "../../agent/backend/vxlan/mod.ts";
import { KERNEL_VXLAN_PORT } from "../../agent/config/mod.ts";
import { formatCidr, formatIp, netContains, parseCidr, parseIp } from "../../agent/ip.ts";
import type { Lease } from "../../agent/subnet/lease.ts";
import { decodeLeaseAttrs, leaseKeyName, parseLeaseKey } from "../../agent/subnet/lease_codec.ts";
import { type DesiredState, normalizeMac, type PeerReach } from "../../agent/backend/reconcile/mod.ts";
import { planHostGw } from "../../agent/backend/hostgw/mod.ts";

/** The symbolic ifindex of `flannel.<VNI>` handed to the plans. */
export const DEVICE_INDEX = 1_000_001;
/** The symbolic ifindex of the agent's external interface handed to the plans. */
export const EXT_INDEX = 1_000_002;

/** One kernel entry, comparable: its identity (`key`) and what it says (`value`). */
export interface Entry {
  readonly kind: "route" | "neigh" | "fdb" | "device";
  readonly key: string;
  readonly value: string;
  /** The lease key this entry serves, when known (expected entries). */
  readonly peer?: string;
}

/** A structured difference. */
export interface StateDiff {
  readonly missing: readonly Entry[];
  readonly extra: readonly Entry[];
  readonly different: readonly { readonly expected: Entry; readonly actual: Entry }[];
}

/** What the expected state is computed from. */
export interface ExpectInput {
  readonly backend: string;
  readonly vni: number;
  readonly port: number;
  readonly directRouting: boolean;
  /** The network (`10.244.0.0/16`). */
  readonly network: string;
  /** The node's lease key (`10.244.5.0-24`). */
  readonly ownKey: string;
  /** The agent's interface on the node. */
  readonly extName: string;
  /** Every lease in etcd, keyed by lease key. */
  readonly leases: ReadonlyMap<string, Lease>;
  /** How the node's kernel reaches each PublicIP (`ip route get`), already mapped to EXT_INDEX where it is the ext. */
  readonly reach: (publicIp: string) => PeerReach | undefined;
  /** The MTU the device should have (underlay MTU − the agent's `VXLAN_OVERHEAD`), when known. */
  readonly deviceMtu?: number;
}

/** The expected state and the per-peer verdicts of the plan (errors, ignored peers). */
export interface Expected {
  readonly entries: readonly Entry[];
  readonly notes: readonly string[];
}

/**
 * Builds a lease snapshot from etcd key/value pairs (`etcdctl get -w json`, keys and values already decoded).
 *
 * @param kvs keys (full paths) and JSON values
 * @returns leases keyed by lease key name; undecodable entries are skipped
 */
export function leasesFromKvs(kvs: readonly { key: string; value: string }[]): Map<string, Lease> {
  const out = new Map<string, Lease>();
  for (const kv of kvs) {
    const subnets = parseLeaseKey(kv.key.slice(kv.key.lastIndexOf("/") + 1));
    if (!subnets) continue;
    try {
      const attrs = decodeLeaseAttrs(kv.value);
      const lease = { ...subnets, attrs, etcdLeaseId: "0", revision: 0n } as Lease;
      out.set(leaseKeyName(subnets), lease);
    } catch {
      // not a lease this harness can read: the leases step reports it
    }
  }
  return out;
}

function devName(index: number, vni: number, ext: string): string {
  return index === DEVICE_INDEX ? `flannel.${vni}` : index === EXT_INDEX ? ext : `ifindex ${index}`;
}

function fromDesired(d: DesiredState, vni: number, ext: string): Entry[] {
  const out: Entry[] = [];
  for (const r of d.routes) {
    out.push({
      kind: "route",
      key: r.dst,
      value: `via ${r.gateway} dev ${devName(r.oif, vni, ext)}${r.onlink ? " onlink" : ""}`,
      peer: r.peer,
    });
  }
  for (const n of d.neighs) {
    out.push({
      kind: "neigh",
      key: `${n.dst} dev ${devName(n.index, vni, ext)}`,
      value: `lladdr ${n.lladdr} PERMANENT`,
      peer: n.peer,
    });
  }
  for (const f of d.fdbs) {
    out.push({
      kind: "fdb",
      key: `${f.lladdr} dev ${devName(f.index, vni, ext)}`,
      value: `dst ${f.dst} self permanent`,
      peer: f.peer,
    });
  }
  return out;
}

/**
 * The entries a node must hold for the leases: the agent's own plan for vxlan and host-gw; for udp the one
 * route `<Network> dev flannel0` (upstream's udp design: every remote pod address goes to the proxy).
 *
 * @param input backend, the node's lease and interface, every lease, reachability
 * @returns the expected entries, sorted, and the plan's notes (peers in error or ignored)
 */
export function expectedState(input: ExpectInput): Expected {
  const own = input.leases.get(input.ownKey);
  const notes: string[] = [];
  let entries: Entry[] = [];
  if (input.backend === "udp") {
    entries = [{ kind: "route", key: formatCidr(parseCidr(input.network)), value: "dev flannel0" }];
  } else if (!own) {
    notes.push(`no lease ${input.ownKey} in etcd: expected state unknown`);
  } else {
    const desired = input.backend === "host-gw"
      ? planHostGw(input.leases, own, { extIndex: EXT_INDEX, extName: input.extName, reach: input.reach })
      : planVxlan(input.leases, own, {
        device: DEVICE_INDEX,
        extIndex: EXT_INDEX,
        directRouting: input.directRouting,
        reach: input.reach,
      });
    entries = fromDesired(desired, input.vni, input.extName);
    for (const [key, p] of desired.peers) {
      if (p.state !== "programmed") notes.push(`peer ${key}: ${p.state}: ${p.reason}`);
    }
    if (input.backend === "vxlan" && own.attrs.backendData) {
      const data = own.attrs.backendData as { VtepMAC?: unknown };
      const mac = normalizeMac(data.VtepMAC);
      const attrs = [
        `vni ${input.vni}`,
        `port ${input.port || KERNEL_VXLAN_PORT}`,
        `local ${formatIp(own.attrs.publicIp)}`,
        `dev ${input.extName}`,
        `nolearning`,
        ...(input.deviceMtu !== undefined ? [`mtu ${input.deviceMtu}`] : []),
        ...(mac ? [`address ${mac}`] : []),
      ];
      entries.push({ kind: "device", key: `flannel.${input.vni}`, value: attrs.join(" ") });
    }
  }
  return { entries: sortEntries(entries), notes };
}

function sortEntries(e: Entry[]): Entry[] {
  const order = { device: 0, route: 1, neigh: 2, fdb: 3 };
  return e.sort((a, b) => order[a.kind] - order[b.kind] || a.key.localeCompare(b.key));
}

/**
 * Compares expected and actual entries by kind and key.
 *
 * @param expected what the leases call for
 * @param actual what the kernel holds (already limited to what the agent owns)
 * @returns missing, extra and different entries
 * @example
 * ```ts
 * import { diffState } from "./kernel_state.ts";
 * const d = diffState(
 *   [{ kind: "route", key: "10.244.5.0/24", value: "via 10.244.5.0 dev flannel.1 onlink" }],
 *   [{ kind: "route", key: "10.244.5.0/24", value: "via 192.168.1.2 dev eth1" }],
 * );
 * console.assert(d.different.length === 1);
 * ```
 */
export function diffState(expected: readonly Entry[], actual: readonly Entry[]): StateDiff {
  const id = (e: Entry) => `${e.kind} ${e.key}`;
  const act = new Map<string, Entry[]>();
  for (const a of actual) act.set(id(a), [...(act.get(id(a)) ?? []), a]);
  const exp = new Set(expected.map(id));
  const missing: Entry[] = [];
  const extra: Entry[] = [];
  const different: { expected: Entry; actual: Entry }[] = [];
  for (const e of expected) {
    const list = act.get(id(e)) ?? [];
    const same = list.findIndex((a) => sameValue(e, a));
    if (same >= 0) list.splice(same, 1);
    else if (list.length) different.push({ expected: e, actual: list.shift()! });
    else missing.push(e);
    if (list.length) extra.push(...list);
    act.delete(id(e));
  }
  for (const [k, list] of act) if (!exp.has(k)) extra.push(...list);
  return { missing, extra, different };
}

/** Device attributes compare as a set of words (the order `ip` prints them in does not matter). */
function sameValue(e: Entry, a: Entry): boolean {
  if (e.kind !== "device") return e.value === a.value;
  const have = new Set(a.value.split(" "));
  const words = e.value.split(/ (?=[a-z])/);
  return words.every((w) => w.split(" ").every((x) => have.has(x)));
}

/** The diff as lines: `missing   route 10.244.5.0/24 via …`. */
export function formatDiff(d: StateDiff): string[] {
  const f = (e: Entry) => `${e.kind} ${e.key} ${e.value}`;
  return [
    ...d.missing.map((e) => `missing:   ${f(e)}`),
    ...d.extra.map((e) => `extra:     ${f(e)}`),
    ...d.different.map((x) => `different: ${f(x.actual)}  (expected: ${x.expected.value})`),
  ];
}

/** Whether a diff is empty. */
export function diffEmpty(d: StateDiff): boolean {
  return d.missing.length + d.extra.length + d.different.length === 0;
}

/** Whether a route's destination (a prefix, or a bare address) lies inside a network. */
function inNet(cidr: string, net: string): boolean {
  try {
    const n = parseCidr(net);
    const c = cidr.includes("/") ? parseCidr(cidr) : parseCidr(`${cidr}/32`);
    return c.prefixLen >= n.prefixLen && netContains(n, c.addr);
  } catch {
    return false;
  }
}

/** `ip -j route`, `ip -j neigh`, `bridge -j fdb` and `ip -d -j link` rows as far as they are read here. */
export interface KernelDump {
  readonly routes: readonly { dst: string; gateway?: string; dev?: string; flags?: string[] }[];
  readonly neighs: readonly { dst: string; dev?: string; lladdr?: string; state?: string[] }[];
  readonly fdbs: readonly { mac: string; dev?: string; dst?: string; flags?: string[]; state?: string }[];
  readonly device?: {
    ifname: string;
    mtu?: number;
    address?: string;
    linkinfo?: { info_data?: Record<string, unknown> };
    link?: string;
  };
}

/**
 * What the agent owns in a dump, as entries: routes into the pod network other than the node's own subnet (and
 * the udp network route), neighbours and `self` FDB entries with a remote on the vxlan device, and the device.
 *
 * @param dump the parsed `ip -j` output
 * @param ctx the network, the node's own subnet and the vxlan device name
 * @returns entries comparable with {@linkcode expectedState}'s
 */
export function observedState(
  dump: KernelDump,
  ctx: { network: string; ownSubnet?: string; vni: number; extName: string },
): Entry[] {
  const out: Entry[] = [];
  const dev = `flannel.${ctx.vni}`;
  const own = ctx.ownSubnet ? formatCidr(parseCidr(ctx.ownSubnet)) : undefined;
  for (const r of dump.routes) {
    if (r.dst === "default" || !inNet(r.dst, ctx.network)) continue;
    const dst = r.dst.includes("/") ? r.dst : `${r.dst}/32`;
    if (dst === own) continue;
    const onlink = (r.flags ?? []).includes("onlink");
    out.push({
      kind: "route",
      key: dst,
      value: `${r.gateway ? `via ${r.gateway} ` : ""}dev ${r.dev}${onlink ? " onlink" : ""}`,
    });
  }
  for (const n of dump.neighs) {
    if (n.dev !== dev || !n.lladdr) continue;
    out.push({
      kind: "neigh",
      key: `${n.dst} dev ${dev}`,
      value: `lladdr ${n.lladdr.toLowerCase()} ${(n.state ?? []).join(",")}`,
    });
  }
  for (const f of dump.fdbs) {
    if (f.dev !== dev || !f.dst) continue;
    const flags = f.flags ?? [];
    out.push({
      kind: "fdb",
      key: `${f.mac.toLowerCase()} dev ${dev}`,
      value: `dst ${f.dst}${flags.includes("self") || !flags.includes("master") ? " self" : ""} ${
        f.state ?? ""
      }`.trim(),
    });
  }
  const d = dump.device;
  if (d) {
    const info = d.linkinfo?.info_data ?? {};
    const words = [
      `vni ${info["id"]}`,
      `port ${info["port"]}`,
      `local ${info["local"]}`,
      ...(typeof info["link"] === "string" ? [`dev ${info["link"]}`] : d.link ? [`dev ${d.link}`] : []),
      info["learning"] ? "learning" : "nolearning",
      `mtu ${d.mtu}`,
      `address ${d.address}`,
    ];
    out.push({ kind: "device", key: d.ifname, value: words.join(" ") });
  }
  return sortEntries(out);
}

/** Reads a PublicIP's reachability from `ip -j route get` output, mapping the ext interface to EXT_INDEX. */
export function reachFromRouteGet(
  rows: readonly { dev?: string; gateway?: string }[],
  extName: string,
): PeerReach {
  const r = rows[0];
  if (!r?.dev) return { kind: "unreachable", reason: "no route" };
  const oif = r.dev === extName ? EXT_INDEX : 1;
  return r.gateway ? { kind: "gateway", oif, gateway: r.gateway } : { kind: "direct", oif };
}

/** The lease key of a CIDR (`10.244.5.1/24` → `10.244.5.0-24`). */
export function leaseKeyOf(cidr: string): string {
  const n = parseCidr(cidr);
  return leaseKeyName({ subnet: n });
}

/** Whether text is an IPv4 address. */
export function isIp(text: string): boolean {
  try {
    parseIp(text);
    return true;
  } catch {
    return false;
  }
}
