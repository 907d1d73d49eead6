/**
 * udp backend data-plane benchmark, three paths in one run on the same kind of underlay (two namespaces joined
 * by a veth, MTU 1500):
 *
 * - node → node: the underlay itself (baseline);
 * - ours: pod → pod through two standalone udp backends (`tests/helpers/udp_lab.ts`, `udp/proxy_main.ts`);
 * - ours without offload: the same with `--no-offload` (no UDP GSO/GRO: one datagram per kernel pass, like
 *   upstream), to separate the effect of the worker-thread design from that of the kernel offloads;
 * - upstream: pod → pod through two upstream flanneld v0.28.9 processes with the udp backend (its C proxy),
 *   etcd in node 1's namespace (`startUpstreamUdpLab`).
 *
 * Measures, each repeated `REPEATS` times with the order of the paths reversed every other round (A-B-C-D,
 * D-C-B-A, …), reported as median (min–max):
 * - TCP throughput: iperf3, one stream, `SECONDS` s;
 * - RTT: `PINGS` pings 10 ms apart; p50 and p99 over all pings of all rounds;
 * - small packets/s: iperf3 UDP, 100-byte IP packets (72-byte payload) unthrottled, packets *received* per second;
 * - proxy CPU during the TCP runs (utime + stime of both proxy processes, from /proc), per GB delivered.
 *
 * Run alone with `deno run -A --unstable-net bench/udp_bench.ts` or as `deno task bench udp`; both write
 * bench/results/udp.{json,md}.
 *
 * @module
 */
import { type Benchmark, type BenchReport, type Headline, scaled } from "./report.ts";
import { startUdpLab, startUpstreamUdpLab, type UdpLabNode } from "../tests/helpers/udp_lab.ts";
import type { Netns } from "../harness/netns.ts";
import type { Process } from "../cli/process/mod.ts";
import { ensureFlanneld, FLANNELD_VERSION } from "../harness/upstream/mod.ts";
import { median } from "./stats.ts";
import { pingRtts } from "./measure.ts";

const REPEATS = scaled(4, 1, "UDP_BENCH_REPEATS");
const SECONDS = scaled(5, 1, "UDP_BENCH_SECONDS");
const PINGS = scaled(200, 20);

type PathName = "node" | "ours" | "plain" | "upstream";
const NAMES: readonly PathName[] = ["node", "ours", "plain", "upstream"];
const series = (): Record<PathName, number[]> => ({ node: [], ours: [], plain: [], upstream: [] });

function percentile(v: readonly number[], p: number): number {
  const s = [...v].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
}

function spread(v: readonly number[], digits: number): string {
  return `${Math.min(...v).toFixed(digits)}–${Math.max(...v).toFixed(digits)}`;
}

// deno-lint-ignore no-explicit-any
type Json = any;

async function iperfTcp(client: Netns, server: string): Promise<{ gbps: number; bytes: number }> {
  const { stdout } = await client.exec(["iperf3", "-c", server, "-t", String(SECONDS), "-J"], {
    timeoutMs: 60_000,
  });
  const j: Json = JSON.parse(stdout);
  return { gbps: j.end.sum_received.bits_per_second / 1e9, bytes: j.end.sum_received.bytes };
}

async function iperfPps(client: Netns, server: string): Promise<number> {
  const { stdout } = await client.exec(
    ["iperf3", "-c", server, "-u", "-b", "0", "-l", "72", "-t", String(SECONDS), "-J"],
    { timeoutMs: 60_000 },
  );
  const j: Json = JSON.parse(stdout);
  const sum = j.end.sum_received ?? j.end.sum;
  const received = (sum.packets ?? 0) - (sum.lost_packets ?? 0);
  return received / (sum.seconds || SECONDS);
}

/** utime + stime of a process in seconds (0 when it is gone). */
async function cpuSeconds(pid: number): Promise<number> {
  const text = await Deno.readTextFile(`/proc/${pid}/stat`).catch(() => "");
  const f = text.slice(text.lastIndexOf(")") + 2).split(" ");
  return (Number(f[11] ?? 0) + Number(f[12] ?? 0)) / 100;
}

