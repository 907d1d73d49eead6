/**
 * The parts of a scenario that make it a reproduction of a known failure: the `repro:` block (what a user sees,
 * the cause, the fix, and each agent's verdict), and the per-agent forms of a step's `fails-with` and `agents`
 * keys, resolved for the agent the lab runs. Pure.
 *
 * @module
 */
import type { Topology } from "../topology/model.ts";
import {
  type Repro,
  REPRO_AGENTS,
  REPRO_VERDICTS,
  type ReproAgent,
  type ReproVerdict,
  type Scenario,
} from "./model.ts";
import type { Path, Reader } from "./reader.ts";

/** The agent every node of a topology runs, or `mixed`. */
export function labAgent(topo: Topology): Scenario["agent"] {
  const kinds = new Set(topo.nodes.filter((n) => n.role === "node").map((n) => n.agent ?? "ours"));
  return kinds.size === 1 ? [...kinds][0]! : kinds.size === 0 ? "ours" : "mixed";
}

const REPRO_KEYS = ["id", "title", "symptom", "cause", "fix", "upstream", "verdict"];

/** Reads a `repro:` block. */
export function parseRepro(r: Reader, v: unknown, path: Path): Repro | undefined {
  const o = r.obj(v, path, REPRO_KEYS, ["title", "symptom", "cause", "fix", "verdict"]);
  if (!o) return undefined;
  const text = (k: string): string => {
    const t = o[k];
    if (t !== undefined && (typeof t !== "string" || !t.trim())) r.fail([...path, k], "must be a sentence");
    return typeof t === "string" ? t.trim() : "";
  };
  const upstream: string[] = [];
  const ups = o["upstream"] ?? [];
  if (!Array.isArray(ups)) r.fail([...path, "upstream"], "must be a list like [flannel-io/flannel#1155]");
  else {
    for (const [i, u] of ups.entries()) {
      if (typeof u !== "string" || !/^[\w.-]+\/[\w.-]+#\d+$/.test(u)) {
        r.fail([...path, "upstream", i], `"${u}" is not owner/repo#number`);
      } else upstream.push(u);
    }
  }
  const verdicts = r.obj(o["verdict"], [...path, "verdict"], [...REPRO_AGENTS], [...REPRO_AGENTS]);
  const verdict: Partial<Record<ReproAgent, ReproVerdict>> = {};
  const why: Partial<Record<ReproAgent, string>> = {};
  for (const agent of REPRO_AGENTS) {
    const raw = verdicts?.[agent];
    if (raw === undefined) continue;
    // `ours: handled` or `ours: { handled: "restores the MAC it published" }`.
    const [v, reason] = typeof raw === "object" && raw !== null && !Array.isArray(raw) &&
        Object.keys(raw).length === 1
      ? Object.entries(raw)[0]!
      : [raw, undefined];
    if (!(REPRO_VERDICTS as readonly unknown[]).includes(v)) {
      r.fail(
        [...path, "verdict", agent],
        `must be one of ${REPRO_VERDICTS.join(", ")} (optionally { VERDICT: why })`,
      );
      continue;
    }
    verdict[agent] = v as ReproVerdict;
    if (reason !== undefined) why[agent] = String(reason);
  }
  return {
    title: text("title"),
    symptom: text("symptom"),
    cause: text("cause"),
    fix: text("fix"),
    upstream,
    ...(o["id"] !== undefined ? { id: String(o["id"]) } : {}),
    verdict: verdict as Record<ReproAgent, ReproVerdict>,
    why,
  };
}

/**
 * A step's `fails-with` for the lab's agent: one regular expression for every agent, or a mapping by agent
 * (`{ upstream: "…" }`: the step fails that way under upstream and passes under ours). A mapping needs a lab
 * whose nodes all run one agent.
 *
 * @returns the expression, or undefined when the step is expected to pass
 */
export function failsWithFor(
  r: Reader,
  v: unknown,
  path: Path,
  agent: Scenario["agent"],
): string | undefined {
  if (v === undefined) return undefined;
  let chosen: unknown = v;
  if (typeof v === "object" && v !== null && !Array.isArray(v)) {
    const o = r.obj(v, path, [...REPRO_AGENTS]);
    if (!o) return undefined;
    if (agent === "mixed") {
      return r.fail(path, "a per-agent fails-with needs every node to run the same agent");
    }
    chosen = o[agent];
    if (chosen === undefined) return undefined;
  }
  const text = String(chosen);
  try {
    new RegExp(text);
  } catch (error) {
    return r.fail(path, `not a valid regular expression: ${(error as Error).message}`);
  }
  return text;
}

/** A step's `agents:` (the agents it is written for): whether it runs on this lab. */
export function stepRunsFor(r: Reader, v: unknown, path: Path, agent: Scenario["agent"]): boolean {
  if (v === undefined) return true;
  const list = Array.isArray(v) ? v : [v];
  const bad = list.filter((a) => !(REPRO_AGENTS as readonly unknown[]).includes(a));
  if (!list.length || bad.length) {
    r.fail(path, `must list agents among ${REPRO_AGENTS.join(", ")}`);
    return true;
  }
  if (agent === "mixed") {
    r.fail(path, "a step for some agents only needs every node to run the same agent");
    return true;
  }
  return list.includes(agent);
}
