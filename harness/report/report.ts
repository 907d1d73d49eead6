/**
 * Reports: live progress (one plain line per step when stdout is not a terminal), the summary table, and JUnit
 * XML for CI with pcaps linked.
 *
 * @module
 */
import { passedAfterRetries } from "./results.ts";
import { println } from "../../cli/output.ts";
import type { Step } from "../scenario/model.ts";
import type { StepResult } from "../scenario/model.ts";
import type { Progress } from "../scenario/run.ts";

const tty = () => Deno.stdout.isTerminal();

const retried = (r: StepResult) =>
  passedAfterRetries({ status: r.status, attempts: r.attempts, kind: r.step.action.kind });

/** Console progress: a line when a step starts (terminal only) and one when it ends, with details indented. */
export function consoleProgress(): Progress {
  return {
    stepStarted(step: Step) {
      if (tty()) println(`\x1b[2m… [${step.index}] ${step.name}\x1b[0m`);
    },
    stepFinished(r: StepResult) {
      const tag = r.status === "pass"
        ? (retried(r) ? "PASS*" : "PASS")
        : r.status === "fail"
        ? "FAIL"
        : "SKIP";
      const color = tty()
        ? (r.status === "pass" ? "\x1b[32m" : r.status === "fail" ? "\x1b[31m" : "\x1b[33m")
        : "";
      const reset = tty() ? "\x1b[0m" : "";
      println(
        `${color}[${tag}]${reset} [${r.step.index}] ${r.step.name} (${
          (r.durationMs / 1000).toFixed(1)
        } s, ${r.attempts} attempt${r.attempts === 1 ? "" : "s"}): ${r.message}`,
      );
      for (const d of r.details) println(`        ${d}`);
    },
  };
}

/** The summary table. */
export function summaryTable(results: readonly StepResult[]): string {
  const rows = results.map((r) => [
    String(r.step.index),
    retried(r) ? `pass (after ${r.attempts - 1} retries)` : r.status,
    `${(r.durationMs / 1000).toFixed(1)}s`,
    r.step.name,
  ]);
  const head = ["#", "result", "time", "step"];
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(w[i]!)).join("  ").trimEnd();
  const passed = results.filter((r) => r.status === "pass").length;
  const failed = results.filter((r) => r.status === "fail").length;
  return [
    line(head),
    line(w.map((n) => "-".repeat(n))),
    ...rows.map(line),
    "",
    `${passed} passed, ${failed} failed, ${results.length - passed - failed} skipped`,
  ].join("\n");
}

function esc(s: string): string {
  return s.replace(
    /[<>&"']/g,
    (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;", "'": "&apos;" })[c]!,
  );
}

/** One run of a scenario, as the JUnit report needs it. */
export interface JunitRun {
  readonly results: readonly StepResult[];
  readonly totalMs: number;
}

/**
 * JUnit XML of one or more runs (`--repeat`): one `<testsuite>` per run, named after the lab (and the run when
 * there are several), so a CI dashboard shows every run and not only the last; one testcase per step, attempts
 * and metrics as properties, pcaps as `[[ATTACHMENT|path]]` lines (the Jenkins convention).
 */
export function junitXml(suite: string, runs: readonly JunitRun[]): string {
  const count = (results: readonly StepResult[], status: StepResult["status"]) =>
    results.filter((r) => r.status === status).length;
  const all = runs.flatMap((r) => r.results);
  const totalMs = runs.reduce((sum, r) => sum + r.totalMs, 0);
  const suites = runs.flatMap((run, i) => {
    const name = runs.length > 1 ? `${suite} (run ${i + 1} of ${runs.length})` : suite;
    const attrs = `tests="${run.results.length}" failures="${count(run.results, "fail")}" skipped="${
      count(run.results, "skipped")
    }" time="${(run.totalMs / 1000).toFixed(3)}"`;
    return [
      `  <testsuite name="${esc(name)}" ${attrs}>`,
      ...run.results.map((r) => testcase(name, r)),
      `  </testsuite>`,
    ];
  });
  return [
    `<?xml version="1.0" encoding="UTF-8"?>`,
    `<testsuites tests="${all.length}" failures="${count(all, "fail")}" skipped="${
      count(all, "skipped")
    }" time="${(totalMs / 1000).toFixed(3)}">`,
    ...suites,
    `</testsuites>`,
    "",
  ].join("\n");
}

function testcase(suite: string, r: StepResult): string {
  const props = [
    `<property name="attempts" value="${r.attempts}"/>`,
    ...(r.step.line !== undefined ? [`<property name="line" value="${r.step.line}"/>`] : []),
    ...Object.entries(r.metrics).map(([k, v]) => `<property name="${esc(k)}" value="${v}"/>`),
  ].join("");
  const body = r.status === "fail"
    ? `<failure message="${esc(r.message)}">${esc([r.message, ...r.details].join("\n"))}</failure>`
    : r.status === "skipped"
    ? `<skipped message="${esc(r.message)}"/>`
    : "";
  const t0 = r.timeline[0]?.t ?? 0;
  const out = [
    ...r.details,
    ...r.timeline.map((e) => `timeline +${e.t - t0} ms: ${e.what}`),
    ...r.artifacts.map((a) => `[[ATTACHMENT|${a}]]`),
  ].join("\n");
  return `    <testcase classname="${esc(suite)}" name="${esc(`${r.step.index}. ${r.step.name}`)}" time="${
    (r.durationMs / 1000).toFixed(3)
  }"><properties>${props}</properties>${body}${out ? `<system-out>${esc(out)}</system-out>` : ""}</testcase>`;
}
