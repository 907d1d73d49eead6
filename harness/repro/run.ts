/**
 * Runs a reproduction for each agent asked for: the case's files written to a folder of its own (so the lab
 * directories, logs and reports of both runs sit together), one lab per agent under its own name, and each
 * run's verdict confirmed or not by its steps.
 *
 * @module
 */
import { planLab, runLab, storedResults } from "../lab/mod.ts";
import { htmlReport, storeSteps, writeResults } from "../report/mod.ts";
import type { Progress } from "../scenario/run.ts";
import type { ReproAgent } from "../scenario/model.ts";
import type { ReproCase } from "./catalog.ts";
import type { AgentOutcome, CaseOutcome } from "./outcome.ts";

/** Options of {@linkcode runCase}. */
export interface RunCaseOptions {
  readonly agents: readonly ReproAgent[];
  readonly runtime: string;
  /** Where the case's folder goes (`<base>/<case>/`). */
  readonly base: string;
  readonly progress: Progress;
  readonly log: (line: string) => void;
  /** The case's own files, when it was read from disk: run them in place instead of writing copies. */
  readonly topologyPath?: string;
}

/** Runs one case for every agent whose verdict is not `not-applicable`. */
export async function runCase(c: ReproCase, options: RunCaseOptions): Promise<CaseOutcome> {
  const dir = `${options.base.replace(/\/$/, "")}/${c.name}`;
  let topologyPath = options.topologyPath;
  if (!topologyPath) {
    await Deno.mkdir(dir, { recursive: true });
    topologyPath = `${dir}/${c.name}.clab.yml`;
    await Deno.writeTextFile(topologyPath, c.topology);
    await Deno.writeTextFile(`${dir}/${c.name}.scenario.yml`, c.scenario);
  }
  const agents: AgentOutcome[] = [];
  for (const agent of options.agents) {
    const verdict = c.repro.verdict[agent];
    const why = c.repro.why[agent];
    if (verdict === "not-applicable") {
      agents.push({ agent, verdict, ...(why ? { why } : {}) });
      continue;
    }
    options.log(`--- ${c.name} with ${agent}: expected ${verdict}`);
    const started = Date.now();
    const plan = await planLab(topologyPath, {
      runtime: options.runtime,
      agent,
      name: `${c.name.slice(0, 40)}-${agent}`,
      ...(options.topologyPath ? {} : { labDirBase: dir }),
    });
    const r = await runLab(plan, {
      progress: options.progress,
      log: (l) => options.log(`      ${l}`),
    });
    const stored = storedResults(r, [{
      run: 1,
      ok: r.ok,
      startedAt: started,
      timings: r.timings,
      steps: storeSteps(r.results, r.labDir),
    }], options.runtime);
    await writeResults(stored);
    await Deno.writeTextFile(`${r.labDir}/report.html`, htmlReport(stored));
    agents.push({
      agent,
      verdict,
      confirmed: r.ok,
      broken: r.results.filter((s) => s.status === "fail").map((s) =>
        `${s.step.index}. ${s.step.name}: ${s.message}`
      ),
      ...(why ? { why } : {}),
      labDir: r.labDir,
      durationMs: Date.now() - started,
    });
  }
  return { case: c, agents };
}
