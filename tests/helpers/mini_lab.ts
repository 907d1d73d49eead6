/**
 * A small fixed lab for the agent's integration tests and the benchmarks: an etcd node and N agent nodes, each
 * with `eth1` on one switch (a Linux bridge `br0` inside a lab-owned namespace, its ports named after the nodes),
 * or split over two subnets joined by a router. It is a containerlab topology ({@linkcode miniLabTopology})
 * deployed by the netns runtime like any other lab, so its namespaces (`clab-<prefix>-<node>`) carry ownership
 * markers and `flannel-lab down --all` removes what a crashed test left. etcd and the agents run as child
 * processes of the test (not detached), so a test holds them as {@linkcode Process}es.
 *
 * Addresses: the switch `swa` is 192.168.77.0/24 (etcd .250, router .254, node i .i); with `split`, even nodes
 * sit on `swb`, 192.168.78.0/24 (router .254), and every node and etcd route the other subnet via the router.
 *
 * @module
 */
import { stringify } from "yaml";
import { UserError } from "../../cli/errors.ts";
import { agentConnectionFlags, ourAgentCommand } from "../../harness/agent_command.ts";
import { type Etcd, startEtcd } from "../../harness/etcd.ts";
import { switchExecLines } from "../../harness/generate.ts";
import { listNetns, Netns } from "../../harness/netns.ts";
import type { Process } from "../../cli/process/mod.ts";
import { NetnsRuntime } from "../../harness/runtime/netns.ts";
import { longName, type Topology } from "../../harness/topology/model.ts";
import { resolveTopology } from "../../harness/topology/resolve.ts";

/** A node of the lab. */
export interface MiniNode {
  readonly name: string;
  readonly ns: Netns;
  /** The node's underlay address on eth1. */
  readonly ip: string;
  /** A directory for this node's subnet.env, logs and CNI state. */
  readonly dir: string;
}

/** The shape of a mini lab: what {@linkcode miniLabTopology} turns into a topology. */
export interface MiniLabShape {
  /** The lab's name. */
  readonly name: string;
  readonly nodes: number;
  /** MTU of the underlay links (default 1500). */
  readonly mtu?: number;
  /** Put every second node on a second subnet behind a router (default: all on one switch). */
  readonly split?: boolean;
}

/** Options of {@linkcode startMiniLab}. */
export interface MiniLabOptions {
  /**
   * The lab's name: its namespaces are `clab-<prefix>-<node>`. Must be unique among running labs (a lab of this
   * name that is still deployed is refused); tests use `uniqueName()`.
   */
  readonly prefix: string;
  readonly nodes: number;
  /** The network config written to etcd (JSON text); none when omitted. */
  readonly networkConfig?: string;
  /** MTU of the underlay links (default 1500). */
  readonly mtu?: number;
  /** Put every second node on a second subnet behind a router (default: all on one switch). */
  readonly split?: boolean;
  /** The etcd key prefix (default /coreos.com/network). */
  readonly etcdPrefix?: string;
  /**
   * Where the lab's directory (etcd's data, logs) is made (default: the system's temp folder). Benchmarks pass
   * a tmpfs such as /dev/shm so that etcd's fsyncs cost nothing.
   */
  readonly parentDir?: string;
}

/** A running mini lab; dispose it to stop everything and delete every namespace. */
export interface MiniLab extends AsyncDisposable {
  /** The lab's name (the `prefix` option). */
  readonly name: string;
  /** The deployed topology. */
  readonly topology: Topology;
  readonly etcd: Etcd;
  readonly etcdNs: Netns;
  readonly nodes: readonly MiniNode[];
  readonly dir: string;
  readonly etcdPrefix: string;
  /** Starts our agent on a node with extra flags; its log goes to `<node dir>/agent.log`. */
  startAgent(node: MiniNode, flags?: readonly string[]): Promise<Process>;
}

/** Node i's switch and address. */
function placeNode(i: number, split: boolean): { sw: string; ip: string; other?: [string, string] } {
  const onB = split && i % 2 === 0;
  if (!split) return { sw: "swa", ip: `192.168.77.${i}` };
  return onB
    ? { sw: "swb", ip: `192.168.78.${i}`, other: ["192.168.77.0/24", "192.168.78.254"] }
    : { sw: "swa", ip: `192.168.77.${i}`, other: ["192.168.78.0/24", "192.168.77.254"] };
}

/**
 * The containerlab topology (YAML text) of a mini lab. Pure.
 *
 * @param shape name, node count, MTU and whether to split the nodes over two subnets
 * @returns the topology file's text
 * @example
 * ```ts
 * import { miniLabTopology } from "./mini_lab.ts";
 * const yaml = miniLabTopology({ name: "flt0a1b2c", nodes: 2, split: true });
 * if (!yaml.includes("ip addr add 192.168.78.2/24 dev eth1")) throw new Error(yaml);
 * ```
 */
