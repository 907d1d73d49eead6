/**
 * A whole `test` run as a function (used by the CLI, the e2e tests and the benchmark): resolve the topology and
 * scenario, deploy, start etcd/agents/pods, run the steps, report, and tear everything down — in `finally` and
 * on SIGINT/SIGTERM.
 *
 * @module
 */
import { UserError } from "../cli/errors.ts";
import { Cluster } from "./cluster.ts";
import { openRuntime } from "./runtime/mod.ts";
import { refuseUnsupportedSteps } from "./runtime/kernel_features.ts";
import type { Runtime } from "./runtime/runtime.ts";
import type { StepResult } from "./scenario/model.ts";
import type { LabMap } from "./report/pictures.ts";
import type { StoredResults, StoredRun } from "./report/results.ts";
import type { Progress } from "./scenario/run.ts";
import { ScenarioRunner } from "./scenario/run.ts";
import { parseScenario } from "./scenario/parse.ts";
import type { Scenario } from "./scenario/model.ts";
import { absolute, readTopology } from "./topology/read.ts";
import { type AgentKind, labDir as labDirOf, type Topology } from "./topology/model.ts";

/** The scenario file beside a topology: `x.clab.yml` → `x.scenario.yml`. */
export function scenarioPathFor(topologyPath: string): string {
  return topologyPath.replace(/\.clab\.ya?ml$/, "") + ".scenario.yml";
}

const LAB_NAME = /^[a-zA-Z0-9][a-zA-Z0-9-._]*$/;

/**
 * A topology under another lab name (containerlab's `--name`): its namespaces, markers and lab directory follow
 * the new name, so two runs of one file do not meet.
 *
 * @param topo the topology
 * @param name the lab name, or undefined to keep the file's
 */
export function renameLab(topo: Topology, name: string | undefined): Topology {
  if (name === undefined || name === topo.name) return topo;
  if (!LAB_NAME.test(name)) {
    throw new UserError(`Invalid lab name "${name}"`, { hint: "use letters, digits, '-', '.', '_'" });
  }
  return { ...topo, name };
}

/**
 * A topology with every node running one agent (`repro run --agent`), whatever its labels say.
 *
 * @param topo the topology
 * @param agent the agent, or undefined to keep the labels'
 */
export function withAgent(topo: Topology, agent: AgentKind | undefined): Topology {
  if (agent === undefined) return topo;
  return { ...topo, nodes: topo.nodes.map((n) => n.role === "node" ? { ...n, agent } : n) };
}

/** Reads a topology and its scenario (both validated) without touching the host. */
export async function loadLab(
  topologyPath: string,
  scenarioPath?: string,
  name?: string,
  agent?: AgentKind,
): Promise<{ topo: Topology; scenario: Scenario }> {
  const topo = withAgent(renameLab(await readTopology(topologyPath), name), agent);
  const file = absolute(scenarioPath ?? scenarioPathFor(topologyPath));
  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch (error) {
    throw new UserError(`Cannot read scenario "${file}": ${(error as Error).message}`, {
      hint: "put <name>.scenario.yml beside <name>.clab.yml, or pass --scenario FILE",
    });
  }
  return { topo, scenario: parseScenario(file, text, topo) };
}

/** The resolved plan as text (`--dry-run`); without a scenario, the topology part of it. */
export function describePlan(topo: Topology, scenario: Scenario | undefined, labDir: string): string {
  const lines = [
    `lab ${topo.name} (${topo.file}), lab directory ${labDir}`,
    `nodes:`,
    ...topo.nodes.map((n) =>
      `  ${n.name.padEnd(6)} ${n.role.padEnd(7)} ${
        Object.entries(n.addresses).map(([i, a]) => `${i}=${a.join(",")}`).join(" ")
      }${
        n.role === "node"
          ? `  agent ${n.agent} ${
            n.ifaceAuto ? `(no --iface: ${n.agentIface} has the default route)` : `--iface=${n.agentIface}`
          } ${n.agentFlags.join(" ")}`
          : ""
      }${n.role === "etcd" ? `  etcd on ${n.etcdAddress}:2379` : ""}`
    ),
    `links:`,
    ...topo.links.map((l) => `  ${l.label} mtu ${l.mtu}`),
    ...(scenario ? [] : [
      `no scenario: flannel-lab test needs ${
        scenarioPathFor(topo.file).split("/").pop()
      } beside it, or --scenario`,
    ]),
    ...(scenario
      ? [
        `network config: ${scenario.network}`,
        `pods: ${scenario.podsPerNode} per node${
          scenario.deferAgents.length ? `; agents started later: ${scenario.deferAgents.join(", ")}` : ""
        }`,
        `steps:`,
      ]
      : []),
    ...(scenario?.steps ?? []).map((s) =>
      `  ${String(s.index).padStart(2)}. ${s.name} (timeout ${s.timeoutMs / 1000} s${
        s.critical ? ", critical" : ""
      })`
    ),
    ...topo.notes.map((n) => `note: ${n}`),
    ...topo.netnsLimits.map((p) =>
      `note: the netns runtime cannot run this (containerlab can): line ${p.line}: ${p.field}: ${p.message}`
    ),
  ];
  return lines.join("\n");
}

