/**
 * Helpers for the IPv6 / dual-stack data-plane tests: a mini lab whose nodes get a ULA underlay address
 * (`fd00:77::<i>/64` on eth1, the etcd namespace stays IPv4) before their agents start, and a pod per node
 * holding `<subnet>.2` and/or `<v6 subnet>2`. Every namespace made here is deleted when the lab is disposed.
 */
import assert from "node:assert/strict";
import { type MiniLab, type MiniNode, readIfExists, startMiniLab, waitFor } from "./mini_lab.ts";
import { Netns } from "../../harness/netns.ts";
import type { Process } from "../../cli/process/mod.ts";
import { uniqueName } from "./tmpdir.ts";
import { agentLog } from "./backend_lab.ts";

/** A node of a dual-stack lab. */
export interface Node6 {
  readonly node: MiniNode;
  agent: Process;
  /** The node's IPv6 underlay address (PublicIPv6). */
  readonly ip6: string;
  /** `10.244.3.0/24`, when IPv4 is on. */
  readonly subnet: string | undefined;
  readonly subnetAddr: string | undefined;
  readonly podIp: string | undefined;
  /** `fd44:0:0:3::/64`, when IPv6 is on. */
  readonly subnet6: string | undefined;
  /** `fd44:0:0:3::`: the v6 subnet address (flannel-v6.N's /128, the peers' gateway). */
  readonly subnetAddr6: string | undefined;
  /** `fd44:0:0:3::2` */
  readonly podIp6: string | undefined;
  readonly pod: Netns;
}

/** A running dual-stack lab. */
export interface Lab6 extends AsyncDisposable {
  readonly lab: MiniLab;
  readonly nodes: Node6[];
  readonly prefix: string;
}

/** The IPv6 underlay address of node `i` (1-based). */
export function nodeIp6(i: number): string {
  return `fd00:77::${i}`;
}

/** Reads a node's subnet.env (waiting for it) and returns its variables. */
export async function waitSubnetEnv(node: MiniNode, timeoutMs = 30_000): Promise<Map<string, string>> {
  const env = await waitFor(
    `${node.name}'s subnet.env`,
    () => readIfExists(`${node.dir}/subnet.env`),
    timeoutMs,
  )
    .catch(async (error) => {
      throw new Error(`${error.message}\n${await agentLog(node)}`);
    });
  return new Map(env.trim().split("\n").map((l) => l.split("=", 2) as [string, string]));
}

