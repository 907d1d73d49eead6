/**
 * What a benchmark returns and how its table is printed: shared by every benchmark and the runner, in a file
 * of its own so that benchmarks need not import the runner that imports them.
 *
 * @module
 */

/** What a benchmark returns: a table for people and data for machines. */
export interface BenchReport {
  /** Title line of the table. */
  readonly title: string;
  readonly columns: readonly string[];
  readonly rows: readonly (readonly (string | number)[])[];
  /** Lines printed under the table (method, versions, baseline). */
  readonly notes: readonly string[];
  /** Everything measured, written as JSON. */
  readonly data: unknown;
  /** The figures a user compares, for the one-page summary and the README's table. */
  readonly headlines?: readonly Headline[];
}

/**
 * One figure of the summary: a ratio of ours to a baseline measured in the same run, and the target it must
 * meet (`<=` when lower is better, `>=` when higher is).
 */
export interface Headline {
  readonly figure: string;
  /** ours ÷ baseline. */
  readonly ratio: number;
  /** What the ratio divides by ("upstream flanneld", "ip -batch"). */
  readonly baseline: string;
  readonly target?: { readonly op: "<=" | ">="; readonly value: number };
  /** The absolute figures behind the ratio, for the reader ("2.26 s vs 9.52 s"). */
  readonly detail?: string;
}

/** A registered benchmark. */
export interface Benchmark {
  /** Short name: selects it on the command line and names its result files. */
  readonly name: string;
  run(): Promise<BenchReport>;
}

/**
 * Formats a report as a Markdown table with its notes.
 *
 * @example
 * ```ts
 * import { formatReport } from "./report.ts";
 * formatReport({ title: "t", columns: ["a"], rows: [[1]], notes: [], data: {} });
 * ```
 */
export function formatReport(r: BenchReport): string {
  const cells = [r.columns.map(String), ...r.rows.map((row) => row.map(String))];
  const widths = r.columns.map((_, i) => Math.max(...cells.map((row) => (row[i] ?? "").length)));
  const line = (row: readonly string[]) =>
    "| " + row.map((c, i) => c.padEnd(widths[i] ?? 0)).join(" | ") + " |";
  const sep = "|" + widths.map((w) => "-".repeat(w + 2)).join("|") + "|";
  return [
    `## ${r.title}`,
    "",
    line(cells[0]!),
    sep,
    ...cells.slice(1).map(line),
    "",
    ...r.notes.map((n) => `- ${n}`),
    "",
  ]
    .join("\n");
}

/**
 * Whether this is CI's smoke run (`BENCH_SMOKE=1`): every benchmark runs end to end at a size that takes
 * seconds, so none can rot, and its figures mean nothing.
 */
export const SMOKE = Deno.env.get("BENCH_SMOKE") === "1";

/**
 * A benchmark size: `full` normally, `smoke` in the smoke run; an environment variable, when set, wins.
 *
 * @example
 * ```ts
 * import { scaled } from "./report.ts";
 * const repeats = scaled(5, 1, "CONTROL_BENCH_REPEATS");
 * ```
 */
export function scaled(full: number, smoke: number, env?: string): number {
  const set = env ? Deno.env.get(env) : undefined;
  return set !== undefined ? Number(set) : SMOKE ? smoke : full;
}
