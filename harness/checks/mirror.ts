/**
 * Kernel state compared across nodes as mirror images (the interop check "our node holds what upstream builds
 * on its node, mirrored"): each node's readings (`ip -d -j link`, addresses, routes into the pod network,
 * PERMANENT neighbours, FDB entries with a remote) have the node's own values replaced by `<self-…>`
 * placeholders and its peer's by `<peer-…>`, volatile fields (ifindex, counters, lifetimes) dropped, and are then
 * compared field by field. Pure: the runner reads the kernel, this module masks and compares.
 *
 * @module
 */
import { netWithin, parseCidr } from "../../agent/ip.ts";

/** What identifies a node in kernel readings. */
export interface NodeValues {
  /** `10.244.3.0/24` */
  readonly subnet: string;
  /** The lease's PublicIP. */
  readonly publicIp: string;
  /** The VTEP MAC (vxlan), when the lease carries one. */
  readonly vtepMac?: string;
}

/** One node's raw readings. */
export interface KernelReadings {
  /** `ip -d -j link show <dev>` (empty when there is no device, as with host-gw). */
  readonly link: readonly Record<string, unknown>[];
  /** `ip -4 -j addr show dev <dev>`. */
  readonly addrs: readonly Record<string, unknown>[];
  /** `ip -d -j route show table main`. */
  readonly routes: readonly Record<string, unknown>[];
  /** `ip -d -j neigh show`. */
  readonly neighs: readonly Record<string, unknown>[];
  /** `bridge -j -d fdb show dev <dev>`. */
  readonly fdbs: readonly Record<string, unknown>[];
}

/** A node's masked view, ready for comparison. */
export interface MirrorView {
  readonly link: unknown;
  readonly addrs: unknown;
  readonly routes: readonly string[];
  readonly neighs: readonly string[];
  readonly fdbs: readonly string[];
}

/** Fields that differ between any two nodes and say nothing about flannel's state. */
export const VOLATILE: ReadonlySet<string> = new Set([
  "ifindex",
  "link_index",
  "link_netnsid",
  "stats64",
  "stats",
  "valid_life_time",
  "preferred_life_time",
  "used",
  "updated",
  "confirmed",
  "probes",
]);

/** The placeholder substitutions for one node's values. */
export function substitutions(role: string, v: NodeValues): Map<string, string> {
  const base = v.subnet.split("/")[0]!.split(".").slice(0, 3).join(".");
  const m = new Map<string, string>([
    [v.subnet, `<${role}-subnet>`],
    [`${base}.0`, `<${role}-subnet-addr>`],
    [`${base}.1`, `<${role}-pod-gw>`],
    [`${base}.1/24`, `<${role}-pod-gw/24>`],
    [v.publicIp, `<${role}-ip>`],
  ]);
  if (v.vtepMac) m.set(v.vtepMac.toLowerCase(), `<${role}-vtep-mac>`);
  return m;
}

/** Replaces every string equal to a key of `subst` (deeply). */
export function mask(value: unknown, subst: ReadonlyMap<string, string>): unknown {
  if (typeof value === "string") return subst.get(value) ?? subst.get(value.toLowerCase()) ?? value;
  if (Array.isArray(value)) return value.map((v) => mask(v, subst));
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, mask(v, subst)]));
  }
  return value;
}

/** Drops keys from every object, deeply. */
export function omitKeys(value: unknown, keys: ReadonlySet<string>): unknown {
  if (Array.isArray(value)) return value.map((v) => omitKeys(v, keys));
  if (value && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value).filter(([k]) => !keys.has(k)).map(([k, v]) => [k, omitKeys(v, keys)]),
    );
  }
  return value;
}

/** Whether an IPv4 address or prefix lies inside `network`. */
export function inNetwork(dst: string, network: string): boolean {
  try {
    return netWithin(parseCidr(dst.includes("/") ? dst : `${dst}/32`), parseCidr(network));
  } catch {
    return false; // "default", a name, or an address of the other family's syntax
  }
}

