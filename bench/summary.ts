/**
 * The one-page summary of a benchmark run: every headline figure (a ratio to a baseline measured in the same
 * run) as a Markdown table and as an SVG chart drawn here, without a plotting library. The chart has a log
 * scale centred on 1 (the baseline), so 0.25× and 4× are equally far from it; a bar is green when the figure
 * meets its target, red when it misses, grey when it has none. The README's performance table is this
 * Markdown, spliced between two marker comments. Rendering is pure; {@linkcode writeSummary} does the I/O.
 *
 * @module
 */
import type { Headline } from "./report.ts";

/** A headline with the benchmark it comes from and when that ran. */
export interface SummaryRow extends Headline {
  readonly bench: string;
  readonly date: string;
}

/** Whether a figure meets its target (undefined without one). */
export function meets(h: Headline): boolean | undefined {
  if (!h.target) return undefined;
  return h.target.op === "<=" ? h.ratio <= h.target.value : h.ratio >= h.target.value;
}

const fmt = (r: number) =>
  r === 0
    ? "0"
    : r >= 100
    ? r.toFixed(0)
    : r >= 10
    ? r.toFixed(1)
    : r >= 0.01
    ? r.toFixed(2)
    : r.toExponential(1);

/**
 * The summary as a Markdown table.
 *
 * @example
 * ```ts
 * import { summaryMarkdown } from "./summary.ts";
 * summaryMarkdown([{ bench: "agent", date: "2026-12-07", figure: "cold start", ratio: 0.24, baseline: "upstream" }]);
 * ```
 */
export function summaryMarkdown(rows: readonly SummaryRow[]): string {
  const cells = [["figure", "ours ÷ baseline", "baseline (same run)", "target", "measured"]];
  for (const r of rows) {
    const verdict = meets(r);
    const target = r.target ? `${r.target.op} ${r.target.value}${verdict ? " ✓" : " ✗ missed"}` : "—";
    const when = `(\`${r.bench}\`, ${r.date.slice(0, 10)})`;
    cells.push([
      r.figure,
      `**${fmt(r.ratio)}×**`,
      r.baseline,
      target,
      r.detail ? `${r.detail} ${when}` : when,
    ]);
  }
  // Padded as \`deno fmt\` pads Markdown tables, so formatting the README leaves the generated table alone.
  const widths = cells[0]!.map((_, i) => Math.max(...cells.map((row) => [...row[i]!].length)));
  const line = (row: readonly string[]) =>
    "| " + row.map((c, i) => c + " ".repeat(widths[i]! - [...c].length)).join(" | ") + " |";
  return [
    line(cells[0]!),
    "| " + widths.map((w) => "-".repeat(w)).join(" | ") + " |",
    ...cells.slice(1).map(line),
  ]
    .join("\n") + "\n";
}

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

/**
 * The summary as a self-contained SVG bar chart.
 *
 * @example
 * ```ts
 * import { summarySvg } from "./summary.ts";
 * const svg = summarySvg([{ bench: "control", date: "", figure: "p99", ratio: 1.2, baseline: "upstream", target: { op: "<=", value: 1 } }]);
 * ```
 */
