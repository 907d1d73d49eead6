/**
 * Helpers for the data-plane integration tests: a mini lab with agents, a "pod" namespace per node (a veth
 * from the node into the pod, the pod holding `<subnet>.2`), kernel readings with `ip -j` / `bridge -j`, and
 * an underlay capture with tcpdump. Every namespace made here is deleted when the returned lab is disposed.
 */
import assert from "node:assert/strict";
import { type MiniLab, type MiniNode, readIfExists, startMiniLab, waitFor } from "./mini_lab.ts";
import { Netns } from "../../harness/netns.ts";
import { type Process, type run, spawn } from "../../cli/process/mod.ts";
import { uniqueName } from "./tmpdir.ts";

export { readIfExists, waitFor };

/** A node with its agent, subnet and pod. */
export interface LabNode {
  readonly node: MiniNode;
  agent: Process;
  /** `10.244.3.0/24` */
  readonly subnet: string;
  /** `10.244.3.0`: the subnet's network address (the vxlan device's /32, the vxlan gateway on peers). */
  readonly subnetAddr: string;
  /** The pod's address, `<subnet>.2`. */
  readonly podIp: string;
  readonly pod: Netns;
}

/** A lab with agents running and pods attached. */
export interface DataLab extends AsyncDisposable {
  readonly lab: MiniLab;
  readonly nodes: LabNode[];
  readonly prefix: string;
  /** Runs a command in a node's pod. */
  podExec(n: LabNode, command: readonly string[], check?: boolean): ReturnType<typeof run>;
  /** Restarts a node's agent with the same flags. */
  restart(n: LabNode): Promise<void>;
}

/** Options of {@linkcode startDataLab}. */
export interface DataLabOptions {
  readonly nodes: number;
  readonly config: string;
  readonly split?: boolean;
  readonly flags?: readonly string[];
  /** Give the pods' veth this MTU (default 1500, so the limit under test is the backend's device). */
  readonly podMtu?: number;
}

/** The agent's log, for assertion messages. */
export async function agentLog(node: MiniNode): Promise<string> {
  return (await readIfExists(`${node.dir}/agent.log`)) ?? "";
}

/** Waits for a node's subnet.env and returns FLANNEL_SUBNET's network. */
export async function waitSubnet(node: MiniNode, timeoutMs = 30_000): Promise<string> {
  const env = await waitFor(
    `${node.name}'s subnet.env`,
    () => readIfExists(`${node.dir}/subnet.env`),
    timeoutMs,
  )
    .catch(async (error) => {
      throw new Error(`${error.message}\n${await agentLog(node)}`);
    });
  const m = /^FLANNEL_SUBNET=(\d+\.\d+\.\d+)\.1\/24$/m.exec(env);
  assert.ok(m, `no /24 FLANNEL_SUBNET in\n${env}`);
  return `${m[1]}.0/24`;
}

/** Starts a lab, agents on every node, and a pod per node. */
export async function startDataLab(options: DataLabOptions): Promise<DataLab> {
  const prefix = uniqueName();
  const lab = await startMiniLab({
    prefix,
    nodes: options.nodes,
    networkConfig: options.config,
    ...(options.split ? { split: true } : {}),
  });
  const pods: Netns[] = [];
  const flags = [...(options.flags ?? [])];
  const dispose = async () => {
    await Promise.allSettled(pods.map((p) => p.delete()));
    await lab[Symbol.asyncDispose]();
  };
  try {
    const agents = await Promise.all(lab.nodes.map((n) => lab.startAgent(n, flags)));
    const subnets = await Promise.all(lab.nodes.map((n) => waitSubnet(n)));
    const nodes: LabNode[] = [];
    for (const [i, node] of lab.nodes.entries()) {
      const subnet = subnets[i]!;
      const base = subnet.slice(0, subnet.lastIndexOf("."));
      const pod = await Netns.create(`${prefix}-p${i + 1}`);
      pods.push(pod);
      const mtu = String(options.podMtu ?? 1500);
      await node.ns.ip([
        "link",
        "add",
        "pod0",
        "mtu",
        mtu,
        "type",
        "veth",
        "peer",
        "name",
        "eth0",
        "mtu",
        mtu,
        "netns",
        pod.name,
      ]);
      await node.ns.ip(["addr", "add", `${base}.1/24`, "dev", "pod0"]);
      await node.ns.ip(["link", "set", "pod0", "up"]);
      await pod.ip(["addr", "add", `${base}.2/24`, "dev", "eth0"]);
      await pod.ip(["link", "set", "eth0", "up"]);
      await pod.ip(["route", "add", "default", "via", `${base}.1`]);
      await node.ns.exec(["sysctl", "-qw", "net.ipv4.ip_forward=1"]);
      nodes.push({ node, agent: agents[i]!, subnet, subnetAddr: `${base}.0`, podIp: `${base}.2`, pod });
    }
    return {
      lab,
      nodes,
      prefix,
      podExec: (n, command, check = true) => n.pod.exec(command, { check, timeoutMs: 30_000 }),
      async restart(n) {
        await n.agent.stop("SIGTERM");
        n.agent = await lab.startAgent(n.node, flags);
      },
      [Symbol.asyncDispose]: dispose,
    };
  } catch (error) {
    await dispose();
    throw error;
  }
}

