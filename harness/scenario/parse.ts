/**
 * `*.scenario.yml` → {@linkcode Scenario}. Every key is checked: an unknown one is an error naming the file, the
 * line and the keys allowed there; node, pod and link names are checked against the topology. Pure.
 *
 * This file reads the scenario's frame (network, pods, defaults, the common keys of a step); what each step
 * kind and fault kind looks like is in that kind's own file (`steps/<kind>.ts`, `faults/<kind>.ts`), found
 * through the tables, and the generic reading machinery is in `reader.ts`.
 *
 * @module
 */
import { ConfigError } from "../../agent/config/mod.ts";
import { InputError } from "../topology/errors.ts";
import { parseSource } from "../topology/source.ts";
import type { Topology } from "../topology/model.ts";
import type { Scenario, Step } from "./model.ts";
import { type NetworkFields, networkFields } from "./network.ts";
import { type Obj, type Path, Reader } from "./reader.ts";
import { describeAction, STEP_KINDS, stepKind } from "./steps/mod.ts";
import { failsWithFor, labAgent, parseRepro, stepRunsFor } from "./repro.ts";

export { parseDuration, parsePercentBound, parseRatioBand } from "./reader.ts";
export { describeAction } from "./steps/mod.ts";
export { faultExpectKeys } from "./faults/mod.ts";

const DEFAULT_TIMEOUT_MS = 30_000;
/** Keys every step may have besides its kind's. */
const STEP_COMMON = ["name", "timeout", "critical", "expect", "fails-with", "agents"];

/**
 * The network fields of a scenario's `network` mapping, or a problem at the field the agent's parser names
 * (`network.Backend.VNI`) when it refuses the config.
 */
function readNetwork(r: Reader, net: Obj): NetworkFields | undefined {
  try {
    return networkFields(net);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    const field = error.field ? error.field.split(".") : [];
    return r.fail(["network", ...field], error.message.replace(/^Invalid network config: /, ""));
  }
}

/**
 * Parses a scenario file against its topology.
 *
 * @param file the scenario file (for messages)
 * @param text its contents
 * @param topo the resolved topology it runs on
 * @returns the scenario
 * @throws {InputError} listing every problem with file, line and field
 */
export function parseScenario(file: string, text: string, topo: Topology): Scenario {
  const doc = parseSource(file, text);
  if (doc.problems.length) throw new InputError("scenario", doc.problems);
  const r = new Reader(doc, topo);
  const root = r.obj(doc.value, [], [
    "description",
    "repro",
    "network",
    "pods",
    "defer-agents",
    "defaults",
    "steps",
  ], [
    "network",
    "steps",
  ]);
  if (!root) throw new InputError("scenario", r.problems);
  const before = r.problems.length;
  const net = r.obj(root["network"], ["network"], [
    "Network",
    "SubnetLen",
    "SubnetMin",
    "SubnetMax",
    "EnableIPv4",
    "EnableIPv6",
    "IPv6Network",
    "Backend",
  ], ["Network"]);
  // Read by the agent only when the mapping itself is sound: a missing or unknown key is already a problem.
  const fields = net && r.problems.length === before ? readNetwork(r, net) : undefined;
  const pods = root["pods"] === undefined ? { "per-node": 2 } : r.obj(root["pods"], ["pods"], ["per-node"]);
  const podsPerNode = r.int(pods?.["per-node"] ?? 2, ["pods", "per-node"], 0) ?? 2;
  const defaults = root["defaults"] === undefined
    ? {}
    : r.obj(root["defaults"], ["defaults"], ["timeout"]) ?? {};
  const defaultTimeout = defaults["timeout"] === undefined
    ? DEFAULT_TIMEOUT_MS
    : r.duration(defaults["timeout"], ["defaults", "timeout"]) ?? DEFAULT_TIMEOUT_MS;
  const agent = labAgent(topo);
  const repro = root["repro"] === undefined ? undefined : parseRepro(r, root["repro"], ["repro"]);
  const deferAgents: string[] = [];
  for (const [i, n] of ((root["defer-agents"] ?? []) as unknown[]).entries()) {
    const node = r.node(n, ["defer-agents", i], "node");
    if (node) deferAgents.push(node);
  }
  const steps: Step[] = [];
  const rawSteps = root["steps"];
  if (!Array.isArray(rawSteps)) r.fail(["steps"], "must be a list of steps");
  for (const [i, raw] of (Array.isArray(rawSteps) ? rawSteps : []).entries()) {
    const path: Path = ["steps", i];
    const o = r.obj(raw, path, [...STEP_KINDS, ...STEP_COMMON]);
    if (!o) continue;
    const kinds = STEP_KINDS.filter((k) => k in o);
    if (kinds.length !== 1) {
      r.fail(
        path,
        kinds.length
          ? `a step does one thing; found ${kinds.join(" and ")}`
          : `a step needs one of ${STEP_KINDS.join(", ")}`,
      );
      continue;
    }
    const kind = kinds[0]!;
    const k = stepKind(kind);
    const action = k.parse(r, o[kind], [...path, kind], { podsPerNode });
    const expect = o["expect"] === undefined ? {} : k.expect(r, o["expect"], [...path, "expect"], action);
    const timeoutMs = o["timeout"] === undefined
      ? defaultTimeout
      : r.duration(o["timeout"], [...path, "timeout"]);
    const failsWith = failsWithFor(r, o["fails-with"], [...path, "fails-with"], agent);
    const runs = stepRunsFor(r, o["agents"], [...path, "agents"], agent);
    if (!action || !expect || timeoutMs === undefined || !runs) continue;
    steps.push({
      index: i + 1,
      name: o["name"] === undefined ? describeAction(action) : String(o["name"]),
      ...doc.locate(path),
      action,
      expect,
      timeoutMs,
      critical: o["critical"] === true,
      ...(failsWith !== undefined ? { failsWith } : {}),
    });
  }
  if (r.problems.length || !fields) throw new InputError("scenario", r.problems);
  return {
    file,
    description: String(root["description"] ?? ""),
    ...(repro ? { repro } : {}),
    agent,
    ...fields,
    podsPerNode,
    deferAgents,
    steps,
  };
}
