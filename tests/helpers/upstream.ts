/**
 * Upstream flanneld v0.28.9 beside our agent, for the interop tests: start it in a node namespace of a
 * `mini_lab.ts` lab (its log in the node's directory), build a two-node lab with one agent of each kind and a pod
 * per node, and wait for upstream to take a peer's lease in.
 *
 * What the tests then compare lives beside it: `interop_traffic.ts` (pings, path MTU, packet captures between
 * the pods), `interop_mirror.ts` (kernel state, firewall and subnet.env "mirrored": the node's own values and its
 * peer's replaced by placeholders, so two nodes' readings compare equal) and `interop_leases.ts` (the leases in
 * etcd, mirrored the same way, with their TTLs).
 *
 * Every namespace made here is deleted when the returned lab is disposed, also when a step fails.
 *
 * @module
 */
import assert from "node:assert/strict";
import { type MiniLab, type MiniNode, readIfExists, startMiniLab, waitFor } from "./mini_lab.ts";
import { Netns } from "../../harness/netns.ts";
import type { Process } from "../../cli/process/mod.ts";
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
    // One agent at a time, each up before the next starts: two agents started together may pick the same
    // free subnet, and upstream flanneld exits when it loses that create race (ours retries). The race is
    // upstream's behaviour, not what these tests compare.
    const agents: Process[] = [];
    const subnets: Awaited<ReturnType<typeof waitSubnetEnv>>[] = [];
    for (const [i, n] of lab.nodes.entries()) {
      agents.push(await start(n, options.kinds[i]!));
      subnets.push(await waitSubnetEnv(n, options.kinds[i]!, agents[i]));
    }
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