export function miniLabTopology(shape: MiniLabShape): string {
  const mtu = shape.mtu ?? 1500;
  const split = shape.split ?? false;
  const nodes: Record<string, unknown> = {};
  const links: unknown[] = [];
  const ports = new Map<string, string[]>([["swa", []]]);
  if (split) ports.set("swb", []);
  const link = (node: string, iface: string, sw: string) => {
    ports.get(sw)!.push(node);
    links.push({
      type: "veth",
      mtu,
      endpoints: [{ node, interface: iface }, { node: sw, interface: node }],
    });
  };
  for (const sw of ports.keys()) nodes[sw] = {};
  if (split) {
    nodes["router"] = {
      labels: { "flannel-lab.role": "router" },
      sysctls: { "net.ipv4.ip_forward": 1 },
      exec: ["ip addr add 192.168.77.254/24 dev eth1", "ip addr add 192.168.78.254/24 dev eth2"],
    };
    link("router", "eth1", "swa");
    link("router", "eth2", "swb");
  }
  nodes["etcd"] = {
    labels: { "flannel-lab.role": "etcd" },
    exec: [
      "ip addr add 192.168.77.250/24 dev eth1",
      ...(split ? ["ip route add 192.168.78.0/24 via 192.168.77.254"] : []),
    ],
  };
  link("etcd", "eth1", "swa");
  for (let i = 1; i <= shape.nodes; i++) {
    const { sw, ip, other } = placeNode(i, split);
    nodes[`n${i}`] = {
      labels: { "flannel-lab.role": "node" },
      exec: [`ip addr add ${ip}/24 dev eth1`, ...(other ? [`ip route add ${other[0]} via ${other[1]}`] : [])],
    };
    link(`n${i}`, "eth1", sw);
  }
  for (const [sw, names] of ports) {
    nodes[sw] = {
      labels: { "flannel-lab.role": "switch" },
      exec: switchExecLines(names),
    };
  }
  return `# A flannel-lab mini lab (tests/helpers/mini_lab.ts).\n` + stringify({
    name: shape.name,
    topology: { defaults: { kind: "linux" }, nodes, links },
  });
}

/**
 * Builds the lab — deploys its topology with the netns runtime, starts etcd on the etcd node and writes the
 * network config, if given. Whatever step fails, everything made so far is removed again.
 *
 * @param options name, node count, network config, MTU, split, etcd prefix, parent directory
 * @returns the running lab
 * @throws {UserError} when a lab of that name is still deployed
 */
export async function startMiniLab(options: MiniLabOptions): Promise<MiniLab> {
  const name = options.prefix;
  const etcdPrefix = options.etcdPrefix ?? "/coreos.com/network";
  const dir = await Deno.makeTempDir({
    prefix: `flannel-lab-${name}-`,
    ...(options.parentDir ? { dir: options.parentDir } : {}),
  });
  const runtime = new NetnsRuntime();
  const agents: Process[] = [];
  let topo: Topology | undefined;
  let etcd: Etcd | undefined;
  const cleanup = async () => {
    await Promise.allSettled(agents.map((a) => a.stop()));
    await etcd?.[Symbol.asyncDispose]();
    if (topo) await runtime.destroy({ topology: topo }).catch(() => {});
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  };
  try {
    const file = `${dir}/${name}.clab.yml`;
    const text = miniLabTopology({
      name,
      nodes: options.nodes,
      ...(options.mtu !== undefined ? { mtu: options.mtu } : {}),
      ...(options.split ? { split: true } : {}),
    });
    await Deno.writeTextFile(file, text);
    const resolved = resolveTopology(file, text);
    const running = new Set(await listNetns());
    const taken = resolved.nodes.map((n) => longName(resolved, n.name)).find((ns) => running.has(ns));
    if (taken) {
      throw new UserError(`Cannot start mini lab "${name}": namespace "${taken}" already exists`, {
        hint: `use a unique prefix, or remove a crashed run's lab: flannel-lab down --name ${name}`,
      });
    }
    topo = resolved;
    await runtime.deploy(topo, { labDir: dir });
    const nsOf = (node: string) => Netns.of(runtime.netnsOf(resolved, node));
    const etcdNs = nsOf("etcd");
    const nodes: MiniNode[] = [];
    for (let i = 1; i <= options.nodes; i++) {
      const { ip } = placeNode(i, options.split ?? false);
      nodes.push({ name: `n${i}`, ns: nsOf(`n${i}`), ip, dir: `${dir}/n${i}` });
    }
    const host = resolved.nodes.find((n) => n.role === "etcd")!.etcdAddress!;
    etcd = await startEtcd({ netns: etcdNs, host, dir: `${dir}/etcd` });
    if (options.networkConfig !== undefined) {
      await etcd.ctl(["put", `${etcdPrefix}/config`, options.networkConfig]);
    }
    const endpoint = etcd.endpoint;
    return {
      name,
      topology: resolved,
      etcd,
      etcdNs,
      nodes,
      dir,
      etcdPrefix,
      async startAgent(node, flags = []) {
        const connection = agentConnectionFlags({
          endpoint,
          etcdPrefix,
          iface: "eth1",
          subnetFile: `${node.dir}/subnet.env`,
        });
        const agent = await node.ns.spawn(ourAgentCommand([...connection, ...flags]), {
          logFile: `${node.dir}/agent.log`,
        });
        agents.push(agent);
        return agent;
      },
      [Symbol.asyncDispose]: cleanup,
    };
  } catch (error) {
    await cleanup();
    throw error;
  }
}

/** Polls `check` every 50 ms until it returns a value other than `undefined`, or throws after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`, { cause: lastError });
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Reads a file, or `undefined` when it does not exist yet. */
export async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

/** Lists `<prefix>/subnets/` keys and values via etcdctl. */
export async function etcdLeases(lab: MiniLab): Promise<Map<string, string>> {
  const out = await lab.etcd.ctl(["get", "--prefix", `${lab.etcdPrefix}/subnets/`, "-w", "json"]);
  const parsed = JSON.parse(out) as { kvs?: { key: string; value: string }[] };
  const map = new Map<string, string>();
  for (const kv of parsed.kvs ?? []) map.set(atob(kv.key), atob(kv.value));
  return map;
}
