/**
 * `flannel-lab test`: a lab's scenario run end to end (or repeated, or its failed steps rerun), with the
 * summary, results.json, the HTML report and JUnit.
 *
 * @module
 */
import { UsageError, UserError } from "../../cli/errors.ts";
import { println } from "../../cli/output.ts";
import {
  describePlan,
  labDirFor,
  planLab,
  planTopology,
  runLab,
  type RunLabResult,
  scenarioPathFor,
  storedResults,
} from "../lab/mod.ts";
import { htmlReport } from "../report/html.ts";
import { consoleProgress, type JunitRun, junitXml, summaryTable } from "../report/mod.ts";
import {
  readResults,
  rerunSelection,
  stepRates,
  type StoredRun,
  storeSteps,
  writeResults,
} from "../report/results.ts";
import { refuseUnsupportedSteps } from "../runtime/kernel_features.ts";
import { agentArg, COMMON, needRoot, parse, topoArg } from "./args.ts";

const TEST =
  `Usage: flannel-lab test [-t] TOPOLOGY.clab.yml [--scenario FILE] [--junit FILE] [--html FILE] [--dry-run]
                        [--repeat N] [--rerun-failed] [--keep] [--name LAB] [--runtime netns|containerlab] [--lab-dir BASE]
                        [--agent ours|upstream]

Deploys the lab, starts etcd, agents and pods, runs the scenario (default: <name>.scenario.yml beside the
topology), prints a summary, and removes everything. Results go to <lab dir>/results.json and a self-contained
<lab dir>/report.html (matrix, diffs, pcap and probe links, fault timelines).
  --repeat N       run the scenario N times; report each step's pass rate (passes after retries apart)
  --rerun-failed   run again only the steps that failed last time (read from <lab dir>/results.json), with
                   the waits and faults before them
  --keep           leave the lab running afterwards (then: inspect, exec, down)
  --agent A        every node runs this agent (ours, or upstream flanneld), whatever the labels say
Exit code 0 only when every step held in every run.`;

/** `test`. */
export async function testMain(args: string[]): Promise<number> {
  const { values, positionals } = parse(TEST, args, {
    ...COMMON,
    scenario: { type: "string", short: "s" },
    junit: { type: "string" },
    html: { type: "string" },
    "dry-run": { type: "boolean" },
    keep: { type: "boolean" },
    repeat: { type: "string" },
    "rerun-failed": { type: "boolean" },
    agent: { type: "string" },
  });
  if (values.help) return (println(TEST), 0);
  const file = topoArg(TEST, values, positionals)!;
  const agent = agentArg(values.agent, TEST);
  const repeat = Number(values.repeat ?? 1);
  if (!Number.isInteger(repeat) || repeat < 1) {
    throw new UsageError(`--repeat wants a whole number ≥ 1, not "${values.repeat}"`, { hint: TEST });
  }
  const planOptions = {
    ...(values.scenario ? { scenarioPath: values.scenario } : {}),
    ...(values.name ? { name: values.name } : {}),
    ...(agent ? { agent } : {}),
    ...(values["lab-dir"] ? { labDirBase: values["lab-dir"] } : {}),
    runtime: values.runtime ?? "netns",
  };
  if (
    values["dry-run"] && !values.scenario && !(await Deno.stat(scenarioPathFor(file)).catch(() => undefined))
  ) {
    // A topology alone (containerlab's own examples): show what it resolves to; a run would need a scenario.
    const topo = await planTopology(file, planOptions);
    println(describePlan(topo, undefined, labDirFor(topo, values["lab-dir"])));
    return 0;
  }
  // Read once: the dry run, the rerun selection and every repeat see the files as they were now.
  const plan = await planLab(file, planOptions);
  // Refuse what this kernel cannot run before anything is deployed (and in a dry run).
  if (Deno.uid() === 0) await refuseUnsupportedSteps(plan.scenario);
  if (values["dry-run"]) {
    println(describePlan(plan.topo, plan.scenario, plan.labDir));
    return 0;
  }
  let only: Set<number> | undefined;
  if (values["rerun-failed"]) {
    const previous = await readResults(plan.labDir);
    if (!previous) {
      throw new UserError(`No previous results for lab "${plan.topo.name}"`, {
        hint: `run flannel-lab test first; results are kept in ${plan.labDir}/results.json`,
      });
    }
    only = rerunSelection(previous);
    if (!only.size) {
      println(`Nothing to rerun: every step passed in the previous run of ${plan.topo.name}`);
      return 0;
    }
    println(
      `Rerunning steps ${
        [...only].sort((a, b) => a - b).join(", ")
      } (failed last time, with the waits and faults before them)`,
    );
  }
  needRoot();
  const runs: StoredRun[] = [];
  const junitRuns: JunitRun[] = [];
  let last: RunLabResult | undefined;
  for (let i = 1; i <= repeat; i++) {
    if (repeat > 1) println(`--- run ${i} of ${repeat}`);
    const startedAt = Date.now();
    last = await runLab(plan, {
      ...(only ? { only } : {}),
      progress: consoleProgress(),
      log: (l) => println(`      ${l}`),
      keep: (values.keep ?? false) && i === repeat,
    });
    runs.push({
      run: i,
      ok: last.ok,
      startedAt,
      timings: last.timings,
      steps: storeSteps(last.results, last.labDir),
    });
    junitRuns.push({ results: last.results, totalMs: last.timings["totalMs"] ?? 0 });
    println("");
    println(summaryTable(last.results));
  }
  const r = last!;
  const stored = storedResults(r, runs, plan.runtime);
  await writeResults(stored);
  const html = values.html ?? `${r.labDir}/report.html`;
  await Deno.writeTextFile(html, htmlReport(stored));
  if (repeat > 1) {
    const okRuns = runs.filter((x) => x.ok).length;
    println(`\n${okRuns} of ${repeat} runs passed (${Math.round((okRuns / repeat) * 100)}%)`);
    for (const rate of stepRates(runs)) {
      if (rate.passed === rate.runs && !rate.passedAfterRetries) continue;
      println(
        `  step ${rate.index} ${rate.name}: ${rate.passed}/${rate.runs} passed${
          rate.passedAfterRetries ? `, ${rate.passedAfterRetries} of them after retries` : ""
        }${rate.skipped ? `, ${rate.skipped} skipped` : ""}`,
      );
    }
  }
  println(`lab directory (logs, pcaps, probes, results.json): ${r.labDir}`);
  println(`HTML report: ${html}`);
  if (values.junit) {
    await Deno.writeTextFile(values.junit, junitXml(r.topo.name, junitRuns));
    println(`JUnit report: ${values.junit}`);
  }
  return runs.every((x) => x.ok) ? 0 : 1;
}
