/**
 * What a reproduction run found, per agent, and how it is shown: a terminal table across cases and agents, and a
 * self-contained HTML page with each case's explanation beside its verdicts. Pure.
 *
 * A verdict is a claim the scenario makes (`repro.verdict`); a run confirms it when every step held, which
 * includes the steps expected to fail (`fails-with`) for that agent. A run that does not confirm it means one
 * side's behaviour changed, and names the first step that did not hold.
 *
 * @module
 */
import type { ReproAgent, ReproVerdict } from "../scenario/model.ts";
import type { ReproCase } from "./catalog.ts";
import { escapeHtml as esc } from "../report/escape.ts";

/** One agent's run of one case. */
export type AgentOutcome =
  | { readonly agent: ReproAgent; readonly verdict: "not-applicable"; readonly why?: string }
  | {
    readonly agent: ReproAgent;
    readonly verdict: Exclude<ReproVerdict, "not-applicable">;
    /** Every step held: the verdict is confirmed. */
    readonly confirmed: boolean;
    /** The steps that did not hold, `N. name: message`. */
    readonly broken: readonly string[];
    readonly why?: string;
    readonly labDir: string;
    readonly durationMs: number;
  };

/** One case's outcomes, in agent order. */
export interface CaseOutcome {
  readonly case: ReproCase;
  readonly agents: readonly AgentOutcome[];
}

/** Whether every outcome confirmed its verdict (not-applicable ones need no run). */
export function allConfirmed(outcomes: readonly CaseOutcome[]): boolean {
  return outcomes.every((o) => o.agents.every((a) => a.verdict === "not-applicable" || a.confirmed));
}

/** A cell: the verdict, and whether the run bore it out. */
export function cellText(a: AgentOutcome): string {
  if (a.verdict === "not-applicable") return "n/a";
  return a.confirmed ? `${a.verdict} ✓` : `NOT ${a.verdict} ✗`;
}

function table(head: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => [...(r[i] ?? "")].length)));
  const line = (cells: readonly string[]) =>
    cells.map((c, i) => c + " ".repeat(widths[i]! - [...c].length)).join("  ").trimEnd();
  return [line(head), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}

/** The declared verdicts of the library (`repro list`). */
export function listTable(cases: readonly ReproCase[]): string {
  return table(
    ["case", "id", "ours", "upstream", "what"],
    cases.map((
      c,
    ) => [c.name, c.repro.id ?? "", c.repro.verdict.ours, c.repro.verdict.upstream, c.repro.title]),
  );
}

/** The comparison across the cases and agents that ran. */
export function comparisonTable(outcomes: readonly CaseOutcome[]): string {
  const agents = [...new Set(outcomes.flatMap((o) => o.agents.map((a) => a.agent)))];
  const rows = outcomes.map((o) => [
    o.case.name,
    o.case.repro.id ?? "",
    ...agents.map((agent) => {
      const a = o.agents.find((x) => x.agent === agent);
      return a ? cellText(a) : "-";
    }),
  ]);
  const lines = [table(["case", "id", ...agents], rows)];
  for (const o of outcomes) {
    for (const a of o.agents) {
      if (a.verdict === "not-applicable" || a.confirmed) continue;
      lines.push(`\n${o.case.name} (${a.agent}): expected ${a.verdict}, but:`);
      for (const b of a.broken) lines.push(`  ${b}`);
      lines.push(`  lab directory: ${a.labDir}`);
    }
  }
  return lines.join("\n");
}

/** A case's explanation as the terminal shows it before a run and in `repro show`. */
export function explain(c: ReproCase): string {
  const r = c.repro;
  const wrap = (label: string, text: string) => {
    const words = text.split(/\s+/);
    const out: string[] = [];
    let line = `  ${label.padEnd(9)}`;
    for (const w of words) {
      if (line.length + w.length > 108 && line.trim().length > label.length) {
        out.push(line.trimEnd());
        line = " ".repeat(11);
      }
      line += `${w} `;
    }
    out.push(line.trimEnd());
    return out.join("\n");
  };
  return [
    `${c.name}${r.id ? ` (${r.id})` : ""}: ${r.title}`,
    wrap("symptom", r.symptom),
    wrap("cause", r.cause),
    wrap("fix", r.fix),
    ...(r.upstream.length ? [wrap("upstream", r.upstream.join(", "))] : []),
    wrap("ours", `${r.verdict.ours}${r.why.ours ? `: ${r.why.ours}` : ""}`),
    wrap("upstream", `${r.verdict.upstream}${r.why.upstream ? `: ${r.why.upstream}` : ""}`),
  ].join("\n");
}

