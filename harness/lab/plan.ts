/**
 * A lab plan: a topology and its scenario read and validated once, with the lab directory and the runtime that
 * will run them. The CLI makes one from its arguments and passes it down, so `--dry-run`, `--rerun-failed` and
 * every `--repeat` run see the same files as they were when the command started.
 *
 * @module
 */
import { UserError } from "../../cli/errors.ts";
import type { Scenario } from "../scenario/model.ts";
import { parseScenario } from "../scenario/parse.ts";
import { type AgentKind, labDir as labDirOf, type Topology } from "../topology/model.ts";
import { absolute, readTopology } from "../topology/read.ts";

/** A topology and scenario ready to run: nothing on the host has been touched yet. */
export interface LabPlan {
  readonly topo: Topology;
  readonly scenario: Scenario;
  /** Where the nodes' files, logs, captures and results go. */
  readonly labDir: string;
  /** The runtime that deploys it: `netns` (default) or `containerlab`. */
  readonly runtime: string;
}

/** What {@linkcode planLab} reads, besides the topology file. */
export interface PlanOptions {
  /** The scenario file (default: `<name>.scenario.yml` beside the topology). */
  readonly scenarioPath?: string;
  /** Lab name override (`--name`). */
  readonly name?: string;
  /** Every node runs this agent, whatever the topology's labels say. */
  readonly agent?: AgentKind;
  /** Base directory of lab directories (default: beside the topology, or $CLAB_LABDIR_BASE). */
  readonly labDirBase?: string;
  /** `netns` (default) or `containerlab`. */
  readonly runtime?: string;
}

/**
 * The scenario file beside a topology: `x.clab.yml` → `x.scenario.yml`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { scenarioPathFor } from "./plan.ts";
 * assert.equal(scenarioPathFor("labs/two.clab.yml"), "labs/two.scenario.yml");
 * ```
 */
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

/** A lab's directory: `base` (or $CLAB_LABDIR_BASE) as the base, else beside the topology. */
export function labDirFor(topo: Topology, base: string | undefined): string {
  return labDirOf(topo, base ?? Deno.env.get("CLAB_LABDIR_BASE"));
}

/** Reads a topology file under the name and agent the options give (validated; the host is not touched). */
export async function planTopology(topologyPath: string, options: PlanOptions = {}): Promise<Topology> {
  return withAgent(renameLab(await readTopology(topologyPath), options.name), options.agent);
}

/**
 * Reads a topology and its scenario (both validated) into a plan, without touching the host.
 *
 * @param topologyPath the containerlab topology file
 * @param options the scenario file, lab name, agent, lab directory base and runtime
 * @returns the plan
 * @throws {UserError} when a file cannot be read or is invalid
 */
export async function planLab(topologyPath: string, options: PlanOptions = {}): Promise<LabPlan> {
  const topo = await planTopology(topologyPath, options);
  const file = absolute(options.scenarioPath ?? scenarioPathFor(topologyPath));
  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch (error) {
    throw new UserError(`Cannot read scenario "${file}": ${(error as Error).message}`, {
      hint: "put <name>.scenario.yml beside <name>.clab.yml, or pass --scenario FILE",
    });
  }
  return {
    topo,
    scenario: parseScenario(file, text, topo),
    labDir: labDirFor(topo, options.labDirBase),
    runtime: options.runtime ?? "netns",
  };
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
