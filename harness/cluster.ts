/**
 * The flannel cluster on a deployed lab: etcd on the etcd node (bound to its lab address), the network config,
 * one agent per `node` (ours, or upstream flanneld for `flannel-lab.agent: upstream`) with its log kept in the lab
 * directory (`<node>/agent.log` for both kinds), and pods —
 * network namespaces attached to their node through our CNI plugin, exactly as a container runtime would.
 * Everything runs through the {@linkcode Runtime}, so the same code drives any runtime: host processes in the
 * nodes' network namespaces (netns), or processes inside the nodes' containers (containerlab, `runtime/inside.ts`).
 *
 * @module
 */
import { agentV8FlagsArg } from "../agent/v8_flags.ts";
import { UserError } from "../cli/errors.ts";
import { decodeLeaseAttrs, parseLeaseKey } from "../agent/subnet/lease_codec.ts";
import type { LeaseAttrs, LeaseSubnets } from "../agent/subnet/lease.ts";
import { formatCidr, formatIp, parseCidr } from "../agent/ip.ts";
import { run, type RunResult } from "./process.ts";
import { attachDetached, type Detached, type DetachedRef, spawnDetached } from "./detached.ts";
import { isInsideRuntime } from "./runtime/inside.ts";
import type { Runtime } from "./runtime/runtime.ts";
import { ensureFlanneld } from "./upstream/mod.ts";
import { longName, type NodeSpec, type Topology } from "./topology/model.ts";

const MOD = new URL("../mod.ts", import.meta.url);

/** A pod: a namespace attached to a node through the CNI plugin. */
export interface Pod {
  /** `node/pN`, how scenarios name it. */
  readonly id: string;
  readonly node: string;
  /** The pod's namespace name. */
  readonly netns: string;
  readonly ip: string;
}

/** A lease as read back from etcd. */
export interface LeaseView {
  readonly key: string;
  readonly subnet: string;
  readonly publicIp: string;
  readonly attrs: LeaseAttrs;
  readonly ttl?: number;
  /** The key's etcd mod revision: it changes whenever an agent (re)writes its lease. */
  readonly modRevision: number;
}

/** What the state file holds. */
export interface ClusterState {
  readonly lab: string;
  readonly topology: string;
  readonly runtime: string;
  readonly network: string;
  readonly etcdPrefix: string;
  readonly etcd?: DetachedRef;
  readonly agents: Readonly<Record<string, DetachedRef>>;
  readonly pods: readonly Pod[];
  readonly updatedAt: string;
}

function refOf(p: Detached): DetachedRef {
  return { pid: p.pid, startTime: p.startTime, command: p.command, logFile: p.logFile };
}

