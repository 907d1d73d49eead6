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
import type { Runtime } from "./runtime/runtime.ts";
import type { Progress, StepResult } from "./scenario/run.ts";
import { ScenarioRunner } from "./scenario/run.ts";
import { parseScenario } from "./scenario/parse.ts";
import type { Scenario } from "./scenario/model.ts";
import { absolute, readTopology } from "./topology/read.ts";
import { labDir as labDirOf, type Topology } from "./topology/model.ts";

/** The scenario file beside a topology: `x.clab.yml` → `x.scenario.yml`. */
export function scenarioPathFor(topologyPath: string): string {
  return topologyPath.replace(/\.clab\.ya?ml$/, "") + ".scenario.yml";
}

/** Reads a topology and its scenario (both validated) without touching the host. */
export async function loadLab(
  topologyPath: string,
  scenarioPath?: string,
): Promise<{ topo: Topology; scenario: Scenario }> {
  const topo = await readTopology(topologyPath);
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

/** The resolved plan as text (`--dry-run`). */
export function describePlan(topo: Topology, scenario: Scenario, labDir: string): string {
  const lines = [
    `lab ${topo.name} (${topo.file}), lab directory ${labDir}`,
    `nodes:`,
    ...topo.nodes.map((n) =>
      `  ${n.name.padEnd(6)} ${n.role.padEnd(7)} ${
        Object.entries(n.addresses).map(([i, a]) => `${i}=${a.join(",")}`).join(" ")
      }${n.role === "node" ? `  agent ${n.agent} --iface=${n.agentIface} ${n.agentFlags.join(" ")}` : ""}${
        n.role === "etcd" ? `  etcd on ${n.etcdAddress}:2379` : ""
      }`
    ),
    `links:`,
    ...topo.links.map((l) => `  ${l.label} mtu ${l.mtu}`),
    `network config: ${scenario.network}`,
    `pods: ${scenario.podsPerNode} per node${
      scenario.deferAgents.length ? `; agents started later: ${scenario.deferAgents.join(", ")}` : ""
    }`,
    `steps:`,
    ...scenario.steps.map((s) =>
      `  ${String(s.index).padStart(2)}. ${s.name} (timeout ${s.timeoutMs / 1000} s${
        s.critical ? ", critical" : ""
      })`
    ),
    ...topo.notes.map((n) => `note: ${n}`),
  ];
  return lines.join("\n");
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
}

/** What a run produced. */
export interface RunLabResult {
  readonly topo: Topology;
  readonly scenario: Scenario;
  readonly labDir: string;
  readonly results: StepResult[];
  readonly ok: boolean;
  readonly timings: Readonly<Record<string, number>>;
}

/** Runs a topology's scenario end to end. Everything created is removed before it returns (or on a signal). */
export async function runLab(topologyPath: string, options: RunLabOptions): Promise<RunLabResult> {
  const { topo, scenario } = await loadLab(topologyPath, options.scenarioPath);
  const runtime: Runtime = openRuntime(options.runtime);
  const labDir = labDirOf(topo, options.labDirBase ?? Deno.env.get("CLAB_LABDIR_BASE"));
  const log = options.log ?? (() => {});
  const timings: Record<string, number> = {};
  let cluster: Cluster | undefined;
  let cleaned = false;
  const cleanup = async () => {
    if (cleaned) return;
    cleaned = true;
    const t = performance.now();
    await cluster?.stop().catch(() => {});
    if (!options.keep) await runtime.destroy({ topology: topo });
    timings["teardownMs"] = Math.round(performance.now() - t);
  };
  const onSignal = () => {
    cleanup().finally(() => Deno.exit(130));
  };
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  const started = performance.now();
  try {
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
    const results = await new ScenarioRunner(cluster, scenario).run(options.progress);
    timings["totalMs"] = Math.round(performance.now() - started);
    return { topo, scenario, labDir, results, ok: results.every((r) => r.status === "pass"), timings };
  } finally {
    await cleanup();
    Deno.removeSignalListener("SIGINT", onSignal);
    Deno.removeSignalListener("SIGTERM", onSignal);
  }
}
