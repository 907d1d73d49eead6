/**
 * `flannel-lab repro list|show|run|new`: the library of reproducible flannel failures.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { UsageError, UserError } from "../../cli/errors.ts";
import { println } from "../../cli/output.ts";
import { consoleProgress } from "../report/mod.ts";
import { REPRO_AGENTS, type ReproAgent } from "../scenario/model.ts";
import { absolute } from "../topology/read.ts";
import { readCase, type ReproCase, shippedCase, shippedCases } from "./catalog.ts";
import {
  allConfirmed,
  type CaseOutcome,
  comparisonTable,
  explain,
  htmlComparison,
  listTable,
} from "./outcome.ts";
import { runCase } from "./run.ts";
import { isTemplateKind, renderTemplate, TEMPLATES } from "./templates.ts";

const USAGE = `Usage: flannel-lab repro list
       flannel-lab repro show NAME
       flannel-lab repro run NAME…|all|FILE.clab.yml [--agent ours|upstream|both] [--runtime netns|containerlab]
                               [--lab-dir BASE]
       flannel-lab repro new NAME [--template KIND] [--out DIR]

A library of flannel failures users hit, each a topology and a scenario that runs with our agent and with
upstream flanneld. Each case says, per agent, whether the failure is reproduced or handled (the agent copes or
reports it clearly); a run confirms that verdict when every step holds, including the steps expected to fail.

  list   the cases and their verdicts
  show   a case's symptom, cause, fix and upstream threads
  run    run cases (default both agents); prints a comparison table and writes an HTML report
         (<lab dir>/report.html; BASE defaults to ./labs/repro). Exit status 1 when a verdict is not confirmed.
  new    write a starting topology + scenario for your own bug, to attach to a report`;

function newUsage(): string {
  return `Usage: flannel-lab repro new NAME [--template KIND] [--out DIR]

Writes DIR/NAME.clab.yml and DIR/NAME.scenario.yml (DIR defaults to .). Templates:
${TEMPLATES.map((t) => `  ${t.kind.padEnd(10)} ${t.summary}`).join("\n")}
Then: edit them, flannel-lab repro run DIR/NAME.clab.yml`;
}

function agentsArg(v: string | undefined): ReproAgent[] {
  if (v === undefined || v === "both") return [...REPRO_AGENTS];
  if ((REPRO_AGENTS as readonly string[]).includes(v)) return [v as ReproAgent];
  throw new UsageError(`--agent must be ours, upstream or both, not "${v}"`, { hint: USAGE });
}

/** A case named on the command line: a shipped one, `all`, or a user's own file. */
async function casesFrom(args: readonly string[]): Promise<{ c: ReproCase; path?: string }[]> {
  const out: { c: ReproCase; path?: string }[] = [];
  for (const a of args) {
    if (a === "all") out.push(...shippedCases().map((c) => ({ c })));
    else if (/\.clab\.ya?ml$/.test(a)) {
      const path = absolute(a);
      const scenarioPath = path.replace(/\.clab\.ya?ml$/, ".scenario.yml");
      const read = (f: string) =>
        Deno.readTextFile(f).catch((error) => {
          throw new UserError(`Cannot read ${f}: ${(error as Error).message}`);
        });
      const name = path.slice(path.lastIndexOf("/") + 1).replace(/\.clab\.ya?ml$/, "");
      out.push({
        c: readCase(name, await read(path), await read(scenarioPath), path.replace(/\.clab\.ya?ml$/, "")),
        path,
      });
    } else out.push({ c: shippedCase(a) });
  }
  return out;
}

/** `repro …`. */
export async function main(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === undefined || sub === "-h" || sub === "--help" || sub === "help") {
    println(USAGE);
    return sub === undefined ? 2 : 0;
  }
  if (sub === "list") {
    println(listTable(shippedCases()));
    println(
      `\nflannel-lab repro show NAME explains one; flannel-lab repro run NAME runs it with both agents.`,
    );
    return 0;
  }
  if (sub === "show") {
    if (!rest.length) throw new UsageError("repro show needs a case name", { hint: USAGE });
    println(rest.map((n) => explain(shippedCase(n))).join("\n\n"));
    return 0;
  }
  if (sub === "new") return newCase(rest);
  if (sub !== "run") throw new UsageError(`Unknown repro command "${sub}"`, { hint: USAGE });
  const { values, positionals } = parseArgs({
    args: rest,
    options: {
      agent: { type: "string" },
      runtime: { type: "string", short: "r" },
      "lab-dir": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
    allowPositionals: true,
    strict: true,
  });
  if (values.help) return (println(USAGE), 0);
  if (!positionals.length) {
    throw new UsageError("repro run needs a case name, all, or a FILE.clab.yml", { hint: USAGE });
  }
  const agents = agentsArg(values.agent);
  const cases = await casesFrom(positionals);
  if (Deno.uid() !== 0) {
    throw new UserError("repro run needs root (network namespaces)", { hint: "run it with sudo" });
  }
  const base = absolute(values["lab-dir"] ?? "labs/repro");
  const outcomes: CaseOutcome[] = [];
  for (const { c, path } of cases) {
    println(`\n${explain(c)}\n`);
    outcomes.push(
      await runCase(c, {
        agents,
        runtime: values.runtime ?? "netns",
        base,
        progress: consoleProgress(),
        log: (l) => println(l),
        ...(path ? { topologyPath: path } : {}),
      }),
    );
  }
  println(`\n${comparisonTable(outcomes)}`);
  await Deno.mkdir(base, { recursive: true });
  const html = `${base}/report.html`;
  await Deno.writeTextFile(html, htmlComparison(outcomes, base));
  println(`\nHTML report: ${html}`);
  return allConfirmed(outcomes) ? 0 : 1;
}

async function newCase(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: { template: { type: "string" }, out: { type: "string" }, help: { type: "boolean", short: "h" } },
    allowPositionals: true,
    strict: true,
  });
  if (values.help) return (println(newUsage()), 0);
  const [name, ...extra] = positionals;
  if (!name || extra.length) throw new UsageError("repro new needs one NAME", { hint: newUsage() });
  const kind = values.template ?? "l2";
  if (!isTemplateKind(kind)) {
    throw new UsageError(`No template "${kind}"`, { hint: newUsage() });
  }
  const files = renderTemplate(kind, name);
  const dir = (values.out ?? ".").replace(/\/$/, "");
  await Deno.mkdir(dir, { recursive: true });
  const written: string[] = [];
  for (
    const [file, text] of [[`${dir}/${name}.clab.yml`, files.topology], [
      `${dir}/${name}.scenario.yml`,
      files.scenario,
    ]]
  ) {
    try {
      await Deno.writeTextFile(file!, text!, { createNew: true });
    } catch (error) {
      if (error instanceof Deno.errors.AlreadyExists) {
        throw new UserError(`${file} exists; not overwriting it`, { hint: "pick another NAME or --out DIR" });
      }
      throw error;
    }
    written.push(file!);
  }
  println(`wrote ${written.join(" and ")} (template ${kind})`);
  println(`edit them, then: flannel-lab repro run ${written[0]} [--agent ours|upstream|both]`);
  return 0;
}
