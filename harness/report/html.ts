/**
 * The HTML report (pure): one self-contained file (inline CSS, no scripts, no external assets) with the run
 * summary, the pass rate over repeats, each step's verdict, the connectivity matrix and kernel diffs as
 * preformatted text with missing/extra/different lines coloured, links to the pcaps and probe logs kept in the
 * lab directory (relative, so the directory can be archived as is), and every fault's timeline.
 *
 * @module
 */
import { passedAfterRetries, stepRates, type StoredResults, type StoredStep } from "./results.ts";
import { barsHtml, matrixHtml, PICTURE_CSS, probeSvg, topologySvg } from "./pictures.ts";
import { escapeHtml as esc } from "./escape.ts";

function verdict(s: StoredStep): { text: string; cls: string } {
  if (s.status === "pass") {
    return passedAfterRetries(s)
      ? { text: `pass after ${s.attempts - 1} ${s.attempts === 2 ? "retry" : "retries"}`, cls: "retry" }
      : { text: "pass", cls: "pass" };
  }
  return s.status === "fail" ? { text: "FAIL", cls: "fail" } : { text: "skipped", cls: "skip" };
}

function detailLine(line: string): string {
  const cls = /^\s*missing:/.test(line)
    ? "missing"
    : /^\s*extra:/.test(line)
    ? "extra"
    : /^\s*different:/.test(line)
    ? "different"
    : /\(want (ok|x)\)/.test(line)
    ? "different"
    : "";
  return cls ? `<span class="${cls}">${esc(line)}</span>` : esc(line);
}

function timeline(s: StoredStep): string {
  if (!s.timeline.length) return "";
  const t0 = s.timeline[0]!.t;
  const span = Math.max(1, s.timeline[s.timeline.length - 1]!.t - t0);
  const rows = s.timeline.map((e) => {
    const off = e.t - t0;
    const pct = Math.round((off / span) * 100);
    return `<tr><td class="num">+${off} ms</td><td><div class="bar"><span style="left:${pct}%"></span></div></td><td>${
      esc(e.what)
    }</td></tr>`;
  });
  return `<table class="timeline"><tr><th>at</th><th></th><th>event</th></tr>${rows.join("")}</table>`;
}

/** A step's pictures: the trace's diagram, the matrix grid, the probe's timeline, the bars. */
function figures(s: StoredStep): string {
  const f = s.figures ?? {};
  const parts = [
    f.svg ?? "",
    f.matrix ? matrixHtml(f.matrix) : "",
    f.probe ? probeSvg(f.probe, s.timeline) : "",
    barsHtml(s.kind, s.metrics),
  ].filter(Boolean);
  return parts.map((p) => `<div class="figure">${p}</div>`).join("\n");
}

function step(s: StoredStep): string {
  const v = verdict(s);
  const metrics = Object.entries(s.metrics);
  // Open when it failed, or when it has a picture to show.
  const open = s.status === "fail" || Object.keys(s.figures ?? {}).length > 0 ||
    barsHtml(s.kind, s.metrics) !== "";
  return `<details class="step ${v.cls}"${open ? " open" : ""}>
<summary><span class="tag ${v.cls}">${esc(v.text)}</span> <b>${s.index}.</b> ${
    esc(s.name)
  } <span class="dim">(${(s.durationMs / 1000).toFixed(1)} s, ${s.attempts} attempt${
    s.attempts === 1 ? "" : "s"
  }${s.line !== undefined ? `, line ${s.line}` : ""})</span></summary>
<p>${esc(s.message)}</p>
${figures(s)}
${s.details.length ? `<pre>${s.details.map(detailLine).join("\n")}</pre>` : ""}
${
    metrics.length
      ? `<table class="metrics">${
        metrics.map(([k, n]) => `<tr><td>${esc(k)}</td><td class="num">${n}</td></tr>`).join("")
      }</table>`
      : ""
  }
${timeline(s)}
${
    s.artifacts.length
      ? `<p>kept: ${s.artifacts.map((a) => `<a href="${esc(a)}">${esc(a)}</a>`).join(", ")}</p>`
      : ""
  }
</details>`;
}

/**
 * Renders results as one HTML page.
 *
 * @param r stored results (one or more runs)
 * @returns the page
 */
export function htmlReport(r: StoredResults): string {
  const rates = stepRates(r.runs);
  const okRuns = r.runs.filter((x) => x.ok).length;
  const multi = r.runs.length > 1;
  const rateTable = `<table class="summary"><tr><th>#</th><th>step</th>${
    r.runs.map((x) => `<th>run ${x.run}</th>`).join("")
  }${multi ? "<th>pass rate</th>" : ""}</tr>${
    rates.map((rate) =>
      `<tr><td class="num">${rate.index}</td><td>${esc(rate.name)}</td>${
        r.runs.map((run) => {
          const s = run.steps.find((x) => x.index === rate.index);
          if (!s) {
            return "<td></td>";
          }
          const v = verdict(s);
          return `<td class="${v.cls}">${esc(v.text)}</td>`;
        }).join("")
      }${
        multi
          ? `<td class="num">${rate.passed}/${rate.runs}${
            rate.passedAfterRetries ? ` (${rate.passedAfterRetries} after retries)` : ""
          }</td>`
          : ""
      }</tr>`
    ).join("")
  }</table>`;
  const runs = r.runs.map((run) =>
    `<section><h2>Run ${run.run}: ${run.ok ? "passed" : "failed"} <span class="dim">${
      new Date(run.startedAt).toISOString()
    }, ${((run.timings["totalMs"] ?? 0) / 1000).toFixed(1)} s</span></h2>${
      run.steps.map(step).join("\n")
    }</section>`
  );
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>flannel-lab: ${esc(r.lab)}</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:2em;max-width:1200px;color:#222}
pre{background:#f6f6f6;padding:.6em;overflow:auto;font-size:12px}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ddd;padding:2px 8px;text-align:left}
.num{text-align:right;font-variant-numeric:tabular-nums}.dim{color:#777;font-weight:normal}
.pass{background:#e6f4ea}.retry{background:#fff4d6}.fail{background:#fde2e1}.skip{background:#eee}
.tag{padding:0 6px;border-radius:3px}.missing{color:#b00020}.extra{color:#8a4b00}.different{color:#6a1b9a}
details.step{border:1px solid #ddd;margin:.4em 0;padding:.3em .6em}summary{cursor:pointer}
.bar{position:relative;width:240px;height:8px;background:#eee}.bar span{position:absolute;top:-2px;width:4px;height:12px;background:#1565c0}
${PICTURE_CSS}
</style></head><body>
<h1>${esc(r.lab)} <span class="dim">${okRuns === r.runs.length ? "passed" : "failed"}${
    multi ? `: ${okRuns}/${r.runs.length} runs passed` : ""
  }</span></h1>
<p>${esc(r.description)}</p>
<p class="dim">topology ${esc(r.topology)} · scenario ${esc(r.scenario)} · runtime ${
    esc(r.runtime)
  } · lab directory ${esc(r.labDir)}</p>
${r.map ? `<h2>Topology</h2>\n<div class="figure">${topologySvg(r.map)}</div>` : ""}
<h2>Summary</h2>
${rateTable}
${runs.join("\n")}
</body></html>
`;
}
