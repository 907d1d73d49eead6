/**
 * The scenario engine: runs a scenario's steps in order on a cluster, each by its step kind (`steps/`), with
 * every attempt recorded. A failed step does not stop the run unless it is `critical`; a step expected to fail
 * (`fails-with`) passes when it fails with a matching message.
 *
 * @module
 */
import type { Cluster } from "../cluster.ts";
import { Failed, retry } from "./failed.ts";
import { LabView } from "./lab_view.ts";
import type { Outcome, Scenario, Step, StepResult } from "./model.ts";
import { runStep } from "./steps/mod.ts";

/** Called as steps start and finish. */
export interface Progress {
  stepStarted(step: Step): void;
  stepFinished(result: StepResult): void;
}

/** A result for a step that did not run. */
function skipped(step: Step, message: string): StepResult {
  return {
    step,
    status: "skipped",
    attempts: 0,
    durationMs: 0,
    message,
    details: [],
    artifacts: [],
    metrics: {},
    timeline: [],
    startedAt: Date.now(),
  };
}

/** The scenario engine for one cluster. */
export class ScenarioRunner {
  readonly #lab: LabView;
  readonly #only: ((step: Step) => boolean) | undefined;

  /**
   * @param cluster the running cluster
   * @param scenario the scenario
   * @param only when given, steps it rejects are skipped (`--rerun-failed`)
   */
  constructor(cluster: Cluster, scenario: Scenario, only?: (step: Step) => boolean) {
    this.#lab = new LabView(cluster, scenario);
    this.#only = only;
  }

  /** Runs every step; resolves with their results. */
  async run(progress: Progress): Promise<StepResult[]> {
    const results: StepResult[] = [];
    let stop = false;
    for (const step of this.#lab.scenario.steps) {
      progress.stepStarted(step);
      const result = stop
        ? skipped(step, "skipped after a critical step failed")
        : this.#only && !this.#only(step)
        ? skipped(step, "passed in the previous run (--rerun-failed)")
        : await this.#run(step);
      if (result.status === "fail" && step.critical) stop = true;
      results.push(result);
      progress.stepFinished(result);
    }
    return results;
  }

  async #run(step: Step): Promise<StepResult> {
    const started = performance.now();
    const startedAt = Date.now();
    let attempts = 0;
    const count = () => attempts++;
    // A step expected to fail is tried once: retrying would only wait out its timeout. A fault step keeps its
    // timeout, which is the time the lab has to recover.
    const timeoutMs = step.failsWith !== undefined && step.action.kind !== "fault" ? 0 : step.timeoutMs;
    const tries = {
      timeoutMs,
      until: (check: () => Promise<Outcome>) => retry(timeoutMs, check, count),
      once: (check: () => Promise<Outcome>) => (count(), check()),
    };
    const took = () => Math.round(performance.now() - started);
    try {
      const o = await expectedOutcome(step, () => runStep(this.#lab, step, tries));
      return {
        step,
        status: "pass",
        attempts,
        durationMs: took(),
        message: o.message,
        details: o.details ?? [],
        artifacts: o.artifacts ?? [],
        metrics: o.metrics ?? {},
        timeline: o.timeline ?? [],
        startedAt,
        ...(o.figures ? { figures: o.figures } : {}),
      };
    } catch (error) {
      const f = error instanceof Failed ? error : undefined;
      return {
        step,
        status: "fail",
        attempts,
        durationMs: took(),
        message: error instanceof Error ? error.message : String(error),
        details: f?.details ?? [],
        artifacts: f?.extra.artifacts ?? [],
        metrics: f?.extra.metrics ?? {},
        timeline: f?.extra.timeline ?? [],
        startedAt,
        ...(f?.extra.figures ? { figures: f.extra.figures } : {}),
      };
    }
  }
}

/**
 * Runs a step that may be expected to fail (`fails-with`): then its failure with a matching message is the
 * pass, and a pass or another failure is the failure.
 */
async function expectedOutcome(step: Step, run: () => Promise<Outcome>): Promise<Outcome> {
  if (step.failsWith === undefined) return await run();
  const want = new RegExp(step.failsWith);
  let outcome: Outcome;
  try {
    outcome = await run();
  } catch (error) {
    if (!(error instanceof Failed)) throw error;
    if (!want.test(error.message)) {
      throw new Failed(
        `failed, but not with /${step.failsWith}/: ${error.message}`,
        error.details,
        error.extra,
      );
    }
    return { message: `failed as expected: ${error.message}`, details: error.details, ...error.extra };
  }
  throw new Failed(
    `expected to fail with /${step.failsWith}/, but passed: ${outcome.message}`,
    outcome.details ?? [],
    outcome.figures ? { figures: outcome.figures } : {},
  );
}
