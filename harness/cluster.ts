/**
 * The flannel cluster on a deployed lab: etcd on the etcd node (bound to its lab address), the network config,
 * one agent per `node` (ours, or upstream flanneld for `flannel-lab.agent: upstream`) with its log kept in the lab
 * directory (`<node>/agent.log` for both kinds), and pods —
 * network namespaces attached to their node through our CNI plugin, exactly as a container runtime would.
 * Everything runs through the {@linkcode Runtime}, so the same code drives any runtime: host processes in the
 * nodes' network namespaces (netns), or processes inside the nodes' containers (containerlab, `runtime/inside.ts`).
 *
 * The class wires the parts together: etcd's command line and readiness wait are `etcd.ts`'s (shared with the
 * test labs), the agents' command lines `agent_command.ts`'s, lease reading `lease_view.ts`'s, CNI pods
 * `pods.ts`'s and the state file `cluster_state.ts`'s.
 *
 * @module
 */
import { UserError } from "../cli/errors.ts";
import type { RunResult } from "../cli/process/mod.ts";
import { attachDetached, type Detached, spawnDetached } from "../cli/process/mod.ts";
import { nodeAgentFlags, ourAgentCommand } from "./agent_command.ts";
import { parseSubnetEnv, readClusterState, refOf, writeClusterState } from "./cluster_state.ts";
import { ETCDCTL_ENV, etcdctlCommand, etcdEndpoint, type EtcdServer, launchEtcd } from "./etcd.ts";
import {
  leaseKeyOf,
  type LeaseView,
  listLeasesArgs,
  parseLeaseKvs,
  parseLeaseViews,
  takenLeaseValue,
} from "./lease_view.ts";
import { attachPod, cniConfig, installCni, type Pod } from "./pods.ts";
import { isInsideRuntime } from "./runtime/inside.ts";
import type { Runtime } from "./runtime/runtime.ts";
import { ensureFlanneld } from "./upstream/mod.ts";
import { longName, type NodeSpec, type Topology } from "./topology/model.ts";

export type { ClusterState } from "./cluster_state.ts";
export type { LeaseView } from "./lease_view.ts";
export type { Pod } from "./pods.ts";

/** Options of {@linkcode Cluster}. */
export interface ClusterOptions {
  readonly runtime: Runtime;
  readonly topo: Topology;
  readonly labDir: string;
  /** The network config JSON written to etcd. */
  readonly network: string;
  readonly etcdPrefix?: string;
}

/** etcd, agents and pods of one lab. Stop it to stop every process; the runtime removes the namespaces. */
export class Cluster implements AsyncDisposable {
  readonly runtime: Runtime;
  readonly topo: Topology;
  readonly labDir: string;
  readonly etcdPrefix: string;
  readonly etcdNode: NodeSpec;
  readonly endpoint: string;
  readonly pods: Pod[] = [];
  #network: string;
  #etcd: Detached | undefined;
  #agents = new Map<string, Detached>();
  /** When each agent this process started was started (ms since the epoch). */
  #agentStartedAt = new Map<string, number>();

  constructor(options: ClusterOptions) {
    this.runtime = options.runtime;
    this.topo = options.topo;
    this.labDir = options.labDir;
    this.#network = options.network;
    this.etcdPrefix = options.etcdPrefix ?? "/coreos.com/network";
    const etcd = options.topo.nodes.find((n) => n.role === "etcd");
    if (!etcd?.etcdAddress) throw new UserError(`Topology "${options.topo.name}" has no etcd node`);
    this.etcdNode = etcd;
    this.endpoint = etcdEndpoint(this.#etcdServer());
  }

  /** etcd on the etcd node: its lab address, the standard ports, its data in the node's directory. */
  #etcdServer(): EtcdServer {
    return {
      host: this.etcdNode.etcdAddress!,
      clientPort: 2379,
      peerPort: 2380,
      dataDir: `${this.nodeDir(this.etcdNode.name)}/etcd-data`,
    };
  }

  /** The nodes that run agents. */
  get agentNodes(): NodeSpec[] {
    return this.topo.nodes.filter((n) => n.role === "node");
  }

  nodeDir(node: string): string {
    return `${this.labDir}/${node}`;
  }