/**
 * Removes what an earlier run left in the nodes' directories (etcd's data, subnet.env, logs, captures), so a run
 * starts from an empty etcd and agents without a previous subnet, as a fresh cluster would. Without it a
 * second run of a lab inherits the first one's leases and subnets.
 */
async function freshNodeDirs(topo: Topology, labDir: string): Promise<void> {
  await Promise.all(
    topo.nodes.map((n) => Deno.remove(`${labDir}/${n.name}`, { recursive: true }).catch(() => {})),
  );
}

/** Options of {@linkcode runLab}. */
export interface RunLabOptions {
  readonly scenarioPath?: string;
  readonly runtime?: string;
  /** Base directory of lab directories (default: beside the topology, or $CLAB_LABDIR_BASE). */
  readonly labDirBase?: string;
  readonly progress: Progress;
  /** Called with a line for each phase (deploy, etcd, agents). */
  readonly log?: (line: string) => void;
  /** Keep the lab running after the steps (default false). */
  readonly keep?: boolean;
  /** Lab name override (`--name`). */
  readonly name?: string;
  /** Every node runs this agent, whatever the topology's labels say. */
  readonly agent?: AgentKind;
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

/** Runs a topology's scenario end to end. Everything created is removed before it returns (or on a signal). */
export async function runLab(topologyPath: string, options: RunLabOptions): Promise<RunLabResult> {
  const { topo, scenario } = await loadLab(topologyPath, options.scenarioPath, options.name, options.agent);
  // A step this kernel cannot run (netem delay) is refused before anything is deployed, whoever runs the lab.
  await refuseUnsupportedSteps(scenario);
  const runtime: Runtime = openRuntime(options.runtime);
  const labDir = labDirOf(topo, options.labDirBase ?? Deno.env.get("CLAB_LABDIR_BASE"));
  const log = options.log ?? (() => {});
  const timings: Record<string, number> = {};
  let cluster: Cluster | undefined;
  // One teardown, shared: a signal starts it while the scenario is still running, and the scenario's own
  // `finally` must wait for that same teardown, not return early and let the process exit half-way through.
  let teardown: Promise<void> | undefined;
  const cleanup = () =>
    teardown ??= (async () => {
      const t = performance.now();
      if (!options.keep) {
        await cluster?.stop().catch(() => {});
        await runtime.destroy({ topology: topo });
        await Deno.remove(`${labDir}/state.json`).catch(() => {});
      }
      timings["teardownMs"] = Math.round(performance.now() - t);
    })();
  const onSignal = () => {
    cleanup().finally(() => Deno.exit(130));
  };
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  const started = performance.now();
  try {
    await freshNodeDirs(topo, labDir);
    const d = await runtime.deploy(topo, { labDir });
    timings["deployMs"] = d.durationMs;
    log(
      `deployed ${topo.nodes.length} nodes and ${topo.links.length} links in ${d.durationMs} ms (${labDir})`,
    );
    for (const n of topo.notes) log(`note: ${n}`);
    cluster = new Cluster({ runtime, topo, labDir, network: scenario.network });
    await cluster.startEtcd();
    await cluster.putNetworkConfig();
    timings["etcdMs"] = Math.round(performance.now() - started);
    log(`etcd answers at ${cluster.endpoint}; network config ${scenario.network}`);
    for (const n of cluster.agentNodes) {
      if (!scenario.deferAgents.includes(n.name)) await cluster.startAgent(n.name);
    }
    log(
      `agents started on ${
        cluster.agentNodes.filter((n) => !scenario.deferAgents.includes(n.name)).map((n) => n.name).join(", ")
      }`,
    );
    const only = options.only;
    const results = await new ScenarioRunner(cluster, scenario, only ? (s) => only.has(s.index) : undefined)
      .run(options.progress);
    timings["totalMs"] = Math.round(performance.now() - started);
    const map = await labMap(cluster, scenario);
    return { topo, scenario, labDir, results, ok: passed(results), timings, map };
  } finally {
    await cleanup();
    Deno.removeSignalListener("SIGINT", onSignal);
    Deno.removeSignalListener("SIGTERM", onSignal);
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
 * @param topologyPath the topology
 * @param options scenario (network config, pods per node, deferred agents), runtime, lab dir base, name
 * @returns what runs
 */
export async function upLab(
  topologyPath: string,
  options: Omit<RunLabOptions, "progress" | "keep" | "only"> & { readonly readyTimeoutMs?: number },
): Promise<UpResult> {
  const { topo, scenario } = await loadLab(topologyPath, options.scenarioPath, options.name, options.agent);
  await refuseUnsupportedSteps(scenario);
  const runtime: Runtime = openRuntime(options.runtime);
  const labDir = labDirOf(topo, options.labDirBase ?? Deno.env.get("CLAB_LABDIR_BASE"));
  const log = options.log ?? (() => {});
  const timings: Record<string, number> = {};
  let cluster: Cluster | undefined;
  // Shared for the same reason as in runLab: a signal and a failing step must not tear down twice or exit early.
  let teardown: Promise<void> | undefined;
  const undo = () =>
    teardown ??= (async () => {
      await cluster?.stop().catch(() => {});
      await runtime.destroy({ topology: topo });
      await Deno.remove(`${labDir}/state.json`).catch(() => {});
    })();
  const onSignal = () => {
    undo().finally(() => Deno.exit(130));
  };
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  const started = performance.now();
  try {
    const previous = await Cluster.attach({ runtime, topo, labDir });
    if (previous?.etcdProcess && (await previous.etcdProcess.alive())) {
      throw new UserError(`Lab "${topo.name}" is already up (etcd pid ${previous.etcdProcess.pid})`, {
        hint: `flannel-lab inspect -t ${topo.file}, or flannel-lab down -t ${topo.file} first`,
      });
    }
    await freshNodeDirs(topo, labDir);
    const d = await runtime.deploy(topo, { labDir });
    timings["deployMs"] = d.durationMs;
    log(
      `deployed ${topo.nodes.length} nodes and ${topo.links.length} links in ${d.durationMs} ms (${labDir})`,
    );
    cluster = new Cluster({ runtime, topo, labDir, network: scenario.network });
    await cluster.startEtcd();
    await cluster.putNetworkConfig();
    timings["etcdMs"] = Math.round(performance.now() - started);
    const agents = cluster.agentNodes.filter((n) => !scenario.deferAgents.includes(n.name));
    for (const n of agents) await cluster.startAgent(n.name);
    const deadline = Date.now() + (options.readyTimeoutMs ?? 60_000);
    for (const n of agents) {
      while (!(await cluster.subnetEnv(n.name))?.["FLANNEL_SUBNET"]) {
        if (Date.now() > deadline) {
          throw new UserError(`${n.name}'s agent wrote no subnet.env in time`, {
            hint: `see ${cluster.nodeDir(n.name)}/agent.log`,
          });
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    timings["agentsMs"] = Math.round(performance.now() - started);
    const c = cluster;
    await Promise.all(agents.map((n) => c.addPods(n.name, scenario.podsPerNode)));
    timings["totalMs"] = Math.round(performance.now() - started);
    log(`etcd, ${agents.length} agents and ${cluster.pods.length} pods up in ${timings["totalMs"]} ms`);
    return { topo, scenario, labDir, cluster, timings };
  } catch (error) {
    await undo();
    throw error;
  } finally {
    Deno.removeSignalListener("SIGINT", onSignal);
    Deno.removeSignalListener("SIGTERM", onSignal);
  }
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
