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
import { healBenchmark } from "./heal_bench.ts";
import { cniBenchmark } from "./cni_bench.ts";
import { udpBenchmark } from "./udp_bench.ts";
import { harnessBenchmark } from "./harness_bench.ts";
import { agentBenchmark } from "./agent_start_bench.ts";
import { controlBenchmark } from "./control_bench.ts";
import { steadyBenchmark } from "./steady_bench.ts";
import { scale100Benchmark, scaleBenchmark } from "./scale_bench.ts";
import { dataplaneBenchmark } from "./dataplane_bench.ts";
import { type Benchmark, formatReport, SMOKE } from "./report.ts";
import { writeSummary } from "./summary.ts";

export type { Benchmark, BenchReport, Headline } from "./report.ts";
export { formatReport } from "./report.ts";

/** The registered benchmarks. */
export const BENCHMARKS: readonly Benchmark[] = [
  netlinkBenchmark,
  healBenchmark,
  cniBenchmark,
  udpBenchmark,
  harnessBenchmark,
  agentBenchmark,
  controlBenchmark,
  steadyBenchmark,
  scaleBenchmark,
  scale100Benchmark,
  dataplaneBenchmark,
];

const README = new URL("../README.md", import.meta.url);

async function main(args: string[]): Promise<void> {
  // `--summary`: only redraw the summary and the README's table from the results already there.
  if (args.length === 1 && args[0] === "--summary") {
    await writeSummary(new URL("./results/", import.meta.url), BENCHMARKS.map((b) => b.name), README);
    return;
  }
  const chosen = args.length === 0 ? BENCHMARKS : BENCHMARKS.filter((b) => args.includes(b.name));
  if (chosen.length === 0) {
    throw new TypeError(
      `Unknown benchmark: ${args.join(", ")} (have ${BENCHMARKS.map((b) => b.name).join(", ")})`,
    );
  }
  // The smoke run writes elsewhere, so that it never replaces the committed figures.
  // A smoke run without a folder of its own gets a temporary one: its figures are not the committed ones.
  const out = Deno.env.get("BENCH_RESULTS_DIR") ??
    (SMOKE ? await Deno.makeTempDir({ prefix: "flannel-lab-bench-smoke-" }) : undefined);
  if (SMOKE && !Deno.env.get("BENCH_RESULTS_DIR")) {
    await Deno.stderr.write(new TextEncoder().encode(`smoke run: results go to ${out}\n`));
  }
  const dir = out ? new URL(`file://${out.replace(/\/?$/, "/")}`) : new URL("./results/", import.meta.url);
  await Deno.mkdir(dir, { recursive: true });
  for (const b of chosen) {
    const report = await b.run();
    const md = formatReport(report);
    await Deno.stdout.write(new TextEncoder().encode(md + "\n"));
    const data = {
      name: b.name,
      date: new Date().toISOString(),
      deno: Deno.version.deno,
      headlines: report.headlines ?? [],
      ...(report.data as object),
    };
    await Deno.writeTextFile(new URL(`${b.name}.json`, dir), JSON.stringify(data, null, 2) + "\n");
    await Deno.writeTextFile(new URL(`${b.name}.md`, dir), md);
  }
  // The README's table follows the committed figures only, never a smoke run's.
  await writeSummary(dir, BENCHMARKS.map((b) => b.name), out ? undefined : README);
}

if (import.meta.main) await main(Deno.args);
