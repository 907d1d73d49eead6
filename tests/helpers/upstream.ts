/**
 * Upstream flanneld v0.28.9 beside our agent, for the interop tests: start it in a node namespace of a
 * `harness/mini_lab.ts` lab (its log in the node's directory), build a two-node lab with one agent of each
 * kind and a pod per node, and read kernel state in a form that can be compared across nodes ("mirrored":
 * the node's own values and its peer's values replaced by placeholders).
 *
 * Every namespace made here is deleted when the returned lab is disposed, also when a step fails.
 *
 * @module
 */
import assert from "node:assert/strict";
import { type MiniLab, type MiniNode, readIfExists, startMiniLab, waitFor } from "../../harness/mini_lab.ts";
import { Netns } from "../../harness/netns.ts";
import { type Process, run, spawn } from "../../harness/process.ts";
import { ensureFlanneld } from "../../harness/upstream/mod.ts";
import { uniqueName } from "./tmpdir.ts";

export { readIfExists, waitFor };

/** Which agent runs on a node. */
export type AgentKind = "ours" | "upstream";

/** The log file of a node's agent of this kind. */
export function agentLogPath(node: MiniNode, kind: AgentKind): string {
  return `${node.dir}/${kind === "ours" ? "agent" : "flanneld"}.log`;
}

/**
 * Starts upstream flanneld in a node's namespace with the same connection flags `lab.startAgent` gives ours
 * (`--etcd-endpoints --etcd-prefix --iface=eth1 --subnet-file=<node dir>/subnet.env`) plus `flags`; its
 * output goes to `<node dir>/flanneld.log`. The lab's disposal kills it with the namespace; callers that stop
 * it earlier use the returned process.
 *
 * @param lab the mini lab
 * @param node the node to run it on
 * @param flags extra flanneld flags, e.g. `["--ip-masq"]`
 * @returns the running process
 * @example
 * ```ts ignore
 * const proc = await startUpstreamAgent(lab, lab.nodes[1]!, ["--ip-masq"]);
 * ```
 */
export async function startUpstreamAgent(
  lab: MiniLab,
  node: MiniNode,
  flags: readonly string[] = [],
): Promise<Process> {
  const flanneld = await ensureFlanneld();
  return await node.ns.spawn([
    flanneld.path,
    `--etcd-endpoints=${lab.etcd.endpoint}`,
    `--etcd-prefix=${lab.etcdPrefix}`,
    "--iface=eth1",
    `--subnet-file=${node.dir}/subnet.env`,
    ...flags,
  ], { logFile: agentLogPath(node, "upstream"), graceMs: 5000 });
}

/** A node of an interop lab: its agent (ours or upstream), lease subnet and pod. */
export interface InteropNode {
  readonly node: MiniNode;
  readonly kind: AgentKind;
  agent: Process;
  /** `10.244.3.0/24` */
  readonly subnet: string;
  /** `10.244.3.0` */
  readonly subnetAddr: string;
  /** `<subnet>.2` */
  readonly podIp: string;
  readonly pod: Netns;
}

/** A running interop lab. */
export interface InteropLab extends AsyncDisposable {
  readonly lab: MiniLab;
  readonly nodes: InteropNode[];
  readonly flags: readonly string[];
  /** Starts a node's agent again (after it was stopped) with the lab's flags. */
  startAgent(n: InteropNode): Promise<Process>;
  /** The agent's log. */
  log(n: InteropNode): Promise<string>;
}

/** Options of {@linkcode startInteropLab}. */
export interface InteropLabOptions {
  /** The network config (JSON text). */
  readonly config: string;
  /** The agent of each node, in node order (n1, n2, …). */
  readonly kinds: readonly AgentKind[];
  /** Nodes 2, 4, … on a second subnet behind a router. */
  readonly split?: boolean;
  /** Flags given to every agent, ours and upstream (they share flanneld's names). */
  readonly flags?: readonly string[];
}

