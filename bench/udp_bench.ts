/**
 * udp backend data-plane benchmark: pod-to-pod through two standalone udp backends (`tests/integration/
 * udp_lab.ts`), each figure also measured node-to-node on the same underlay veth in the same run, so the ratio
 * is what the proxy costs on this machine.
 *
 * - TCP throughput: iperf3, 5 s per run.
 * - RTT: 50 pings 20 ms apart, mean of the per-run averages.
 * - Packets/s: iperf3 UDP with 100-byte IP packets (72-byte payload) at full speed, 5 s; packets received/s.
 *
 * Each is repeated (`REPEATS`), reported as median with the min–max spread. Run alone with
 * `deno run -A --unstable-net bench/udp_bench.ts` (writes bench/results/udp.{json,md}) or through bench/mod.ts.
 *
 * @module
 */
import type { Benchmark, BenchReport } from "./mod.ts";
import { startUdpLab } from "../tests/helpers/udp_lab.ts";
import type { Netns } from "../harness/netns.ts";

const REPEATS = 3;
const SECONDS = 5;

interface Series {
  readonly values: number[];
}

function median(v: readonly number[]): number {
  const s = [...v].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function spread(v: readonly number[], digits: number): string {
  return `${Math.min(...v).toFixed(digits)}–${Math.max(...v).toFixed(digits)}`;
}

// deno-lint-ignore no-explicit-any
type Json = any;

async function iperfTcp(client: Netns, server: string): Promise<number> {
  const { stdout } = await client.exec(["iperf3", "-c", server, "-t", String(SECONDS), "-J"], {
    timeoutMs: 60_000,
  });
  const j: Json = JSON.parse(stdout);
  return j.end.sum_received.bits_per_second / 1e9;
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

async function pingRtt(client: Netns, dst: string): Promise<number> {
  const { stdout } = await client.exec(["ping", "-q", "-c", "50", "-i", "0.02", "-W", "2", dst], {
    timeoutMs: 60_000,
  });
  const m = /= [\d.]+\/([\d.]+)\//.exec(stdout);
  if (!m) throw new Error(`Cannot read ping's RTT:\n${stdout}`);
  return Number(m[1]) * 1000;
}

/** Runs the benchmark. */
async function run(): Promise<BenchReport> {
  await using lab = await startUdpLab();
  const [n1, n2] = lab.nodes;
  const servers = [await n2.pod.spawn(["iperf3", "-s"]), await n2.ns.spawn(["iperf3", "-s"])];
  try {
    // Let the servers bind.
    for (let i = 0; i < 50; i++) {
      const a = await n2.pod.exec(["ss", "-ltn"], { check: false });
      const b = await n2.ns.exec(["ss", "-ltn"], { check: false });
      if (a.stdout.includes(":5201") && b.stdout.includes(":5201")) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const s: Record<string, Series> = {};
    const add = (k: string, v: number) => (s[k] ??= { values: [] }).values.push(v);
    for (let i = 0; i < REPEATS; i++) {
      add("tcp.pod", await iperfTcp(n1.pod, n2.podIp));
      add("tcp.node", await iperfTcp(n1.ns, n2.underlay));
      add("rtt.pod", await pingRtt(n1.pod, n2.podIp));
      add("rtt.node", await pingRtt(n1.ns, n2.underlay));
      add("pps.pod", await iperfPps(n1.pod, n2.podIp));
      add("pps.node", await iperfPps(n1.ns, n2.underlay));
    }
    const stats = { node1: await lab.stopProxy(0), node2: await lab.stopProxy(1) };
    const row = (name: string, key: string, unit: string, digits: number, lowerIsBetter = false) => {
      const pod = s[`${key}.pod`]!.values;
      const node = s[`${key}.node`]!.values;
      const ratio = median(pod) / median(node);
      return [
        name,
        `${median(pod).toFixed(digits)} ${unit} (${spread(pod, digits)})`,
        `${median(node).toFixed(digits)} ${unit} (${spread(node, digits)})`,
        lowerIsBetter ? `${ratio.toFixed(2)}× the RTT` : `${(ratio * 100).toFixed(1)} %`,
      ];
    };
    return {
      title: "udp backend: pod-to-pod through the userspace proxy vs node-to-node",
      columns: ["measure", "pod → pod (udp backend)", "node → node (underlay)", "ratio"],
      rows: [
        row("TCP throughput (iperf3)", "tcp", "Gbit/s", 3),
        row("RTT (ping)", "rtt", "µs", 0, true),
        row("100-byte packets/s (iperf3 -u -l 72)", "pps", "pkt/s", 0),
      ],
      notes: [
        `median of ${REPEATS} runs (min–max in brackets), ${SECONDS} s per iperf3 run, 50 pings per RTT run`,
        "two namespaces joined by a veth (MTU 1500); each node runs agent/backend/udp_proxy_main.ts",
        "the machine has 2 cores shared with other work: compare ratios within one run, not absolute figures",
        `proxy counters after the run: ${JSON.stringify(stats)}`,
      ],
      data: { repeats: REPEATS, seconds: SECONDS, series: s, proxy: stats },
    };
  } finally {
    await Promise.allSettled(servers.map((p) => p.stop()));
  }
}

/** The benchmark, for bench/mod.ts's `BENCHMARKS`. */
export const udpBenchmark: Benchmark = { name: "udp", run };

if (import.meta.main) {
  const { formatReport } = await import("./mod.ts");
  const report = await run();
  const md = formatReport(report);
  await Deno.stdout.write(new TextEncoder().encode(md + "\n"));
  const dir = new URL("./results/", import.meta.url);
  await Deno.mkdir(dir, { recursive: true });
  const data = {
    name: "udp",
    date: new Date().toISOString(),
    deno: Deno.version.deno,
    ...(report.data as object),
  };
  await Deno.writeTextFile(new URL("udp.json", dir), JSON.stringify(data, null, 2) + "\n");
  await Deno.writeTextFile(new URL("udp.md", dir), md);
}
