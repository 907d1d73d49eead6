/**
 * Steady state, ours vs upstream flanneld v0.28.9 (B3): with `LEASES` remote vxlan leases in etcd and nothing
 * changing, what an agent costs while it only keeps the node as it is — its periodic resyncs, lease renewal
 * checks and iptables checks. Each side's agent is started, left until its kernel is fully programmed plus
 * a settling pause, and then measured over a window of `SECONDS`: CPU time (utime + stime from
 * /proc/<pid>/stat, children included for upstream's iptables runs) and resident memory (VmRSS sampled every
 * second: mean and maximum).
 *
 * Order alternates A-B-B-A over `REPEATS` rounds; medians over rounds (min–max). Sizes from
 * `STEADY_BENCH_LEASES`, `STEADY_BENCH_SECONDS` and `STEADY_BENCH_REPEATS`.
 *
 * @module
 */
import { waitFor } from "../tests/helpers/mini_lab.ts";
import { openBenchLab } from "./bench_lab.ts";
import { ensureFlanneld, FLANNELD_VERSION } from "../harness/upstream/mod.ts";
import { startUpstreamAgent } from "../tests/helpers/upstream.ts";
import { type Benchmark, type BenchReport, type Headline, scaled } from "./report.ts";
import { type AgentKind, median, ratioText, rounds, spread } from "./stats.ts";

const LEASES = scaled(5000, 200, "STEADY_BENCH_LEASES");
const SECONDS = scaled(120, 3, "STEADY_BENCH_SECONDS");
const REPEATS = scaled(5, 1, "STEADY_BENCH_REPEATS");
const SETTLE_MS = 3000;
const TICK_S = 1 / 100; // USER_HZ

interface Window {
  readonly kind: AgentKind;
  readonly round: number;
  /** CPU seconds used in the window (the agent and the children it waited for). */
  readonly cpuS: number;
  readonly meanRssMiB: number;
  readonly maxRssMiB: number;
}

async function cpuSeconds(pid: number): Promise<number> {
  // After the command name (which may hold spaces): utime, stime, cutime, cstime are fields 12–15.
  const f = (await Deno.readTextFile(`/proc/${pid}/stat`)).split(") ")[1]!.split(" ");
  return (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) * TICK_S;
}

async function rssMiB(pid: number): Promise<number> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN) / 1024;
}

async function run(): Promise<BenchReport> {
  const flanneld = await ensureFlanneld();
  await using bench = await openBenchLab("flts", { backend: "vxlan", peers: LEASES });
  const { lab, node } = bench;
  await bench.write("vxlan", "burst-put", 0, LEASES);

  const programmed = async () => ((await bench.counts()).routes >= LEASES ? true : undefined);

  const windows: Window[] = [];
  for (const [round, kind] of rounds(REPEATS)) {
    await node.ns.ip(["link", "del", "flannel.1"], { check: false });
    const agent = kind === "ours" ? await lab.startAgent(node) : await startUpstreamAgent(lab, node);
    try {
      await waitFor(`${kind} programmed`, programmed, 120_000);
      await new Promise((r) => setTimeout(r, SETTLE_MS));
      const cpu0 = await cpuSeconds(agent.pid);
      const rss: number[] = [];
      for (let s = 0; s < SECONDS; s++) {
        rss.push(await rssMiB(agent.pid));
        await new Promise((r) => setTimeout(r, 1000));
      }
      const cpuS = (await cpuSeconds(agent.pid)) - cpu0;
      windows.push({
        kind,
        round,
        cpuS,
        meanRssMiB: rss.reduce((a, b) => a + b, 0) / rss.length,
        maxRssMiB: Math.max(...rss),
      });
    } finally {
      await agent.stop();
    }
  }

  const of = (kind: AgentKind, f: (w: Window) => number) => windows.filter((w) => w.kind === kind).map(f);
  const row = (label: string, f: (w: Window) => number, digits: number) => {
    const [a, b] = [median(of("ours", f)), median(of("upstream", f))];
    return [label, spread(of("ours", f), digits), spread(of("upstream", f), digits), ratioText(a, b)];
  };
  const cpuPerMin = (w: Window) => (w.cpuS / SECONDS) * 60;
  const headline = (figure: string, f: (w: Window) => number, target: number, unit: string): Headline => {
    const [a, b] = [median(of("ours", f)), median(of("upstream", f))];
    return {
      figure,
      ratio: a / b,
      baseline: "upstream flanneld",
      target: { op: "<=", value: target },
      detail: `${a.toFixed(2)} vs ${b.toFixed(2)} ${unit}`,
    };
  };
  return {
    title: `steady state with ${LEASES} vxlan leases, nothing changing: ours vs upstream flanneld`,
    columns: ["figure", "ours", "upstream", "ours ÷ upstream"],
    rows: [
      row("CPU, s per minute", cpuPerMin, 3),
      row("RSS, mean MiB", (w) => w.meanRssMiB, 1),
      row("RSS, max MiB", (w) => w.maxRssMiB, 1),
    ],
    headlines: [
      headline(`steady state, ${LEASES} leases: CPU`, cpuPerMin, 1, "s/min"),
      headline(`steady state, ${LEASES} leases: mean RSS`, (w) => w.meanRssMiB, 1.2, "MiB"),
    ],
    notes: [
      `${SECONDS} s window per run, ${
        SETTLE_MS / 1000
      } s after the kernel held every route; median (min–max) over ` +
      `${REPEATS} rounds in A-B-B-A order, a fresh agent each run; CPU = utime+stime (+ waited-for children).`,
      `ours: \`deno run\` (Deno ${Deno.version.deno}); upstream: flanneld ${FLANNELD_VERSION} ` +
      `(${
        flanneld.path.split("/").pop()
      }); same node and etcd (data on tmpfs), default flags and log levels.`,
    ],
    data: { leases: LEASES, seconds: SECONDS, repeats: REPEATS, flanneld: FLANNELD_VERSION, windows },
  };
}

/** The registered benchmark. */
export const steadyBenchmark: Benchmark = { name: "steady", run };
