/**
 * What every step kind asks of a running lab: its nodes, pods and leases, a ping between endpoints, the names of
 * addresses for messages. One object per run, shared by the step and fault kinds (`steps/`, `faults/`), so
 * each of them is a function of this view and its own action.
 *
 * @module
 */
import type { Cluster, LeaseView, Pod } from "../cluster.ts";
import type { RunResult } from "../../cli/process/mod.ts";
import type { NodeSpec } from "../topology/model.ts";
import { formatCidr, parseCidr } from "../../agent/ip.ts";
import { ownerOf } from "../checks/path_mtu.ts";
import type { NodeValues } from "../checks/mirror.ts";
import { expectedReach } from "./expect.ts";
import { Failed, sleep } from "./failed.ts";
import type { PingSpec, Scenario } from "./model.ts";
import { networkFields } from "./network.ts";

/** A node's lease as the checks compare it: subnet, PublicIP, VtepMAC (lower case) and etcd mod revision. */
export interface NodeLease {
  readonly subnet: string;
  /** Empty when subnet.env names a subnet that has no lease in etcd. */
  readonly publicIp: string;
  readonly mac?: string;
  readonly revision?: number;
}

/** Something commands run in: a node, or a pod's namespace. */
export interface Endpoint {
  run(cmd: readonly string[]): Promise<RunResult>;
}

/** The running lab as the step kinds see it. */
export class LabView {
  /** The cluster: runtime, topology, etcd, agents, pods. */
  readonly cluster: Cluster;
  #scenario: Scenario;

  constructor(cluster: Cluster, scenario: Scenario) {
    this.cluster = cluster;
    this.#scenario = scenario;
  }

  /** The scenario, with the network config a `network` fault wrote since. */
  get scenario(): Scenario {
    return this.#scenario;
  }

