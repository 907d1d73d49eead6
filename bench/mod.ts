/**
 * Benchmark runner: `deno task bench [name…]` runs the registered benchmarks (all, or those named), prints each
 * one's table and writes `bench/results/<name>.json` (full data) and `<name>.md` (the table and notes).
 *
 * To add a benchmark: export a {@link Benchmark} from a module here and list it in {@link BENCHMARKS}. A
 * benchmark measures its baseline in the same run and reports ratios against it.
 *
 * @module
 */
import { netlinkBenchmark } from "./netlink_bench.ts";
import { dataplaneBenchmark } from "./dataplane_bench.ts";
import { cniBenchmark } from "./cni_bench.ts";
import { udpBenchmark } from "./udp_bench.ts";
import { harnessBenchmark } from "./harness_bench.ts";
import { agentBenchmark } from "./agent_start_bench.ts";

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
}

/** A registered benchmark. */
export interface Benchmark {
  /** Short name: selects it on the command line and names its result files. */
  readonly name: string;
  run(): Promise<BenchReport>;
}

/** The registered benchmarks. */
export const BENCHMARKS: readonly Benchmark[] = [
  netlinkBenchmark,
  dataplaneBenchmark,
  cniBenchmark,
  udpBenchmark,
  harnessBenchmark,
  agentBenchmark,
];

/**
 * Formats a report as a Markdown table with its notes.
 *
 * @example
 * ```ts
 * import { formatReport } from "./mod.ts";
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

async function main(args: string[]): Promise<void> {
  const chosen = args.length === 0 ? BENCHMARKS : BENCHMARKS.filter((b) => args.includes(b.name));
  if (chosen.length === 0) {
    throw new TypeError(
      `Unknown benchmark: ${args.join(", ")} (have ${BENCHMARKS.map((b) => b.name).join(", ")})`,
    );
  }
  const dir = new URL("./results/", import.meta.url);
  await Deno.mkdir(dir, { recursive: true });
  for (const b of chosen) {
    const report = await b.run();
    const md = formatReport(report);
    await Deno.stdout.write(new TextEncoder().encode(md + "\n"));
    const data = {
      name: b.name,
      date: new Date().toISOString(),
      deno: Deno.version.deno,
      ...(report.data as object),
    };
    await Deno.writeTextFile(new URL(`${b.name}.json`, dir), JSON.stringify(data, null, 2) + "\n");
    await Deno.writeTextFile(new URL(`${b.name}.md`, dir), md);
  }
}

if (import.meta.main) await main(Deno.args);
