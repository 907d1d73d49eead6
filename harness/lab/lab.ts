/**
 * A deployed lab as one disposable object: `await using lab = await Lab.deploy(plan)` deploys the nodes and
 * links, `startCluster()` starts etcd and the agents, and disposing it stops every process and removes every
 * namespace, exactly once, whether the run returned, threw, or was interrupted by SIGINT/SIGTERM. `keep()`
 * leaves it all running (`up`, `test --keep`).
 *
 * @module
 */
import { UserError } from "../../cli/errors.ts";
import { lastLines } from "../../cli/text.ts";
import { Cluster } from "../cluster.ts";
import { openRuntime } from "../runtime/mod.ts";
import type { Runtime } from "../runtime/runtime.ts";
import type { LabPlan } from "./plan.ts";

/** Options of {@linkcode Lab.deploy}. */
export interface LabOptions {
  /** Called with a line for each phase (deploy, etcd, agents). */
  readonly log?: (line: string) => void;
}

/** A lab whose nodes and links exist; see the module documentation. */
export class Lab implements AsyncDisposable {
  readonly plan: LabPlan;
  readonly runtime: Runtime;
  /** Milliseconds per phase: `deployMs`, `etcdMs`, `agentsMs`, `totalMs`, `teardownMs`. */
  readonly timings: Record<string, number> = {};
  readonly #log: (line: string) => void;
  readonly #started = performance.now();
  #cluster: Cluster | undefined;
  #kept = false;
  // One teardown, shared: a signal starts it while a scenario is still running, and the run's own disposal
  // must wait for that same teardown, not return early and let the process exit half-way through it.
  #teardown: Promise<void> | undefined;
  readonly #onSignal = () => {
    this.#tearDown().finally(() => Deno.exit(130));
  };

  private constructor(plan: LabPlan, log: (line: string) => void) {
    this.plan = plan;
    this.runtime = openRuntime(plan.runtime);
    this.#log = log;
  }

  /**
   * Deploys a plan's nodes and links, from empty node directories (a second run of a lab must not inherit the
   * first one's etcd data, leases or subnet.env). On failure everything made so far is removed.
   */
  static async deploy(plan: LabPlan, options: LabOptions = {}): Promise<Lab> {
    const lab = new Lab(plan, options.log ?? (() => {}));
    Deno.addSignalListener("SIGINT", lab.#onSignal);
    Deno.addSignalListener("SIGTERM", lab.#onSignal);
    try {
      const { topo, labDir } = plan;
      await Promise.all(
        topo.nodes.map((n) => Deno.remove(`${labDir}/${n.name}`, { recursive: true }).catch(() => {})),
      );
      const d = await lab.runtime.deploy(topo, { labDir });
      lab.timings["deployMs"] = d.durationMs;
      lab.#log(
        `deployed ${topo.nodes.length} nodes and ${topo.links.length} links in ${d.durationMs} ms (${labDir})`,
      );
      for (const n of topo.notes) lab.#log(`note: ${n}`);
      return lab;
    } catch (error) {
      await lab[Symbol.asyncDispose]();
      throw error;
    }
  }

  /** The cluster, once {@linkcode Lab.startCluster} has started it. */
  get cluster(): Cluster {
    if (!this.#cluster) throw new Error("the lab's cluster has not been started");
    return this.#cluster;
  }

  /** The agent nodes the scenario starts at once (the others wait for a later `agent start` step). */
  get startingAgents(): string[] {
    const deferred = this.plan.scenario.deferAgents;
    return this.cluster.agentNodes.map((n) => n.name).filter((n) => !deferred.includes(n));
  }

  /** Starts etcd on the etcd node, writes the network config, and starts the agents not deferred. */
  async startCluster(): Promise<Cluster> {
    const { topo, labDir, scenario } = this.plan;
    const cluster = new Cluster({ runtime: this.runtime, topo, labDir, network: scenario.network });
    this.#cluster = cluster;
    await cluster.startEtcd();
    await cluster.putNetworkConfig();
    this.timings["etcdMs"] = this.#since();
    this.#log(`etcd answers at ${cluster.endpoint}; network config ${scenario.network}`);
    const agents = this.startingAgents;
    for (const n of agents) await cluster.startAgent(n);
    this.#log(`agents started on ${agents.join(", ")}`);
    return cluster;
  }

  /**
   * Waits until every started agent has written its subnet.env. An agent that exits first fails the wait at
   * once, with the end of its log, or, with `restartExited`, is started again as a supervisor (systemd, a
   * DaemonSet) would: upstream flanneld exits when another node wins the race for the same free subnet, which
   * a bring-up of a hundred nodes at once makes likely. Restarts are counted in `timings.agentRestarts`.
   */
  async waitAgentsReady(
    timeoutMs = 60_000,
    options: { readonly restartExited?: boolean } = {},
  ): Promise<void> {
    const cluster = this.cluster;
    const deadline = Date.now() + timeoutMs;
    let restarts = 0;
    const failure = async (n: string, what: string) => {
      // The lab is usually torn down right after this (a test run, a bench), taking the log with it.
      const tail = lastLines(await cluster.agentLog(n).catch(() => ""), 12) || "(the log is empty)";
      return new UserError(`${n}'s agent ${what}; its log ends:\n${tail}`, {
        hint: `see ${cluster.nodeDir(n)}/agent.log`,
      });
    };
    for (const n of this.startingAgents) {
      let polls = 0;
      while (!(await cluster.subnetEnv(n))?.["FLANNEL_SUBNET"]) {
        if (Date.now() > deadline) {
          throw await failure(n, `wrote no subnet.env within ${Math.round(timeoutMs / 1000)} s`);
        }
        // Reading /proc for every agent on every poll would cost more than the wait: every 20th poll (1 s).
        if (++polls % 20 === 0 && !(await cluster.agents.get(n)?.alive())) {
          if (!options.restartExited) throw await failure(n, "exited before writing subnet.env");
          restarts++;
          this.#log(`${n}'s agent exited before writing subnet.env; starting it again`);
          await cluster.startAgent(n);
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    this.timings["agentsMs"] = this.#since();
    this.timings["agentRestarts"] = restarts;
  }

  /** Attaches the scenario's pods to every started agent's node through the CNI plugin. */
  async addPods(): Promise<void> {
    const cluster = this.cluster;
    await Promise.all(this.startingAgents.map((n) => cluster.addPods(n, this.plan.scenario.podsPerNode)));
  }

  /** Milliseconds since the lab was deployed, recorded as `totalMs`. */
  finish(): number {
    return this.timings["totalMs"] = this.#since();
  }

  /** Leaves the lab running when it is disposed: processes stay detached, their state in the lab directory. */
  keep(): void {
    this.#kept = true;
  }

  /** Stops the cluster and removes the lab's namespaces, unless kept; then stops listening for signals. */
  async [Symbol.asyncDispose](): Promise<void> {
    try {
      await this.#tearDown();
    } finally {
      Deno.removeSignalListener("SIGINT", this.#onSignal);
      Deno.removeSignalListener("SIGTERM", this.#onSignal);
    }
  }

  #tearDown(): Promise<void> {
    return this.#teardown ??= (async () => {
      if (this.#kept) return;
      const t = performance.now();
      await this.#cluster?.stop().catch(() => {});
      await this.runtime.destroy({ topology: this.plan.topo });
      await Deno.remove(`${this.plan.labDir}/state.json`).catch(() => {});
      this.timings["teardownMs"] = Math.round(performance.now() - t);
    })();
  }

  #since(): number {
    return Math.round(performance.now() - this.#started);
  }
}