  /** The network config's `Network`. */
  get network(): string {
    return JSON.parse(this.#scenario.network)["Network"] as string;
  }

  /** Writes another network config to etcd; the steps after it judge the lab by it. */
  async reconfigure(network: Record<string, unknown>): Promise<void> {
    await this.cluster.reconfigure(JSON.stringify(network));
    this.#scenario = { ...this.#scenario, ...networkFields(network) };
  }

  /**
   * Waits for an agent started again after `since` to have done its own start-up: written subnet.env after
   * `since` and rewritten its lease in etcd (a new mod revision), both of which every agent does once it holds
   * its lease. Until then subnet.env and the lease are what the stopped process left behind, and checks that
   * read them would pass at once. Returns when.
   */
  async restartedAgentReady(
    node: string,
    since: number,
    before: NodeLease | undefined,
    deadline: number,
  ): Promise<number> {
    for (;;) {
      const st = await Deno.stat(`${this.cluster.nodeDir(node)}/subnet.env`).catch(() => undefined);
      const wrote = (st?.mtime?.getTime() ?? 0) >= since;
      const now = wrote ? await this.leaseOf(node) : undefined;
      const leased = now?.revision !== undefined &&
        (before?.revision === undefined || now.revision > before.revision);
      if (wrote && leased) return Date.now();
      if (Date.now() > deadline) {
        throw new Failed(
          `${node}'s restarted agent did not ${
            wrote ? "rewrite its lease in etcd" : "write subnet.env"
          } within the step's timeout: it is not up (see ${node}/agent.log)`,
        );
      }
      await sleep(100);
    }
  }

  /** A topology node by name. */
  node(name: string): NodeSpec {
    const n = this.cluster.topo.nodes.find((x) => x.name === name);
    if (!n) throw new Failed(`no node ${name} in the topology`);
    return n;
  }

  /** Which agent a node runs, for messages. */
  agentKind(name: string): string {
    return this.cluster.topo.nodes.find((x) => x.name === name)?.agent ?? "ours";
  }

  /** The flannel device of the scenario's backend, if it has one. */
  get flannelDevice(): string | undefined {
    const b = this.scenario.backend;
    return b === "vxlan" ? `flannel.${this.scenario.vni}` : b === "udp" ? "flannel0" : undefined;
  }

  /** A node (`n1`) or a pod (`n1/p0`) to run commands in. */
  endpoint(id: string): Endpoint {
    const c = this.cluster;
    if (id.includes("/")) {
      const pod = c.pod(id);
      return { run: (cmd) => c.podExec(pod, cmd) };
    }
    return { run: (cmd) => c.runtime.exec(c.topo, id, cmd, { check: false, timeoutMs: 30_000 }) };
  }

  /** Pings a pod from a pod or a node; `out` is ping's whole output. */
  ping(spec: PingSpec): Promise<{ ok: boolean; out: string }> {
    return this.pingAddress(spec.from, this.cluster.pod(spec.to).ip, spec);
  }

  /** Pings an address from a pod or a node. */
  async pingAddress(
    from: string,
    ip: string,
    opts: Pick<PingSpec, "count" | "size" | "dontFragment">,
  ): Promise<{ ok: boolean; out: string }> {
    const args = ["ping", "-n", "-c", String(opts.count), "-i", "0.2", "-W", "1"];
    if (opts.size !== undefined) args.push("-s", String(opts.size));
    if (opts.dontFragment) args.push("-M", "do");
    const r = await this.endpoint(from).run([...args, ip]);
    return { ok: r.code === 0, out: (r.stdout + r.stderr).trim() };
  }

  /** Pod pairs on different nodes whose traffic the backend and topology say must get through. */
  reachablePairs(pods: readonly Pod[] = this.cluster.pods): [Pod, Pod][] {
    const pairs: [Pod, Pod][] = [];
    for (const a of pods) {
      for (const b of pods) {
        if (a.node === b.node) continue;
        if (expectedReach(this.scenario, this.node(a.node), this.node(b.node)).pass) pairs.push([a, b]);
      }
    }
    return pairs;
  }

  /** The lease that a node's subnet.env names, as etcd holds it now. */
  async leaseOf(node: string): Promise<NodeLease | undefined> {
    const env = (await this.cluster.subnetEnv(node))?.["FLANNEL_SUBNET"];
    if (!env) return undefined;
    const subnet = formatCidr(parseCidr(env));
    const l = (await this.cluster.leases().catch(() => [])).find((x) => x.subnet === subnet);
    if (!l) return { subnet, publicIp: "" };
    const data = l.attrs.backendData as { VtepMAC?: string } | undefined;
    return {
      subnet,
      publicIp: l.publicIp,
      revision: l.modRevision,
      ...(data?.VtepMAC ? { mac: data.VtepMAC.toLowerCase() } : {}),
    };
  }

  /** The values that identify each running agent node in kernel readings (from subnet.env and its lease). */
  async nodeValues(): Promise<Map<string, NodeValues>> {
    const c = this.cluster;
    const leases = await c.leases();
    const out = new Map<string, NodeValues>();
    for (const n of c.agentNodes) {
      const own = (await c.subnetEnv(n.name))?.["FLANNEL_SUBNET"];
      if (!own) continue;
      const subnet = formatCidr(parseCidr(own));
      const l = leases.find((x) => x.subnet === subnet);
      if (!l) continue;
      const mac = (l.attrs.backendData as { VtepMAC?: unknown } | undefined)?.VtepMAC;
      out.set(n.name, { subnet, publicIp: l.publicIp, ...(typeof mac === "string" ? { vtepMac: mac } : {}) });
    }
    return out;
  }

  /** The underlay address of a node's agent interface. */
  underlayIp(node: string): string {
    const ip = interfaceIp(this.node(node));
    if (!ip) throw new Failed(`${node} has no address on its agent interface to measure the baseline with`);
    return ip;
  }

  /**
   * What is wrong between the leases in etcd and the lab, one line each: `agents`, a running agent whose
   * subnet.env names a subnet with no lease or a lease that carries another address than the agent's;
   * `strangers`, a lease whose PublicIP is no agent node of the lab (left by a host that is gone, or
   * taken by a stranger). An agent started with `--public-ip` is held to that address.
   */
  async leaseProblems(all: readonly LeaseView[]): Promise<{ agents: string[]; strangers: string[] }> {
    const c = this.cluster;
    const agents: string[] = [];
    const strangers: string[] = [];
    const own = new Map<string, string>();
    for (const n of c.agentNodes) {
      const flag = n.agentFlags.map((f) => /^--?public-ip=(.+)$/.exec(f)?.[1]).find(Boolean);
      const ip = flag ?? interfaceIp(n);
      if (ip) own.set(n.name, ip);
    }
    for (const n of c.agentNodes.filter((x) => c.agentRunning(x.name))) {
      const env = (await c.subnetEnv(n.name))?.["FLANNEL_SUBNET"];
      if (!env) continue;
      const subnet = formatCidr(parseCidr(env));
      const l = all.find((x) => x.subnet === subnet);
      const ip = own.get(n.name);
      if (!l) agents.push(`${n.name}'s subnet.env says ${subnet}, which has no lease in etcd`);
      else if (ip && l.publicIp !== ip) {
        agents.push(
          `${n.name}'s subnet.env says ${subnet}, whose lease carries PublicIP ${l.publicIp}, not ${ip}`,
        );
      }
    }
    const nodeIps = new Set(own.values());
    for (const l of all) {
      if (!nodeIps.has(l.publicIp)) {
        strangers.push(`the lease ${l.subnet} carries PublicIP ${l.publicIp}, which is no node of this lab`);
      }
    }
    return { agents, strangers };
  }

  /** An address with the topology node (and interface) that holds it, for messages. */
  hopName(ip: string): string {
    const owner = ownerOf(this.cluster.topo, ip);
    return owner ? `${owner.node.name} (${ip} on ${owner.iface})` : ip;
  }
}

/** The first address the topology gives a node's agent interface, without its prefix length. */
function interfaceIp(spec: NodeSpec): string | undefined {
  return spec.agentIface ? spec.addresses[spec.agentIface]?.[0]?.split("/")[0] : undefined;
}