/** Stable JSON (sorted keys), so that equal entries print equally. */
export function stable(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stable).join(",")}]`;
  if (value && typeof value === "object") {
    return `{${
      Object.keys(value).sort().map((k) =>
        `${JSON.stringify(k)}:${stable((value as Record<string, unknown>)[k])}`
      )
        .join(",")
    }}`;
  }
  return JSON.stringify(value);
}

/**
 * A node's view relative to its peer: own values masked as `self`, the peer's as `peer`, entries that mention
 * any other node (`others`) left out.
 *
 * @param r the node's readings
 * @param self the node's values
 * @param peer the peer's values
 * @param others the other nodes' values
 * @param network the pod network (`10.244.0.0/16`)
 */
export function mirrorView(
  r: KernelReadings,
  self: NodeValues,
  peer: NodeValues,
  others: readonly NodeValues[],
  network: string,
): MirrorView {
  // Others first, then the peer, then the node itself: a value shared by two nodes masks as the nearer one.
  const subst = new Map<string, string>();
  for (const o of others) for (const [k, v] of substitutions("other", o)) subst.set(k, v);
  for (const [k, v] of substitutions("peer", peer)) subst.set(k, v);
  for (const [k, v] of substitutions("self", self)) subst.set(k, v);
  const m = (v: unknown) => omitKeys(mask(v, subst), VOLATILE);
  const entries = (xs: readonly unknown[]) =>
    xs.map((x) => stable(m(x))).filter((x) => !x.includes("<other-")).sort();
  return {
    link: m(r.link),
    addrs: m(r.addrs),
    routes: entries(r.routes.filter((x) => typeof x["dst"] === "string" && inNetwork(x["dst"], network))),
    neighs: entries(
      r.neighs.filter((x) => Array.isArray(x["state"]) && (x["state"] as string[]).includes("PERMANENT")),
    ),
    fdbs: entries(r.fdbs.filter((x) => x["dst"] !== undefined)),
  };
}

/** Flattens a value to `path = value` lines. */
function flatten(value: unknown, path = ""): Map<string, string> {
  const out = new Map<string, string>();
  if (value && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) {
      for (const [p, x] of flatten(v, path ? `${path}.${k}` : k)) out.set(p, x);
    }
    if (Object.keys(value).length === 0) out.set(path, Array.isArray(value) ? "[]" : "{}");
  } else {
    out.set(path, JSON.stringify(value));
  }
  return out;
}

/**
 * The differences between two nodes' mirrored views, as lines (empty when they mirror each other).
 *
 * @param a the first node's view
 * @param b the second node's view
 * @param names the nodes' names, for the lines
 */
export function compareMirror(a: MirrorView, b: MirrorView, names: readonly [string, string]): string[] {
  const [na, nb] = names;
  const lines: string[] = [];
  for (const part of ["link", "addrs"] as const) {
    const fa = flatten(a[part]);
    const fb = flatten(b[part]);
    for (const k of new Set([...fa.keys(), ...fb.keys()])) {
      if (fa.get(k) !== fb.get(k)) {
        lines.push(`${part}.${k}: ${na} ${fa.get(k) ?? "(absent)"}, ${nb} ${fb.get(k) ?? "(absent)"}`);
      }
    }
  }
  for (const part of ["routes", "neighs", "fdbs"] as const) {
    const sb = new Set(b[part]);
    const sa = new Set(a[part]);
    for (const x of a[part]) if (!sb.has(x)) lines.push(`${part}: only on ${na}: ${x}`);
    for (const x of b[part]) if (!sa.has(x)) lines.push(`${part}: only on ${nb}: ${x}`);
  }
  return lines;
}

/**
 * The fields of a mirror view that vary with the lease form (used by the lease comparison): the lease value
 * with the node's own values masked.
 *
 * @param value the lease JSON text
 * @param v the node's values
 * @returns the masked JSON text (key order kept)
 */
export function maskLease(value: string, v: NodeValues): string {
  const subst = new Map([...substitutions("self", v)].map(([k, x]) => [k, x.replace("self-", "")]));
  return JSON.stringify(mask(JSON.parse(value), subst));
}