/** `ip -j route show` in a node (main table). */
export async function routes(
  n: LabNode,
): Promise<{ dst: string; gateway?: string; dev: string; flags: string[] }[]> {
  return await n.node.ns.ipJson(["route", "show"]);
}

/** `ip -j neigh show dev <dev>`. */
export async function neighs(
  n: LabNode,
  dev: string,
): Promise<{ dst: string; lladdr?: string; state: string[] }[]> {
  return await n.node.ns.ipJson(["neigh", "show", "dev", dev]);
}

/** `bridge -j fdb show dev <dev>`. */
export async function fdbs(
  n: LabNode,
  dev: string,
): Promise<{ mac: string; dst?: string; flags?: string[]; state?: string }[]> {
  const { stdout } = await n.node.ns.exec(["bridge", "-j", "fdb", "show", "dev", dev]);
  return JSON.parse(stdout || "[]");
}

/** `ip -j -d link show <dev>`, or undefined when absent. */
export async function linkInfo(n: LabNode, dev: string): Promise<Record<string, unknown> | undefined> {
  const out = await n.node.ns.ip(["-j", "-d", "link", "show", dev], { check: false });
  if (out.code !== 0) return undefined;
  return (JSON.parse(out.stdout) as Record<string, unknown>[])[0];
}

/** Pings `dst` from a pod: true when at least one reply came back. */
export async function ping(
  lab: DataLab,
  from: LabNode,
  dst: string,
  options: { size?: number; df?: boolean; count?: number; wait?: number } = {},
): Promise<{ ok: boolean; output: string }> {
  const args = ["ping", "-n", "-c", String(options.count ?? 1), "-W", String(options.wait ?? 2)];
  if (options.size !== undefined) args.push("-s", String(options.size));
  if (options.df) args.push("-M", "do");
  const out = await lab.podExec(from, [...args, dst], false);
  return { ok: out.code === 0, output: out.stdout + out.stderr };
}

/** Waits until a pod pings `dst`. */
export async function waitPing(lab: DataLab, from: LabNode, dst: string, timeoutMs = 20_000): Promise<void> {
  await waitFor(
    `ping ${dst} from ${from.node.name}'s pod`,
    async () => (await ping(lab, from, dst)).ok || undefined,
    timeoutMs,
  );
}

/**
 * Captures on a node's eth1 while `during` runs; returns tcpdump's lines. `filter` is a pcap filter.
 */
export async function capture(
  n: LabNode,
  filter: readonly string[],
  during: () => Promise<unknown>,
): Promise<string[]> {
  const file = `${n.node.dir}/tcpdump-${crypto.randomUUID().slice(0, 8)}.txt`;
  const proc = await spawn([
    "ip",
    "netns",
    "exec",
    n.node.ns.name,
    "tcpdump",
    "-i",
    "eth1",
    "-nn",
    "-l",
    "-e",
    "-vv",
    ...filter,
  ], { logFile: file });
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
  return ((await readIfExists(file)) ?? "").split("\n");
}

/**
 * Whether a tcpdump line is a VXLAN packet with this VNI. tcpdump decodes UDP 8472 as OTV, whose header has
 * VXLAN's layout (flags `I`, a 24-bit instance = the VNI), so both spellings count.
 */
export function isVxlan(line: string, vni: number): boolean {
  return new RegExp(`(VXLAN.*vni ${vni}|OTV, flags \\[I\\].*instance ${vni})$`).test(line.trim());
}

/** Deletes a lease key of a node via etcdctl. */
export async function deleteLease(lab: DataLab, subnet: string): Promise<void> {
  const key = `${lab.lab.etcdPrefix}/subnets/${subnet.replace("/", "-")}`;
  await lab.lab.etcd.ctl(["del", key]);
}

/** Fetches a path from a node's healthz listener (inside the node's namespace). */
export async function fetchIn(n: LabNode, url: string): Promise<{ status: number; body: string }> {
  const script = `const r = await fetch(${
    JSON.stringify(url)
  }); console.log(r.status); console.log(await r.text());`;
  const out = (await n.node.ns.exec([Deno.execPath(), "eval", script])).stdout;
  const nl = out.indexOf("\n");
  return { status: Number(out.slice(0, nl)), body: out.slice(nl + 1) };
}