async function waitListening(nss: readonly Netns[]): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const outs = await Promise.all(nss.map((ns) => ns.exec(["ss", "-ltn"], { check: false })));
    if (outs.every((o) => o.stdout.includes(":5201"))) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error("iperf3 servers did not start");
}

interface PathSetup {
  readonly client: Netns;
  readonly server: string;
  /** Processes whose CPU is the proxy's (none for the underlay). */
  readonly pids: readonly number[];
}

/** Runs the benchmark. */
async function run(): Promise<BenchReport> {
  const flanneld = await ensureFlanneld();
  await using ours = await startUdpLab();
  await using plain = await startUdpLab({ proxyArgs: ["--no-offload"] });
  await using upstream = await startUpstreamUdpLab(flanneld.path);
  const [o1, o2] = ours.nodes;
  const [q1, q2] = plain.nodes;
  const [u1, u2] = upstream.nodes;
  const servers: Process[] = [];
  try {
    for (const ns of [o2.pod, o2.ns, q2.pod, u2.pod]) servers.push(await ns.spawn(["iperf3", "-s"]));
    await waitListening([o2.pod, o2.ns, q2.pod, u2.pod]);
    const pidOf = (n: UdpLabNode) => n.proxy!.pid;
    const paths: Record<PathName, PathSetup> = {
      node: { client: o1.ns, server: o2.underlay, pids: [] },
      ours: { client: o1.pod, server: o2.podIp, pids: [pidOf(o1), pidOf(o2)] },
      plain: { client: q1.pod, server: q2.podIp, pids: [pidOf(q1), pidOf(q2)] },
      upstream: { client: u1.pod, server: u2.podIp, pids: [pidOf(u1), pidOf(u2)] },
    };
    const tcp = series();
    const cpu = series();
    const rtt = series();
    const rttP50 = series();
    const pps = series();
    const order = NAMES;
    for (let r = 0; r < REPEATS; r++) {
      for (const name of r % 2 ? [...order].reverse() : order) {
        const p = paths[name];
        const before = await Promise.all(p.pids.map(cpuSeconds));
        const t = await iperfTcp(p.client, p.server);
        const after = await Promise.all(p.pids.map(cpuSeconds));
        tcp[name].push(t.gbps);
        if (p.pids.length) {
          const used = after.reduce((a, b) => a + b, 0) - before.reduce((a, b) => a + b, 0);
          cpu[name].push(used / (t.bytes / 1e9));
        }
        const rtts = await pingRtts(p.client, p.server, PINGS);
        rtt[name].push(...rtts);
        rttP50[name].push(median(rtts));
        pps[name].push(await iperfPps(p.client, p.server));
      }
    }
    const stats = { node1: await ours.stopProxy(0), node2: await ours.stopProxy(1) };
    const ratio = (a: number, b: number, lowerIsBetter: boolean) =>
      lowerIsBetter ? `${(a / b).toFixed(2)}×` : `${(100 * a / b).toFixed(1)} %`;
    const row = (
      label: string,
      v: Record<PathName, number[]>,
      unit: string,
      digits: number,
      lowerIsBetter = false,
    ) => {
      const cell = (n: PathName) => `${median(v[n]).toFixed(digits)} ${unit} (${spread(v[n], digits)})`;
      return [
        label,
        cell("node"),
        cell("ours"),
        cell("plain"),
        cell("upstream"),
        ratio(median(v.ours), median(v.upstream), lowerIsBetter),
        ratio(median(v.ours), median(v.node), lowerIsBetter),
      ];
    };
    const pct = (label: string, p: number) => {
      const q = (n: PathName) => percentile(rtt[n], p);
      return [
        label,
        `${q("node").toFixed(0)} µs`,
        `${q("ours").toFixed(0)} µs`,
        `${q("plain").toFixed(0)} µs`,
        `${q("upstream").toFixed(0)} µs`,
        `${(q("ours") / q("upstream")).toFixed(2)}×`,
        `${(q("ours") / q("node")).toFixed(2)}×`,
      ];
    };
    const cpuCell = (n: PathName) => `${median(cpu[n]).toFixed(2)} s/GB (${spread(cpu[n], 2)})`;
    const headlines: Headline[] = [
      {
        figure: "udp: TCP throughput, 1 stream",
        ratio: median(tcp.ours) / median(tcp.upstream),
        baseline: "upstream's C proxy",
        target: { op: ">=", value: 1 },
        detail: `${median(tcp.ours).toFixed(2)} vs ${median(tcp.upstream).toFixed(2)} Gbit/s`,
      },
      {
        figure: "udp: ping RTT p99",
        ratio: percentile(rtt.ours, 0.99) / percentile(rtt.upstream, 0.99),
        baseline: "upstream's C proxy",
        target: { op: "<=", value: 1 },
        detail: `${percentile(rtt.ours, 0.99).toFixed(0)} vs ${percentile(rtt.upstream, 0.99).toFixed(0)} µs`,
      },
      {
        figure: "udp: proxy CPU per GB",
        ratio: median(cpu.ours) / median(cpu.upstream),
        baseline: "upstream's C proxy",
        target: { op: "<=", value: 1 },
        detail: `${median(cpu.ours).toFixed(2)} vs ${median(cpu.upstream).toFixed(2)} s/GB`,
      },
    ];
    return {
      headlines,
      title: "udp backend: ours vs upstream flanneld's C proxy vs node-to-node",
      columns: [
        "measure",
        "node → node",
        "ours (pod → pod)",
        "ours, no GSO/GRO",
        "upstream C proxy",
        "ours ÷ upstream",
        "ours ÷ node",
      ],
      rows: [
        row("TCP throughput (iperf3, 1 stream)", tcp, "Gbit/s", 3),
        pct("RTT p50 (ping, all rounds)", 0.5),
        pct("RTT p99 (ping, all rounds)", 0.99),
        row("RTT p50 per round", rttP50, "µs", 0, true),
        row("100-byte packets/s received (iperf3 -u -l 72)", pps, "pkt/s", 0),
        [
          "proxy CPU during TCP (both nodes)",
          "—",
          cpuCell("ours"),
          cpuCell("plain"),
          cpuCell("upstream"),
          `${(median(cpu.ours) / median(cpu.upstream)).toFixed(2)}×`,
          "—",
        ],
      ],
      notes: [
        `median of ${REPEATS} rounds (min–max in brackets); each round runs the four paths back to back, the order ` +
        `reversed every other round; ${SECONDS} s per iperf3 run; ${PINGS} pings 10 ms apart per round`,
        "topology: two node namespaces joined by a veth (MTU 1500), a pod namespace behind a veth on each node; " +
        "flannel0 MTU 1472 on both sides",
        `ours: agent/backend/udp/proxy_main.ts (Deno ${Deno.version.deno}); upstream: flanneld ${FLANNELD_VERSION} ` +
        "(cgo build, udp backend), etcd in node 1's namespace",
        "the machine has 2 cores shared with other work: compare within one run, not across runs",
        "ours, no GSO/GRO: the same proxy started with --no-offload (one kernel pass per datagram, as upstream)",
        `our proxy's counters after the run: ${JSON.stringify(stats)}`,
      ],
      data: {
        repeats: REPEATS,
        seconds: SECONDS,
        pings: PINGS,
        flanneld: FLANNELD_VERSION,
        tcpGbps: tcp,
        proxyCpuSecondsPerGB: cpu,
        rttP50PerRoundUs: rttP50,
        rttUs: {
          node: { p50: percentile(rtt.node, 0.5), p99: percentile(rtt.node, 0.99) },
          ours: { p50: percentile(rtt.ours, 0.5), p99: percentile(rtt.ours, 0.99) },
          plain: { p50: percentile(rtt.plain, 0.5), p99: percentile(rtt.plain, 0.99) },
          upstream: { p50: percentile(rtt.upstream, 0.5), p99: percentile(rtt.upstream, 0.99) },
        },
        smallPacketsPerSecond: pps,
        proxy: stats,
      },
    };
  } finally {
    await Promise.allSettled(servers.map((p) => p.stop()));
  }
}

/** The benchmark, for bench/mod.ts's `BENCHMARKS`. */
export const udpBenchmark: Benchmark = { name: "udp", run };

if (import.meta.main) {
  // bench/mod.ts imports this module: run through it (formats and writes the results) to avoid an import cycle.
  const mod = new URL("./mod.ts", import.meta.url).pathname;
  const { code } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--unstable-net", mod, "udp"],
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  Deno.exit(code);
}