/** Starts a lab, adds the IPv6 underlay, starts the agents and attaches a dual-stack pod per node. */
export async function startLab6(
  options: {
    nodes: number;
    config: string;
    flags?: readonly string[];
    podMtu?: number;
    /** Starts node i's agent (default ours); interop tests start upstream flanneld on some nodes. */
    start?: (lab: MiniLab, node: MiniNode, i: number) => Promise<Process>;
  },
): Promise<Lab6> {
  const prefix = uniqueName();
  const lab = await startMiniLab({ prefix, nodes: options.nodes, networkConfig: options.config });
  const pods: Netns[] = [];
  const dispose = async () => {
    await Promise.allSettled(pods.map((p) => p.delete()));
    await lab[Symbol.asyncDispose]();
  };
  try {
    for (const [i, n] of lab.nodes.entries()) {
      await n.ns.ip(["-6", "addr", "add", `${nodeIp6(i + 1)}/64`, "dev", "eth1", "nodad"]);
    }
    const start = options.start ?? ((l: MiniLab, n: MiniNode) => l.startAgent(n, options.flags ?? []));
    const agents = await Promise.all(lab.nodes.map((n, i) => start(lab, n, i)));
    const envs = await Promise.all(lab.nodes.map((n) => waitSubnetEnv(n)));
    const nodes: Node6[] = [];
    for (const [i, node] of lab.nodes.entries()) {
      const env = envs[i]!;
      const v4 = env.get("FLANNEL_SUBNET");
      const v6 = env.get("FLANNEL_IPV6_SUBNET");
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
      await node.ns.ip(["link", "set", "pod0", "up"]);
      await pod.ip(["link", "set", "eth0", "up"]);
      let subnet: string | undefined, subnetAddr: string | undefined, podIp: string | undefined;
      if (v4) {
        const m = /^(\d+\.\d+\.\d+)\.1\/24$/.exec(v4);
        assert.ok(m, `unexpected FLANNEL_SUBNET ${v4}`);
        subnet = `${m[1]}.0/24`;
        subnetAddr = `${m[1]}.0`;
        podIp = `${m[1]}.2`;
        await node.ns.ip(["addr", "add", `${m[1]}.1/24`, "dev", "pod0"]);
        await pod.ip(["addr", "add", `${podIp}/24`, "dev", "eth0"]);
        await pod.ip(["route", "add", "default", "via", `${m[1]}.1`]);
        await node.ns.exec(["sysctl", "-qw", "net.ipv4.ip_forward=1"]);
      }
      let subnet6: string | undefined, subnetAddr6: string | undefined, podIp6: string | undefined;
      if (v6) {
        // FLANNEL_IPV6_SUBNET is the subnet address + 1: "fd44:0:0:3::1/64".
        const m = /^([0-9a-f:]+::)1\/64$/.exec(v6);
        assert.ok(m, `unexpected FLANNEL_IPV6_SUBNET ${v6}`);
        subnet6 = `${m[1]}/64`;
        subnetAddr6 = m[1]!;
        podIp6 = `${m[1]}2`;
        await node.ns.ip(["-6", "addr", "add", `${m[1]}1/64`, "dev", "pod0", "nodad"]);
        await pod.ip(["-6", "addr", "add", `${podIp6}/64`, "dev", "eth0", "nodad"]);
        await pod.ip(["-6", "route", "add", "default", "via", `${m[1]}1`]);
        await node.ns.exec(["sysctl", "-qw", "net.ipv6.conf.all.forwarding=1"]);
      }
      nodes.push({
        node,
        agent: agents[i]!,
        ip6: nodeIp6(i + 1),
        subnet,
        subnetAddr,
        podIp,
        subnet6,
        subnetAddr6,
        podIp6,
        pod,
      });
    }
    return { lab, nodes, prefix, [Symbol.asyncDispose]: dispose };
  } catch (error) {
    await dispose();
    throw error;
  }
}

/** Pings from a node's pod (`ping -6` for an IPv6 destination): true when a reply came back. */
export async function ping6(
  from: Node6,
  dst: string,
  options: { size?: number; df?: boolean; count?: number } = {},
): Promise<{ ok: boolean; output: string }> {
  const args = ["ping", "-n", "-c", String(options.count ?? 1), "-W", "2"];
  if (dst.includes(":")) args.push("-6");
  if (options.size !== undefined) args.push("-s", String(options.size));
  if (options.df) args.push("-M", "do");
  const out = await from.pod.exec([...args, dst], { check: false, timeoutMs: 30_000 });
  return { ok: out.code === 0, output: out.stdout + out.stderr };
}

/** Waits until a pod pings `dst`. */
export async function waitPing6(from: Node6, dst: string, timeoutMs = 20_000): Promise<void> {
  await waitFor(
    `ping ${dst} from ${from.node.name}'s pod`,
    async () => (await ping6(from, dst)).ok || undefined,
    timeoutMs,
  ).catch(async (error) => {
    throw new Error(`${error.message}\n${await agentLog(from.node)}`);
  });
}

/** `ip -j [-6] -d link show <dev>` of a node, or undefined when absent. */
export async function link6(n: Node6, dev: string): Promise<Record<string, unknown> | undefined> {
  const out = await n.node.ns.ip(["-j", "-d", "link", "show", dev], { check: false });
  if (out.code !== 0) return undefined;
  return (JSON.parse(out.stdout) as Record<string, unknown>[])[0];
}