export function summarySvg(rows: readonly SummaryRow[]): string {
  const labelW = 430, chartW = 380, rowH = 24, top = 44, left = 10;
  const width = left + labelW + chartW + 70;
  const height = top + rows.length * rowH + 36;
  // Decades 0.01 … 100 on a log axis; ratios beyond are drawn at the edge.
  const lo = -2, hi = 2;
  const x = (r: number) => {
    const l = Math.min(hi, Math.max(lo, Math.log10(Math.max(r, 1e-9))));
    return left + labelW + ((l - lo) / (hi - lo)) * chartW;
  };
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="${left}" y="18" font-size="15" font-weight="bold">flannel-lab: ours ÷ baseline, measured in the same run</text>`,
    `<text x="${left}" y="34" fill="#555">log scale; 1 = the baseline; green meets its target, red misses it, grey has none</text>`,
  ];
  for (let d = lo; d <= hi; d++) {
    const gx = x(10 ** d);
    out.push(
      `<line x1="${gx}" y1="${top - 4}" x2="${gx}" y2="${height - 30}" stroke="${
        d === 0 ? "#000" : "#ddd"
      }"/>`,
      `<text x="${gx}" y="${height - 16}" text-anchor="middle" fill="#555">${10 ** d}×</text>`,
    );
  }
  rows.forEach((r, i) => {
    const y = top + i * rowH;
    const verdict = meets(r);
    const colour = verdict === undefined ? "#78909c" : verdict ? "#2e7d32" : "#c62828";
    const [a, b] = [x(1), x(r.ratio)].sort((p, q) => p - q) as [number, number];
    out.push(
      `<text x="${left}" y="${y + 15}">${esc(`${r.figure} (vs ${r.baseline})`)}</text>`,
      `<rect x="${a}" y="${y + 4}" width="${Math.max(1.5, b - a)}" height="${rowH - 8}" fill="${colour}"/>`,
      `<text x="${Math.max(x(1), x(r.ratio)) + 4}" y="${y + 15}" fill="${colour}">${fmt(r.ratio)}×</text>`,
    );
    if (r.target) {
      const tx = x(r.target.value);
      out.push(
        `<line x1="${tx}" y1="${y + 1}" x2="${tx}" y2="${
          y + rowH - 1
        }" stroke="#000" stroke-dasharray="2,2"/>`,
      );
    }
  });
  out.push("</svg>");
  return out.join("\n") + "\n";
}

/** Markers around the generated table in README.md. */
export const README_START = "<!-- bench-summary:start (generated by `deno task bench`; do not edit) -->";
export const README_END = "<!-- bench-summary:end -->";

/**
 * Replaces what lies between the markers of `readme` with `table`; the text unchanged when it has no markers.
 *
 * @example
 * ```ts
 * import { README_END, README_START, spliceReadme } from "./summary.ts";
 * spliceReadme(`a\n${README_START}\nold\n${README_END}\nb`, "new\n"); // keeps a and b
 * ```
 */
export function spliceReadme(readme: string, table: string): string {
  const a = readme.indexOf(README_START);
  const b = readme.indexOf(README_END);
  if (a < 0 || b < a) return readme;
  return readme.slice(0, a + README_START.length) + "\n\n" + table + "\n" + readme.slice(b);
}

/**
 * Reads every result JSON in `dir`, writes `summary.{json,md,svg}` there and, when `readme` is given, splices
 * the table into it. Benchmarks not run this time keep their last figures (each row names its date).
 */
export async function writeSummary(dir: URL, order: readonly string[], readme?: URL): Promise<SummaryRow[]> {
  const rows: SummaryRow[] = [];
  for (const bench of order) {
    let json: { date?: string; headlines?: Headline[] };
    try {
      json = JSON.parse(await Deno.readTextFile(new URL(`${bench}.json`, dir)));
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) continue;
      throw error;
    }
    // A ratio of nothing to nothing (a smoke run too short to use any CPU) is not a figure.
    for (const h of json.headlines ?? []) {
      if (Number.isFinite(h.ratio)) rows.push({ ...h, bench, date: json.date ?? "" });
    }
  }
  const md = summaryMarkdown(rows);
  await Deno.writeTextFile(new URL("summary.json", dir), JSON.stringify(rows, null, 2) + "\n");
  await Deno.writeTextFile(new URL("summary.md", dir), md);
  await Deno.writeTextFile(new URL("summary.svg", dir), summarySvg(rows));
  if (readme) {
    const text = await Deno.readTextFile(readme);
    const next = spliceReadme(text, md);
    if (next !== text) await Deno.writeTextFile(readme, next);
  }
  return rows;
}