/** Waits for a node's subnet.env and returns its FLANNEL_SUBNET as the /24 network. */
export async function waitSubnetEnv(
  node: MiniNode,
  kind: AgentKind,
  proc?: Process,
  timeoutMs = 60_000,
): Promise<string> {
  let exited: Deno.CommandStatus | undefined;
  proc?.status.then((s) => exited = s);
  const env = await waitFor(`${node.name}'s subnet.env (${kind})`, async () => {
    if (exited) throw new Error(`the ${kind} agent exited with ${exited.code}`);
    return await readIfExists(`${node.dir}/subnet.env`);
  }, timeoutMs).catch(async (error) => {
    throw new Error(
      `${error.message}${error.cause ? `: ${error.cause.message}` : ""}\n` +
        ((await readIfExists(agentLogPath(node, kind))) ?? ""),
    );
  });
  const m = /^FLANNEL_SUBNET=(\d+\.\d+\.\d+)\.1\/24$/m.exec(env);
  assert.ok(m, `no /24 FLANNEL_SUBNET in\n${env}`);
  return `${m[1]}.0/24`;
}

/**
 * Builds a mini lab, starts one agent per node (of the kind asked for), waits for every subnet.env, and gives
 * each node a pod: a veth `pod0` (node, `<subnet>.1/24`) ↔ `eth0` (pod, `<subnet>.2/24`, default via .1).
 */
export async function startInteropLab(options: InteropLabOptions): Promise<InteropLab> {
  await ensureFlanneld();
  const prefix = uniqueName("fli");
  const lab = await startMiniLab({
    prefix,
    nodes: options.kinds.length,
    networkConfig: options.config,
    ...(options.split ? { split: true } : {}),
  });
  const flags = [...(options.flags ?? [])];
  const pods: Netns[] = [];
  const upstreams: Process[] = [];
  const start = async (node: MiniNode, kind: AgentKind) => {
    if (kind === "ours") return await lab.startAgent(node, flags);
    const p = await startUpstreamAgent(lab, node, flags);
    upstreams.push(p);
    return p;
  };
  const dispose = async () => {
    await Promise.allSettled(upstreams.map((p) => p.stop()));
    await Promise.allSettled(pods.map((p) => p.delete()));
    await lab[Symbol.asyncDispose]();
  };
  try {
    const agents = await Promise.all(lab.nodes.map((n, i) => start(n, options.kinds[i]!)));
    const subnets = await Promise.all(
      lab.nodes.map((n, i) => waitSubnetEnv(n, options.kinds[i]!, agents[i])),
    );
    const nodes: InteropNode[] = [];
    for (const [i, node] of lab.nodes.entries()) {
      const subnet = subnets[i]!;
      const base = subnet.slice(0, subnet.lastIndexOf("."));
      const pod = await Netns.create(`${prefix}-p${i + 1}`);
      pods.push(pod);
      await node.ns.ip([
        "link",
        "add",
        "pod0",
        "type",
        "veth",
        "peer",
        "name",
        "eth0",
        "netns",
        pod.name,
      ]);
      await node.ns.ip(["addr", "add", `${base}.1/24`, "dev", "pod0"]);
      await node.ns.ip(["link", "set", "pod0", "up"]);
      await pod.ip(["addr", "add", `${base}.2/24`, "dev", "eth0"]);
      await pod.ip(["link", "set", "eth0", "up"]);
      await pod.ip(["route", "add", "default", "via", `${base}.1`]);
      await node.ns.exec(["sysctl", "-qw", "net.ipv4.ip_forward=1"]);
      nodes.push({
        node,
        kind: options.kinds[i]!,
        agent: agents[i]!,
        subnet,
        subnetAddr: `${base}.0`,
        podIp: `${base}.2`,
        pod,
      });
    }
    return {
      lab,
      nodes,
      flags,
      startAgent: async (n) => n.agent = await start(n.node, n.kind),
      log: async (n) => (await readIfExists(agentLogPath(n.node, n.kind))) ?? "",
      [Symbol.asyncDispose]: dispose,
    };
  } catch (error) {
    await dispose();
    throw error;
  }
}

/** Pings `dst` from a node's pod once: true when a reply came back. */
export async function ping(from: InteropNode, dst: string, count = 1): Promise<boolean> {
  const out = await from.pod.exec(["ping", "-n", "-c", String(count), "-W", "2", dst], {
    check: false,
    timeoutMs: 30_000,
  });
  return out.code === 0;
}

/**
 * Asserts the path MTU between two pods, both ways: an `mtu`-byte ping with DF crosses, one byte more does not.
 */