  /** Starts etcd (again, keeping its data) and waits until it answers. */
  async startEtcd(timeoutMs = 20_000): Promise<void> {
    const node = this.etcdNode.name;
    await launchEtcd(this.#etcdServer(), {
      // Recorded at once, so that a command interrupted while etcd comes up still leaves it for `down`.
      start: async (command, logFile) => {
        this.#etcd = await this.#startDetached(node, command, logFile);
        await this.saveState();
        return this.#etcd;
      },
      exec: (command, options) => this.runtime.exec(this.topo, node, command, options),
      stop: () => this.stopEtcd(),
      running: (p) => p.alive(),
    }, { logFile: `${this.nodeDir(node)}/etcd.log`, timeoutMs });
  }

  /** Stops etcd, keeping its data. */
  async stopEtcd(): Promise<void> {
    await this.#etcd?.stop("SIGTERM", 5000);
    this.#etcd = undefined;
    await this.saveState();
  }

  /** Runs etcdctl (v3) on the etcd node. */
  async etcdctl(
    args: readonly string[],
    check = true,
  ): Promise<{ code: number; stdout: string; stderr: string }> {
    return await this.runtime.exec(
      this.topo,
      this.etcdNode.name,
      etcdctlCommand({ endpoint: this.endpoint }, args),
      {
        env: { ...ETCDCTL_ENV },
        check,
        timeoutMs: 10_000,
      },
    );
  }

  /** Writes the network config. */
  async putNetworkConfig(): Promise<void> {
    await this.etcdctl(["put", `${this.etcdPrefix}/config`, this.#network]);
  }

  /** The network config (JSON text) in etcd. */
  get network(): string {
    return this.#network;
  }

  /** Writes another network config to etcd (agents read it when they start). */
  async reconfigure(network: string): Promise<void> {
    this.#network = network;
    await this.putNetworkConfig();
    await this.saveState();
  }

  /** The leases in etcd, with their TTLs. */
  async leases(): Promise<LeaseView[]> {
    return parseLeaseViews((await this.etcdctl(listLeasesArgs(this.etcdPrefix))).stdout);
  }

  /** The raw lease keys and JSON values in etcd (for the agent's own decoders). */
  async leaseKvs(): Promise<{ key: string; value: string }[]> {
    return parseLeaseKvs((await this.etcdctl(listLeasesArgs(this.etcdPrefix))).stdout);
  }

  /** The etcd key of the lease a node's subnet.env names (`<prefix>/subnets/10.244.7.0-24`). */
  async #leaseKey(node: string): Promise<string | undefined> {
    const subnet = (await this.subnetEnv(node))?.["FLANNEL_SUBNET"];
    return subnet ? leaseKeyOf(this.etcdPrefix, subnet) : undefined;
  }

  /** Deletes a node's lease from etcd; returns the key deleted. */
  async deleteLease(node: string): Promise<string | undefined> {
    const key = await this.#leaseKey(node);
    if (key) await this.etcdctl(["del", key]);
    return key;
  }

  /**
   * Gives a node's subnet to another host: the lease is rewritten with `publicIp` (and, for vxlan, a VTEP MAC of
   * its own), as when the node's lease expired while it was down and a new node took the subnet. Returns the
   * key, or undefined when the node names no lease.
   */
  async giveLeaseAway(node: string, publicIp: string): Promise<string | undefined> {
    const key = await this.#leaseKey(node);
    if (!key) return undefined;
    const { stdout } = await this.etcdctl(["get", key, "--print-value-only"]);
    await this.etcdctl(["put", key, takenLeaseValue(stdout, publicIp)]);
    return key;
  }

  /**
   * Starts the agent of a node — ours, or upstream flanneld (installed on first use) when the node's label says
   * `flannel-lab.agent: upstream` — with the same flags. Its output is appended to `<lab>/<node>/agent.log`.
   */
  async startAgent(node: string): Promise<Detached> {
    const spec = this.agentNodes.find((n) => n.name === node);
    if (!spec) throw new UserError(`Node "${node}" runs no agent`);
    const dir = this.nodeDir(node);
    await Deno.mkdir(dir, { recursive: true });
    const flags = nodeAgentFlags(spec, {
      endpoint: this.endpoint,
      etcdPrefix: this.etcdPrefix,
      subnetFile: `${dir}/subnet.env`,
    });
    const command = spec.agent === "upstream"
      ? [(await ensureFlanneld()).path, ...flags]
      : ourAgentCommand(flags);
    const startedAt = Date.now();
    const proc = await this.#startDetached(node, command, `${dir}/agent.log`);
    this.#agents.set(node, proc);
    this.#agentStartedAt.set(node, startedAt);
    await this.saveState();
    return proc;
  }

  /**
   * Starts a long-running process on a node: inside its container when the runtime has one (containerlab:
   * its filesystem, process table and network, the programs reaching it through bind mounts), else as a host
   * process in the node's network namespace.
   */
  #startDetached(node: string, command: readonly string[], logFile: string): Promise<Detached> {
    return isInsideRuntime(this.runtime)
      ? this.runtime.startDetached(this.topo, node, command, { logFile })
      : spawnDetached(this.runtime.wrap(this.topo, node, command), { logFile });
  }

  /**
   * When this process started a node's agent (ms since the epoch), or undefined for an agent it did not start
   * (one attached from a saved lab).
   */
  agentStartedAt(node: string): number | undefined {
    return this.#agents.has(node) ? this.#agentStartedAt.get(node) : undefined;
  }

  /** Whether a node's agent process is running. */
  agentRunning(node: string): boolean {
    return this.#agents.has(node);
  }

  /** Stops (or kills with `signal`) a node's agent. */
  async stopAgent(node: string, signal: Deno.Signal = "SIGTERM"): Promise<void> {
    const proc = this.#agents.get(node);
    this.#agents.delete(node);
    await proc?.stop(signal, 5000);
    await this.saveState();
  }

  /** The agents started and not stopped, with their processes. */
  get agents(): ReadonlyMap<string, Detached> {
    return this.#agents;
  }

  /** etcd's process, while it runs. */
  get etcdProcess(): Detached | undefined {
    return this.#etcd;
  }

  /** Where the cluster's state (processes, pods) is kept between commands. */
  get stateFile(): string {
    return `${this.labDir}/state.json`;
  }

  #saving: Promise<void> = Promise.resolve();

  /**
   * Writes the state file: etcd's and the agents' processes and the pods, for inspect/down/exec later. Writes
   * are queued: pods are attached on several nodes at once, and two overlapping writes could otherwise rename in
   * the wrong order and lose a pod. Each queued write records the state as it is when its turn comes.
   */
  saveState(): Promise<void> {
    const next = this.#saving.then(() => this.#writeState());
    this.#saving = next.catch(() => {});
    return next;
  }

  async #writeState(): Promise<void> {
    await writeClusterState(this.stateFile, {
      lab: this.topo.name,
      topology: this.topo.file,
      runtime: this.runtime.name,
      network: this.network,
      etcdPrefix: this.etcdPrefix,
      ...(this.#etcd ? { etcd: refOf(this.#etcd) } : {}),
      agents: Object.fromEntries([...this.#agents].map(([n, p]) => [n, refOf(p)])),
      pods: this.pods,
      updatedAt: new Date().toISOString(),
    });
  }

  /**
   * A cluster rebuilt from the state file an earlier command (`up`) left, or undefined when there is none.
   *
   * @param options runtime, topology and lab directory of the running lab
   */
  static async attach(options: Omit<ClusterOptions, "network">): Promise<Cluster | undefined> {
    const state = await readClusterState(`${options.labDir}/state.json`);
    if (!state) return undefined;
    const c = new Cluster({ ...options, network: state.network, etcdPrefix: state.etcdPrefix });
    if (state.etcd) c.#etcd = attachDetached(state.etcd);
    for (const [n, ref] of Object.entries(state.agents)) c.#agents.set(n, attachDetached(ref));
    c.pods.push(...state.pods);
    return c;
  }

  /** A node's subnet.env as a map, or undefined while the agent has written none. */
  async subnetEnv(node: string): Promise<Record<string, string> | undefined> {
    try {
      return parseSubnetEnv(await Deno.readTextFile(`${this.nodeDir(node)}/subnet.env`));
    } catch {
      return undefined;
    }
  }

  /** A node's agent log so far. */
  async agentLog(node: string): Promise<string> {
    return await Deno.readTextFile(`${this.nodeDir(node)}/agent.log`).catch(() => "");
  }

  #cniBin: Promise<string> | undefined;

  /** Installs the CNI plugin launcher and the reference plugins it delegates to into `<lab>/cni-bin` (once). */
  installCni(): Promise<string> {
    this.#cniBin ??= installCni(this.labDir).catch((error) => {
      this.#cniBin = undefined;
      throw error;
    });
    return this.#cniBin;
  }

  /** Creates `count` pods on a node and attaches each through the CNI plugin. */
  async addPods(node: string, count: number): Promise<Pod[]> {
    const bin = await this.installCni();
    const conf = cniConfig(this.nodeDir(node));
    const added: Pod[] = [];
    const have = this.pods.filter((p) => p.node === node).length;
    for (let i = have + 1; i <= have + count; i++) {
      const netns = `${longName(this.topo, node)}-p${i}`;
      const pod = await attachPod({
        runtime: this.runtime,
        topo: this.topo,
        node,
        id: `${node}/p${i}`,
        netns,
        bin,
        conf,
      });
      this.pods.push(pod);
      added.push(pod);
      await this.saveState();
    }
    return added;
  }

  /** Runs a command inside a pod. */
  podExec(pod: Pod, command: readonly string[], options: { timeoutMs?: number } = {}): Promise<RunResult> {
    return this.runtime.exec(this.topo, pod.node, ["ip", "netns", "exec", pod.netns, ...command], {
      check: false,
      timeoutMs: options.timeoutMs ?? 30_000,
    });
  }

  /** Finds a pod by `node/pN`. */
  pod(id: string): Pod {
    const p = this.pods.find((x) => x.id === id);
    if (!p) {
      throw new UserError(`Pod "${id}" does not exist`, {
        hint: `pods: ${this.pods.map((x) => x.id).join(", ")}`,
      });
    }
    return p;
  }

  /** Stops every agent, then etcd. */
  async stop(): Promise<void> {
    const agents = [...this.#agents.values()];
    this.#agents.clear();
    await Promise.allSettled(agents.map((p) => p.stop("SIGTERM", 5000)));
    await this.stopEtcd();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}
