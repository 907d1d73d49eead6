/**
 * A whole `test` or `up` as a function (used by the CLI, the repro runner, the e2e tests and the benchmarks):
 * deploy a {@linkcode LabPlan}, start etcd, agents and pods, run the steps, and tear everything down (or keep
 * it running, for `up`). The teardown, also on SIGINT/SIGTERM, is the {@linkcode Lab}'s.
 *
 * @module
 */
import { UserError } from "../../cli/errors.ts";
import { Cluster } from "../cluster.ts";
import type { LabMap } from "../report/pictures.ts";
import type { StoredResults, StoredRun } from "../report/results.ts";
import { refuseUnsupportedSteps } from "../runtime/kernel_features.ts";
import { openRuntime } from "../runtime/mod.ts";
import type { Scenario, StepResult } from "../scenario/model.ts";
import { type Progress, ScenarioRunner } from "../scenario/run.ts";
import type { Topology } from "../topology/model.ts";
import { Lab } from "./lab.ts";
import type { LabPlan } from "./plan.ts";

/** Options of {@linkcode runLab}. */
export interface RunLabOptions {
  readonly progress: Progress;
  /** Called with a line for each phase (deploy, etcd, agents). */
  readonly log?: (line: string) => void;
  /** Keep the lab running after the steps (default false). */
  readonly keep?: boolean;
  /** Only these step indexes run (`--rerun-failed`); the others are reported as skipped. */
  readonly only?: ReadonlySet<number>;
}

/** What a run produced. */
export interface RunLabResult {
  readonly topo: Topology;
  readonly scenario: Scenario;
  readonly labDir: string;
  readonly results: StepResult[];
  readonly ok: boolean;
  readonly timings: Readonly<Record<string, number>>;
  /** The lab as it ran, read before teardown. */
  readonly map: LabMap;
}

/** The lab's nodes, addresses, pod subnets (from subnet.env) and links, for the report's picture. */
export async function labMap(cluster: Cluster, scenario: Scenario): Promise<LabMap> {
  const device = scenario.backend === "vxlan"
    ? `flannel.${scenario.vni}`
    : scenario.backend === "udp"
    ? "flannel0"
    : undefined;
  const nodes = await Promise.all(cluster.topo.nodes.map(async (n) => {
    const subnet = n.role === "node" ? (await cluster.subnetEnv(n.name))?.["FLANNEL_SUBNET"] : undefined;
    return {
      name: n.name,
      role: n.role,
      ...(n.agent ? { agent: n.agent } : {}),
      addresses: n.addresses,
      ...(subnet ? { podSubnet: subnet } : {}),
      ...(n.role === "node" && device ? { device } : {}),
    };
  }));
  const links = cluster.topo.links.map((l) => ({
    a: `${l.a.node}:${l.a.iface}`,
    b: `${l.b.node}:${l.b.iface}`,
    mtu: l.mtu,
  }));
  return { backend: scenario.backend, nodes, links };
}

/**
 * Whether a run passed: no step failed. Skipped steps do not count against it: those `--rerun-failed` left out
 * passed before, and those skipped after a critical failure come with that failure.
 */
export function passed(results: readonly StepResult[]): boolean {
  return results.every((r) => r.status !== "fail");
}

/**
 * Runs a plan's scenario end to end. Everything created is removed before it returns (or on a signal), unless
 * `keep` is set.
 *
 * @param plan the topology and scenario, read once by the caller
 * @param options progress output, phase log, keep, the steps to run
 * @returns the step results, timings and the lab's map
 */
export async function runLab(plan: LabPlan, options: RunLabOptions): Promise<RunLabResult> {
  const { topo, scenario, labDir } = plan;
  // A step this kernel cannot run (netem delay) is refused before anything is deployed, whoever runs the lab.
  await refuseUnsupportedSteps(scenario);
  const lab = await Lab.deploy(plan, options.log ? { log: options.log } : {});
  try {
    if (options.keep) lab.keep();
    const cluster = await lab.startCluster();
    const only = options.only;
    const results = await new ScenarioRunner(cluster, scenario, only ? (s) => only.has(s.index) : undefined)
      .run(options.progress);
    lab.finish();
    const map = await labMap(cluster, scenario);
    return { topo, scenario, labDir, results, ok: passed(results), timings: lab.timings, map };
  } finally {
    await lab[Symbol.asyncDispose]();
  }
}