export async function assertPathMtu(a: InteropNode, b: InteropNode, mtu: number): Promise<void> {
  for (const [from, to] of [[a, b], [b, a]] as const) {
    const probe = async (size: number) =>
      (await from.pod.exec(["ping", "-n", "-c", "2", "-W", "2", "-M", "do", "-s", String(size), to.podIp], {
        check: false,
        timeoutMs: 30_000,
      })).code === 0;
    assert.ok(
      await probe(mtu - 28),
      `a ${mtu}-byte packet with DF should cross ${from.node.name} → ${to.node.name}`,
    );
    assert.ok(
      !(await probe(mtu - 27)),
      `a ${mtu + 1}-byte packet with DF must not cross ${from.node.name} → ${to.node.name}`,
    );
  }
}

/** Waits until a pod pings `dst`, with both agents' logs in the error. */
export async function waitPing(
  lab: InteropLab,
  from: InteropNode,
  dst: string,
  timeoutMs = 30_000,
): Promise<void> {
  await waitFor(
    `ping ${dst} from ${from.node.name}'s pod`,
    async () => (await ping(from, dst)) || undefined,
    timeoutMs,
  )
    .catch(async (error) => {
      const logs = await Promise.all(
        lab.nodes.map(async (n) => `--- ${n.node.name} (${n.kind})\n${await lab.log(n)}`),
      );
      throw new Error(`${error.message}\n${logs.join("\n")}`);
    });
}

/**
 * Waits until the current run of upstream flanneld on `up` has taken `peer`'s lease in (an "added" event for
 * its subnet, logged as `lease.Event{Type:0, … Subnet:ip.IP4Net{IP:0x…`). Upstream keeps its kernel entries
 * across restarts, so they alone do not show that a restarted flanneld is watching yet.
 */
export async function waitUpstreamSaw(lab: InteropLab, up: InteropNode, peer: InteropNode): Promise<void> {
  const hex = peer.subnetAddr.split(".").reduce((a, o) => a * 256 + Number(o), 0).toString(16);
  const event =
    `lease.Event{Type:0, Lease:lease.Lease{EnableIPv4:true, EnableIPv6:false, Subnet:ip.IP4Net{IP:0x${hex},`;
  await waitFor(`upstream on ${up.node.name} to take ${peer.subnet} in`, async () => {
    const runs = (await lab.log(up)).split("CLI flags config:");
    return runs[runs.length - 1]!.includes(event) ? true : undefined;
  }, 30_000);
}

/** The lease values under `<prefix>/subnets/`, keyed by key, with each key's etcd lease TTL (or -1). */
export async function leasesWithTtl(
  lab: MiniLab,
): Promise<Map<string, { value: string; ttl: number; grantedTtl: number }>> {
  const out = await lab.etcd.ctl(["get", "--prefix", `${lab.etcdPrefix}/subnets/`, "-w", "json"]);
  // etcdctl prints lease ids as bare 64-bit integers, which JSON.parse would round: quote them first.
  const parsed = JSON.parse(out.replace(/"lease":(\d+)/g, '"lease":"$1"')) as {
    kvs?: { key: string; value: string; lease?: string }[];
  };
  const map = new Map<string, { value: string; ttl: number; grantedTtl: number }>();
  for (const kv of parsed.kvs ?? []) {
    let ttl = -1;
    let grantedTtl = -1;
    if (kv.lease) {
      // `lease timetolive` takes the id in hex.
      const id = BigInt(kv.lease).toString(16);
      const t = await lab.etcd.ctl(["lease", "timetolive", id, "-w", "json"]);
      const j = JSON.parse(t) as { ttl: number; "granted-ttl": number };
      ttl = j.ttl;
      grantedTtl = j["granted-ttl"];
    }
    map.set(atob(kv.key), { value: atob(kv.value), ttl, grantedTtl });
  }
  return map;
}

/** The etcd key of a node's lease. */
export function leaseKey(lab: MiniLab, n: InteropNode): string {
  return `${lab.etcdPrefix}/subnets/${n.subnet.replace("/", "-")}`;
}

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

/** The values that identify a node in kernel readings, for {@linkcode mirror}. */
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

/** Whether an IPv4 address or prefix lies inside `network` (e.g. `10.244.0.0/16`). */
function inNetwork(dst: string, network: string): boolean {
  const toU32 = (ip: string) => ip.split(".").reduce((a, o) => a * 256 + Number(o), 0);
  const [net, lenText] = network.split("/") as [string, string];
  const [addr, plen] = dst.split("/") as [string, string | undefined];
  const len = Number(lenText);
  if (!/^\d+\.\d+\.\d+\.\d+$/.test(addr) || Number(plen ?? 32) < len) return false;
  const mask = len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
  return ((toU32(addr) & mask) >>> 0) === ((toU32(net) & mask) >>> 0);
}

