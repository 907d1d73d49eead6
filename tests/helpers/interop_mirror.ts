/**
 * Kernel state, firewall and subnet.env of an interop lab's nodes, "mirrored": every value that identifies a node
 * (its subnet, pod gateway, address, VTEP MAC) becomes a placeholder, the node's own as `<self-…>` and its peer's
 * as `<peer-…>`, so that what ours builds for upstream and what upstream builds for ours compare with
 * `assert.deepEqual`. Volatile fields (ifindex, counters, lifetimes) are dropped; entries that mention a third
 * node are left out.
 *
 * @module
 */
import { run } from "../../cli/process/mod.ts";
import { inNetwork, mask, omitKeys, VOLATILE } from "../../harness/checks/mod.ts";
import type { InteropLab, InteropNode } from "./upstream.ts";

/** `iptables-save` of one table in a node, without the comment/counter lines. */
export async function iptablesSave(n: InteropNode, table: "nat" | "filter"): Promise<string[]> {
  const { stdout } = await n.node.ns.exec(["iptables-save", "-t", table]);
  return stdout.split("\n").filter((l) => l && !l.startsWith("#") && !l.startsWith(":") && l !== "COMMIT");
}

/** Runs a command in a node and parses its JSON output (`[]` for empty output). */
export async function nodeJson<T = Record<string, unknown>[]>(
  n: InteropNode,
  command: readonly string[],
): Promise<T> {
  const { stdout } = await run(["ip", "netns", "exec", n.node.ns.name, ...command]);
  return JSON.parse(stdout || "[]") as T;
}

/** The values that identify a node in kernel readings, for {@linkcode mirrorMap}. */
export async function nodeValues(n: InteropNode): Promise<Map<string, string>> {
  const base = n.subnet.slice(0, n.subnet.lastIndexOf("."));
  const values = new Map([
    [n.subnet, "subnet"],
    [n.subnetAddr, "subnet-addr"],
    [`${base}.1`, "pod-gw"],
    [`${base}.1/24`, "pod-gw/24"],
    [n.podIp, "pod"],
    [n.node.ip, "ip"],
  ]);
  // The VTEP MAC of flannel.<VNI>, whatever the VNI.
  const vteps = await n.node.ns.ipJson<{ ifname: string; address: string }[]>([
    "link",
    "show",
    "type",
    "vxlan",
  ]);
  const vtep = vteps.find((l) => l.ifname.startsWith("flannel."));
  if (vtep) values.set(vtep.address, "vtep-mac");
  return values;
}

/**
 * The substitutions that make `self`'s readings comparable with its mirror image: `self`'s values become
 * `<self-…>`, `peer`'s `<peer-…>`, and every other node's `<other-…>` (entries mentioning another node are
 * then dropped by {@linkcode kernelView}).
 */
export async function mirrorMap(
  lab: InteropLab,
  self: InteropNode,
  peer: InteropNode,
): Promise<Map<string, string>> {
  const subst = new Map<string, string>();
  for (const n of lab.nodes) {
    const role = n === self ? "self" : n === peer ? "peer" : "other";
    for (const [value, name] of await nodeValues(n)) subst.set(value, `<${role}-${name}>`);
  }
  return subst;
}

/**
 * One node's kernel state as seen from its relation to `peer`, mirrored ({@linkcode mirrorMap}), for
 * `assert.deepEqual` against the peer's view of it: the flannel device (`ip -d link`, its IPv4 addresses, its
 * `accept_ra`), the main-table routes inside `network`, PERMANENT neighbours, and FDB entries with a remote
 * (`dst`) on the device. Entries that mention a third node are left out.
 */
export async function kernelView(
  lab: InteropLab,
  self: InteropNode,
  peer: InteropNode,
  options: { readonly device?: string; readonly network: string },
): Promise<Record<string, unknown>> {
  const subst = await mirrorMap(lab, self, peer);
  const m = (v: unknown) => omitKeys(mask(v, subst), VOLATILE);
  const noOther = (v: unknown) => !JSON.stringify(v).includes("<other-");
  // The kernel lists entries by address, and the mirrored placeholders sort differently on each node.
  const sorted = (xs: unknown[]) => xs.sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
  const ns = self.node.ns;
  const view: Record<string, unknown> = {};
  if (options.device) {
    const dev = options.device;
    view.link = m(await ns.ipJson(["-d", "link", "show", dev]));
    view.addrs = m(await ns.ipJson(["-4", "addr", "show", "dev", dev]));
    view.acceptRa = (await ns.exec(["cat", `/proc/sys/net/ipv6/conf/${dev}/accept_ra`])).stdout.trim();
    const { stdout } = await ns.exec(["bridge", "-j", "-d", "fdb", "show", "dev", dev]);
    view.fdbs = sorted(
      (m(JSON.parse(stdout || "[]")) as { dst?: string }[]).filter((f) => f.dst && noOther(f)),
    );
  }
  const routes = await ns.ipJson<{ dst: string }[]>(["-d", "route", "show", "table", "main"]);
  view.routes = sorted(
    (m(routes.filter((r) => inNetwork(r.dst, options.network))) as unknown[]).filter(noOther),
  );
  const neighs = await ns.ipJson<{ state?: string[] }[]>(["-d", "neigh", "show"]);
  view.neighs = sorted(
    (m(neighs.filter((x) => x.state?.includes("PERMANENT"))) as unknown[]).filter(noOther),
  );
  return view;
}

/** Replaces every occurrence of each key of `subst` in `text` (longest first). */
export function mirrorText(text: string, subst: ReadonlyMap<string, string>): string {
  const keys = [...subst.keys()].sort((a, b) => b.length - a.length);
  let out = text;
  for (const k of keys) out = out.split(k).join(subst.get(k)!);
  return out;
}

/** A node's subnet.env and iptables, mirrored, split into the parts the comparison treats differently. */
export interface FirewallView {
  readonly subnetEnv: string;
  readonly subnetEnvMode: number;
  /** `-A FLANNEL-POSTRTG …` and `-A FLANNEL-FWD …` lines, in order. */
  readonly chains: readonly string[];
  /** The jump lines into those chains. */
  readonly jumps: readonly string[];
  /** Every `-A POSTROUTING` / `-A FORWARD` line, in order (for the jump's position). */
  readonly builtins: readonly string[];
}

/** Reads a node's {@linkcode FirewallView}. */
export async function firewallView(n: InteropNode): Promise<FirewallView> {
  const subst = new Map([...await nodeValues(n)].map(([v, name]) => [v, `<${name}>`]));
  const lines = [...await iptablesSave(n, "nat"), ...await iptablesSave(n, "filter")].map((l) =>
    mirrorText(l, subst)
  );
  const path = `${n.node.dir}/subnet.env`;
  return {
    subnetEnv: mirrorText(await Deno.readTextFile(path), subst),
    subnetEnvMode: (await Deno.stat(path)).mode! & 0o777,
    chains: lines.filter((l) => /^-A FLANNEL-(POSTRTG|FWD) /.test(l)),
    jumps: lines.filter((l) => /^-A (POSTROUTING|FORWARD) .*-j FLANNEL-/.test(l)),
    builtins: lines.filter((l) => /^-A (POSTROUTING|FORWARD) /.test(l)),
  };
}