/** A run's results as `results.json` stores them and the HTML report shows them. */
export function storedResults(r: RunLabResult, runs: StoredRun[], runtime: string): StoredResults {
  return {
    lab: r.topo.name,
    topology: r.topo.file,
    scenario: r.scenario.file,
    description: r.scenario.description,
    runtime,
    labDir: r.labDir,
    runs,
    map: r.map,
  };
}

/** What `up` started. */
export interface UpResult {
  readonly topo: Topology;
  readonly scenario: Scenario;
  readonly labDir: string;
  readonly cluster: Cluster;
  readonly timings: Readonly<Record<string, number>>;
}

/**
 * Deploys a lab and starts etcd, the agents and the pods, and leaves them running (detached, their state in
 * `<lab dir>/state.json`) for `inspect`, `exec` and `down`. On failure or a signal everything is removed.
 *
 * @param plan the topology and scenario (network config, pods per node, deferred agents)
 * @param options phase log, how long agents may take to write subnet.env
 * @returns what runs
 */
export async function upLab(
  plan: LabPlan,
  options: {
    readonly log?: (line: string) => void;
    readonly readyTimeoutMs?: number;
    /** Start again an agent that exits before writing subnet.env ({@linkcode Lab.waitAgentsReady}). */
    readonly restartExitedAgents?: boolean;
  } = {},
): Promise<UpResult> {
  const { topo, scenario, labDir } = plan;
  await refuseUnsupportedSteps(scenario);
  const previous = await Cluster.attach({ runtime: openRuntime(plan.runtime), topo, labDir });
  if (previous?.etcdProcess && (await previous.etcdProcess.alive())) {
    throw new UserError(`Lab "${topo.name}" is already up (etcd pid ${previous.etcdProcess.pid})`, {
      hint: `flannel-lab inspect -t ${topo.file}, or flannel-lab down -t ${topo.file} first`,
    });
  }
  await using lab = await Lab.deploy(plan, options.log ? { log: options.log } : {});
  const cluster = await lab.startCluster();
  await lab.waitAgentsReady(options.readyTimeoutMs, { restartExited: options.restartExitedAgents ?? false });
  await lab.addPods();
  lab.finish();
  options.log?.(
    `etcd, ${lab.startingAgents.length} agents and ${cluster.pods.length} pods up in ${
      lab.timings["totalMs"]
    } ms`,
  );
  lab.keep();
  return { topo, scenario, labDir, cluster, timings: lab.timings };
}

/**
 * Stops a lab's processes (from its state file, so also after a crash) and removes its namespaces.
 *
 * @param topo the topology
 * @param options runtime and lab directory
 * @returns the namespaces removed and the processes stopped
 */
export async function downLab(
  topo: Topology,
  options: { readonly runtime?: string; readonly labDir: string },
): Promise<{ removed: readonly string[]; stopped: number; durationMs: number }> {
  const started = performance.now();
  const runtime = openRuntime(options.runtime);
  const cluster = await Cluster.attach({ runtime, topo, labDir: options.labDir });
  let stopped = 0;
  if (cluster) {
    const procs = [...cluster.agents.values(), ...(cluster.etcdProcess ? [cluster.etcdProcess] : [])];
    for (const p of procs) if (await p.alive()) stopped++;
    await cluster.stop().catch(() => {});
  }
  const r = await runtime.destroy({ topology: topo });
  await Deno.remove(`${options.labDir}/state.json`).catch(() => {});
  return { removed: r.removed, stopped, durationMs: Math.round(performance.now() - started) };
}