const VOLATILE = new Set([
  "ifindex",
  "link_index",
  "link_netnsid",
  "stats64",
  "stats",
  "valid_life_time",
  "preferred_life_time",
]);

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
  const m = (v: unknown) => omitKeys(mirror(v, subst), VOLATILE);
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

/**
 * Rewrites a kernel reading so that two nodes' readings compare equal when they are mirror images: every
 * occurrence of a value in `subst` (the node's own subnet, MAC, address; its peer's) becomes its placeholder.
 */
export function mirror(value: unknown, subst: ReadonlyMap<string, string>): unknown {
  if (typeof value === "string") return subst.get(value) ?? value;
  if (Array.isArray(value)) return value.map((v) => mirror(v, subst));
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, mirror(v, subst)]));
  }
  return value;
}

/** Drops keys from every object of a reading (ifindex, counters, …). */
export function omitKeys(value: unknown, keys: ReadonlySet<string>): unknown {
  if (Array.isArray(value)) return value.map((v) => omitKeys(v, keys));
  if (value && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value).filter(([k]) => !keys.has(k)).map(([k, v]) => [k, omitKeys(v, keys)]),
    );
  }
  return value;
}

/** The mirrored value of every lease, keyed by the node that holds it, with its etcd TTL. */
export async function mirroredLeases(
  lab: InteropLab,
): Promise<Map<InteropNode, { value: string; keys: string[]; ttl: number; grantedTtl: number }>> {
  const leases = await leasesWithTtl(lab.lab);
  const out = new Map<InteropNode, { value: string; keys: string[]; ttl: number; grantedTtl: number }>();
  for (const n of lab.nodes) {
    const lease = leases.get(leaseKey(lab.lab, n));
    assert.ok(lease, `${n.node.name} (${n.kind}) has no lease under ${leaseKey(lab.lab, n)}`);
    const subst = new Map([...await nodeValues(n)].map(([v, name]) => [v, `<${name}>`]));
    // Re-serialising keeps the key order of the text, so the comparison covers order and types.
    const parsed = JSON.parse(lease.value) as Record<string, unknown>;
    out.set(n, {
      value: JSON.stringify(mirror(parsed, subst)),
      keys: Object.keys(parsed),
      ttl: lease.ttl,
      grantedTtl: lease.grantedTtl,
    });
  }
  return out;
}

/**
 * Asserts that every node's lease has the same form (same text once the node's own values are replaced by
 * placeholders) and equals `expected`, and carries a 24 h etcd lease.
 */
export async function assertLeasesAlike(lab: InteropLab, expected: string): Promise<void> {
  const leases = await mirroredLeases(lab);
  for (const [n, lease] of leases) {
    assert.equal(lease.value, expected, `${n.node.name} (${n.kind})'s lease`);
    assert.equal(lease.grantedTtl, 86400, `${n.node.name} (${n.kind})'s lease TTL`);
    assert.ok(lease.ttl > 86000 && lease.ttl <= 86400, `${n.node.name}'s remaining TTL ${lease.ttl}`);
  }
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

/**
 * Captures on a node's eth1 while `during` runs and returns tcpdump's packet lines; `filter` is a pcap filter.
 */
export async function capture(
  n: InteropNode,
  filter: readonly string[],
  during: () => Promise<unknown>,
): Promise<string[]> {
  const file = `${n.node.dir}/tcpdump-${crypto.randomUUID().slice(0, 8)}.txt`;
  const proc = await spawn(
    ["ip", "netns", "exec", n.node.ns.name, "tcpdump", "-i", "eth1", "-nn", "-l", ...filter],
    { logFile: file },
  );
  try {
    await waitFor(
      "tcpdump to listen",
      async () => /listening on/.test((await readIfExists(file)) ?? "") || undefined,
      10_000,
    );
    await during();
    await new Promise((r) => setTimeout(r, 300));
  } finally {
    await proc.stop("SIGINT");
  }
  return ((await readIfExists(file)) ?? "").split("\n").filter((l) => / IP /.test(l));
}
