/**
 * Run results as a file in the lab directory (`results.json`): what `--rerun-failed` reads back, what the HTML
 * report and `--repeat` summaries are made from. Pure apart from the two small file helpers at the end.
 *
 * @module
 */
import type { Figures, StepResult, TimelineEvent } from "../scenario/model.ts";
import type { LabMap } from "./pictures.ts";

/** One step's result as stored. */
export interface StoredStep {
  readonly index: number;
  readonly name: string;
  readonly kind: string;
  readonly line?: number;
  readonly status: "pass" | "fail" | "skipped";
  readonly attempts: number;
  readonly durationMs: number;
  readonly message: string;
  readonly details: readonly string[];
  /** Paths relative to the lab directory. */
  readonly artifacts: readonly string[];
  readonly metrics: Readonly<Record<string, number>>;
  readonly timeline: readonly TimelineEvent[];
  readonly startedAt: number;
  readonly figures?: Figures;
}

/** One run of a scenario. */
export interface StoredRun {
  readonly run: number;
  readonly ok: boolean;
  readonly startedAt: number;
  readonly timings: Readonly<Record<string, number>>;
  readonly steps: readonly StoredStep[];
}

/** Everything `results.json` holds. */
export interface StoredResults {
  readonly lab: string;
  readonly topology: string;
  readonly scenario: string;
  readonly description: string;
  readonly runtime: string;
  readonly labDir: string;
  readonly runs: readonly StoredRun[];
  /** The lab as it ran (nodes, addresses, pod subnets, links), for the report's topology picture. */
  readonly map?: LabMap;
}

/**
 * Converts step results for storage (artifact paths made relative to the lab directory).
 *
 * @param results the engine's results
 * @param labDir the lab directory
 * @returns stored steps
 */
export function storeSteps(results: readonly StepResult[], labDir: string): StoredStep[] {
  return results.map((r) => ({
    index: r.step.index,
    name: r.step.name,
    kind: r.step.action.kind,
    ...(r.step.line !== undefined ? { line: r.step.line } : {}),
    status: r.status,
    attempts: r.attempts,
    durationMs: r.durationMs,
    message: r.message,
    details: r.details,
    artifacts: r.artifacts.map((a) => (a.startsWith(labDir + "/") ? a.slice(labDir.length + 1) : a)),
    metrics: r.metrics,
    timeline: r.timeline,
    startedAt: r.startedAt,
    ...(r.figures ? { figures: r.figures } : {}),
  }));
}

/**
 * Whether a step passed only after retries, which reports flag as possibly flaky. A `wait` polls by design
 * (agents take a moment to come up), so its attempts are recorded but never flagged.
 *
 * @example
 * ```ts
 * import { passedAfterRetries } from "./results.ts";
 * passedAfterRetries({ status: "pass", attempts: 3, kind: "wait" }); // false
 * passedAfterRetries({ status: "pass", attempts: 2, kind: "ping" }); // true
 * ```
 */
export function passedAfterRetries(s: { status: string; attempts: number; kind: string }): boolean {
  return s.status === "pass" && s.attempts > 1 && s.kind !== "wait";
}

/** How a step did over repeated runs. */
export interface StepRate {
  readonly index: number;
  readonly name: string;
  readonly passed: number;
  /** Passes that needed retries. */
  readonly passedAfterRetries: number;
  readonly failed: number;
  readonly skipped: number;
  readonly runs: number;
}

/**
 * Per-step pass counts over runs, clean passes apart from passes after retries.
 *
 * @param runs the runs
 * @returns one rate per step index
 */
export function stepRates(runs: readonly StoredRun[]): StepRate[] {
  const byIndex = new Map<number, StepRate>();
  for (const run of runs) {
    for (const s of run.steps) {
      const r = byIndex.get(s.index) ??
        { index: s.index, name: s.name, passed: 0, passedAfterRetries: 0, failed: 0, skipped: 0, runs: 0 };
      byIndex.set(s.index, {
        ...r,
        runs: r.runs + 1,
        passed: r.passed + (s.status === "pass" ? 1 : 0),
        passedAfterRetries: r.passedAfterRetries + (passedAfterRetries(s) ? 1 : 0),
        failed: r.failed + (s.status === "fail" ? 1 : 0),
        skipped: r.skipped + (s.status === "skipped" ? 1 : 0),
      });
    }
  }
  return [...byIndex.values()].sort((a, b) => a.index - b.index);
}

/**
 * The steps a `--rerun-failed` run must execute: every step that failed in any stored run, plus the steps that
 * set the stage for them (every `wait`, `sleep` and `fault` before a failed step).
 *
 * @param stored the previous results
 * @returns the step indexes to run, or an empty set when nothing failed
 */
export function rerunSelection(stored: StoredResults): Set<number> {
  const failed = new Set<number>();
  for (const run of stored.runs) for (const s of run.steps) if (s.status === "fail") failed.add(s.index);
  if (!failed.size) return failed;
  const last = Math.max(...failed);
  const steps = stored.runs[stored.runs.length - 1]?.steps ?? [];
  const out = new Set(failed);
  for (const s of steps) {
    if (s.index < last && (s.kind === "wait" || s.kind === "sleep" || s.kind === "fault")) out.add(s.index);
  }
  return out;
}

/** Reads `<labDir>/results.json`, or undefined when there is none. */
export async function readResults(labDir: string): Promise<StoredResults | undefined> {
  try {
    return JSON.parse(await Deno.readTextFile(`${labDir}/results.json`)) as StoredResults;
  } catch {
    return undefined;
  }
}

/** Writes `<labDir>/results.json`. */
export async function writeResults(results: StoredResults): Promise<string> {
  const file = `${results.labDir}/results.json`;
  await Deno.mkdir(results.labDir, { recursive: true });
  await Deno.writeTextFile(file, JSON.stringify(results, null, 2) + "\n");
  return file;
}