function issueLink(ref: string): string {
  const m = /^([\w.-]+\/[\w.-]+)#(\d+)$/.exec(ref);
  return m ? `<a href="https://github.com/${m[1]}/issues/${m[2]}">${esc(ref)}</a>` : esc(ref);
}

/**
 * The HTML comparison: one self-contained page (inline CSS, no scripts) with the table across cases and agents,
 * then each case's explanation, its verdict per agent with the reason, and links to each run's own report
 * (relative to `base`, the directory the page is written to).
 */
export function htmlComparison(outcomes: readonly CaseOutcome[], base: string, when = new Date()): string {
  const agents = [...new Set(outcomes.flatMap((o) => o.agents.map((a) => a.agent)))];
  const rel = (dir: string) => dir.startsWith(`${base}/`) ? dir.slice(base.length + 1) : dir;
  const cell = (a: AgentOutcome | undefined) => {
    if (!a) return `<td>-</td>`;
    const cls = a.verdict === "not-applicable" ? "na" : !a.confirmed ? "broken" : a.verdict;
    const link = a.verdict === "not-applicable"
      ? ""
      : ` <a href="${esc(rel(a.labDir))}/report.html">report</a>`;
    return `<td class="${cls}">${esc(cellText(a))}${link}</td>`;
  };
  const rows = outcomes.map((o) =>
    `<tr><td><a href="#${esc(o.case.name)}">${esc(o.case.name)}</a></td><td>${
      esc(o.case.repro.id ?? "")
    }</td><td>${esc(o.case.repro.title)}</td>${
      agents.map((ag) => cell(o.agents.find((a) => a.agent === ag))).join("")
    }</tr>`
  ).join("\n");
  const sections = outcomes.map((o) => {
    const r = o.case.repro;
    const verdicts = o.agents.map((a) =>
      `<li><b>${esc(a.agent)}</b>: ${esc(cellText(a))}${a.why ? ` — ${esc(a.why)}` : ""}${
        a.verdict !== "not-applicable" && !a.confirmed
          ? `<ul>${a.broken.map((b) => `<li class="brokenline">${esc(b)}</li>`).join("")}</ul>`
          : ""
      }</li>`
    ).join("");
    return `<section id="${esc(o.case.name)}"><h2>${esc(o.case.name)}${r.id ? ` (${esc(r.id)})` : ""}: ${
      esc(r.title)
    }</h2>
<dl><dt>Symptom</dt><dd>${esc(r.symptom)}</dd><dt>Cause</dt><dd>${esc(r.cause)}</dd><dt>Fix</dt><dd>${
      esc(r.fix)
    }</dd>${r.upstream.length ? `<dt>Upstream</dt><dd>${r.upstream.map(issueLink).join(", ")}</dd>` : ""}</dl>
<ul>${verdicts}</ul></section>`;
  }).join("\n");
  const ok = allConfirmed(outcomes);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>flannel-lab reproductions</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:72em;padding:0 1em;color:#222}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3em .6em;text-align:left}
th{background:#f3f3f3}.reproduced{background:#fff1d6}.handled{background:#ddf5dd}.na{color:#888}
.broken{background:#f8c8c8;font-weight:bold}.brokenline{color:#a00}dt{font-weight:bold}dd{margin:0 0 .5em 1.5em}
.summary{font-size:1.1em;margin:1em 0}.summary.bad{color:#a00}
</style></head><body>
<h1>flannel-lab reproductions</h1>
<p>${
    esc(when.toISOString())
  }. <b>reproduced</b>: the failure shows with that agent; <b>handled</b>: the agent copes or
reports it clearly; ✓: every step of the run held, so the verdict is proven; ✗: a step did not hold, so that side's
behaviour changed.</p>
<p class="summary${ok ? "" : " bad"}">${
    ok ? "Every verdict was confirmed." : "Some verdicts were not confirmed: see the red cells."
  }</p>
<table><tr><th>case</th><th>id</th><th>what</th>${agents.map((a) => `<th>${esc(a)}</th>`).join("")}</tr>
${rows}
</table>
${sections}
</body></html>
`;
}