/** Options of {@linkcode Cluster}. */
export interface ClusterOptions {
  readonly runtime: Runtime;
  readonly topo: Topology;
  readonly labDir: string;
  /** The network config JSON written to etcd. */
  readonly network: string;
  readonly etcdPrefix?: string;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
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
    this.endpoint = `http://${etcd.etcdAddress}:2379`;
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
    const dir = this.nodeDir(this.etcdNode.name);
    const addr = this.etcdNode.etcdAddress!;
    this.#etcd = await this.#startDetached(this.etcdNode.name, [
      "etcd",
      "--name=flannel-lab",
      `--data-dir=${dir}/etcd-data`,
      `--listen-client-urls=${this.endpoint}`,
      `--advertise-client-urls=${this.endpoint}`,
      `--listen-peer-urls=http://${addr}:2380`,
      `--initial-advertise-peer-urls=http://${addr}:2380`,
      `--initial-cluster=flannel-lab=http://${addr}:2380`,
      // One member: nothing to fail over to, so a short election timeout only makes it lead sooner (about
      // 0.1 s instead of 1 s after start, the largest share of a lab's bring-up with the defaults).
      "--heartbeat-interval=10",
      "--election-timeout=100",
      "--log-level=warn",
      "--logger=zap",
    ], `${dir}/etcd.log`);
    await this.saveState();
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const r = await this.etcdctl(
        ["--dial-timeout=1s", "--command-timeout=1s", "endpoint", "health"],
        false,
      );
      if (r.code === 0) return;
      if (Date.now() > deadline) {
        const log = await Deno.readTextFile(`${dir}/etcd.log`).catch(() => "");
        await this.stopEtcd();
        throw new UserError(
          `etcd did not answer at ${this.endpoint} within ${timeoutMs} ms: ${log.slice(-1000)}`,
        );
      }
      await sleep(50);
    }
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
    return await this.runtime.exec(this.topo, this.etcdNode.name, [
      "etcdctl",
      `--endpoints=${this.endpoint}`,
      ...args,
    ], {
      env: { ETCDCTL_API: "3" },
      check,
      timeoutMs: 10_000,
    });
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
    const { stdout } = await this.etcdctl(["get", "--prefix", `${this.etcdPrefix}/subnets/`, "-w", "json"]);
    const parsed = JSON.parse(stdout) as {
      kvs?: { key: string; value: string; lease?: number | string; mod_revision?: number }[];
    };
    const out: LeaseView[] = [];
    for (const kv of parsed.kvs ?? []) {
      const key = atob(kv.key);
      const subnets = parseLeaseKey(key.slice(key.lastIndexOf("/") + 1)) as LeaseSubnets | undefined;
      if (!subnets?.subnet) continue;
      const attrs = decodeLeaseAttrs(atob(kv.value));
      out.push({
        key,
        subnet: formatCidr(subnets.subnet),
        publicIp: formatIp(attrs.publicIp),
        attrs,
        modRevision: Number(kv.mod_revision ?? 0),
      });
    }
    return out;
  }

  /** The raw lease keys and JSON values in etcd (for the agent's own decoders). */
  async leaseKvs(): Promise<{ key: string; value: string }[]> {
    const { stdout } = await this.etcdctl(["get", "--prefix", `${this.etcdPrefix}/subnets/`, "-w", "json"]);
    const parsed = JSON.parse(stdout) as { kvs?: { key: string; value: string }[] };
    return (parsed.kvs ?? []).map((kv) => ({ key: atob(kv.key), value: atob(kv.value) }));
  }

  /** The etcd key of the lease a node's subnet.env names (`<prefix>/subnets/10.244.7.0-24`). */
  async #leaseKey(node: string): Promise<string | undefined> {
    const subnet = (await this.subnetEnv(node))?.["FLANNEL_SUBNET"];
    if (!subnet) return undefined;
    return `${this.etcdPrefix}/subnets/${formatCidr(parseCidr(subnet)).replace("/", "-")}`;
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
    const value = stdout.trim() ? JSON.parse(stdout) as Record<string, unknown> : {};
    const data = value["BackendData"] as Record<string, unknown> | null | undefined;
    const taken = {
      ...value,
      PublicIP: publicIp,
      ...(data && "VtepMAC" in data ? { BackendData: { ...data, VtepMAC: "02:00:c0:00:02:01" } } : {}),
    };
    await this.etcdctl(["put", key, JSON.stringify(taken)]);
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
    // Both agents take the same flags (ours uses flanneld's names): as kube-flannel's manifest runs them, with
    // --ip-masq the agent masquerades only traffic leaving the pod network, and the CNI plugin tells the bridge
    // not to masquerade. Without it the bridge masquerades pod-to-pod traffic across nodes too.
    const flags = [
      `--etcd-endpoints=${this.endpoint}`,
      `--etcd-prefix=${this.etcdPrefix}`,
      ...(spec.ifaceAuto ? [] : [`--iface=${spec.agentIface}`]),
      `--subnet-file=${dir}/subnet.env`,
      ...(spec.agentFlags.some((f) => /^--?ip-masq(=|$)/.test(f)) ? [] : ["--ip-masq"]),
      ...spec.agentFlags,
    ];
    const command = spec.agent === "upstream" ? [(await ensureFlanneld()).path, ...flags] : [
      Deno.execPath(),
      "run",
      "--quiet",
      "--allow-all",
      "--unstable-net",
      "--no-check",
      agentV8FlagsArg(),
      decodeURIComponent(MOD.pathname),
      "agent",
      ...flags,
    ];
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
    const state: ClusterState = {
      lab: this.topo.name,
      topology: this.topo.file,
      runtime: this.runtime.name,
      network: this.network,
      etcdPrefix: this.etcdPrefix,
      ...(this.#etcd ? { etcd: refOf(this.#etcd) } : {}),
      agents: Object.fromEntries([...this.#agents].map(([n, p]) => [n, refOf(p)])),
      pods: this.pods,
      updatedAt: new Date().toISOString(),
    };
    await Deno.mkdir(this.labDir, { recursive: true });
    const tmp = `${this.stateFile}.${crypto.randomUUID().slice(0, 8)}.tmp`;
    await Deno.writeTextFile(tmp, JSON.stringify(state, null, 2) + "\n");
    await Deno.rename(tmp, this.stateFile);
  }

  /**
   * A cluster rebuilt from the state file an earlier command (`up`) left, or undefined when there is none.
   *
   * @param options runtime, topology and lab directory of the running lab
   */
  static async attach(options: Omit<ClusterOptions, "network">): Promise<Cluster | undefined> {
    let state: ClusterState;
    try {
      state = JSON.parse(await Deno.readTextFile(`${options.labDir}/state.json`)) as ClusterState;
    } catch {
      return undefined;
    }
    const c = new Cluster({ ...options, network: state.network, etcdPrefix: state.etcdPrefix });
    if (state.etcd) c.#etcd = attachDetached(state.etcd);
    for (const [n, ref] of Object.entries(state.agents)) c.#agents.set(n, attachDetached(ref));
    c.pods.push(...state.pods);
    return c;
  }

  /** A node's subnet.env as a map, or undefined while the agent has written none. */
  async subnetEnv(node: string): Promise<Record<string, string> | undefined> {
    let text: string;
    try {
      text = await Deno.readTextFile(`${this.nodeDir(node)}/subnet.env`);
    } catch {
      return undefined;
    }
    const out: Record<string, string> = {};
    for (const line of text.split("\n")) {
      const i = line.indexOf("=");
      if (i > 0) out[line.slice(0, i)] = line.slice(i + 1);
    }
    return out;
  }

  /** A node's agent log so far. */
  async agentLog(node: string): Promise<string> {
    return await Deno.readTextFile(`${this.nodeDir(node)}/agent.log`).catch(() => "");
  }

  #cniBin: Promise<string> | undefined;

  /** Installs the CNI plugin launcher and the reference plugins it delegates to into `<lab>/cni-bin` (once). */
  installCni(): Promise<string> {
    this.#cniBin ??= this.#installCni().catch((error) => {
      this.#cniBin = undefined;
      throw error;
    });
    return this.#cniBin;
  }

  async #installCni(): Promise<string> {
    const bin = `${this.labDir}/cni-bin`;
    await Deno.mkdir(bin, { recursive: true });
    try {
      await Deno.stat(`${bin}/flannel`);
    } catch {
      await run([
        Deno.execPath(),
        "run",
        "--quiet",
        "--allow-all",
        "--no-check",
        decodeURIComponent(MOD.pathname),
        "cni",
        "install",
        "--dir",
        bin,
      ], { timeoutMs: 60_000 });
    }
    for (const plugin of ["bridge", "host-local", "loopback"]) {
      await Deno.symlink(`/usr/lib/cni/${plugin}`, `${bin}/${plugin}`).catch(() => {});
    }
    return bin;
  }

  /** Creates `count` pods on a node and attaches each through the CNI plugin. */
  async addPods(node: string, count: number): Promise<Pod[]> {
    const bin = await this.installCni();
    const dir = this.nodeDir(node);
    const conf = JSON.stringify({
      cniVersion: "1.0.0",
      name: "cbr0",
      type: "flannel",
      subnetFile: `${dir}/subnet.env`,
      dataDir: `${dir}/cni/flannel`,
      ipam: { dataDir: `${dir}/cni/host-local` },
      delegate: { hairpinMode: true, isDefaultGateway: true },
    });
    const added: Pod[] = [];
    const have = this.pods.filter((p) => p.node === node).length;
    for (let i = have + 1; i <= have + count; i++) {
      const id = `${node}/p${i}`;
      const netns = `${longName(this.topo, node)}-p${i}`;
      const netnsPath = await this.runtime.addPodNetns(this.topo, node, { id, name: netns });
      // Inside the node's container where there is one: the plugin, its delegates and CNI_NETNS are the node's.
      const exec = isInsideRuntime(this.runtime)
        ? this.runtime.execInside.bind(this.runtime)
        : this.runtime.exec.bind(this.runtime);
      const r = await exec(this.topo, node, [`${bin}/flannel`], {
        stdin: conf,
        check: false,
        timeoutMs: 60_000,
        env: {
          CNI_COMMAND: "ADD",
          CNI_CONTAINERID: netns,
          CNI_NETNS: netnsPath,
          CNI_IFNAME: "eth0",
          CNI_PATH: bin,
        },
      });
      if (r.code !== 0) {
        throw new UserError(
          `CNI ADD of pod ${id} failed (exit ${r.code}): ${(r.stdout + r.stderr).trim().slice(-800)}`,
        );
      }
      const result = JSON.parse(r.stdout) as { ips?: { address: string }[] };
      const ip = result.ips?.[0]?.address.split("/")[0];
      if (!ip) throw new UserError(`CNI ADD of pod ${id} returned no address: ${r.stdout.slice(0, 400)}`);
      const pod = { id, node, netns, ip };
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
