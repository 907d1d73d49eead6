/**
 * Kernel-backend data plane, pod to pod, for vxlan and host-gw, in one run: the same two-node lab (a switch,
 * 1500-byte links, one pod per node on a veth) carries traffic
 *
 * - node → node: the underlay itself, the ceiling every path is a ratio to;
 * - ours: the entries our agent programmed;
 * - hand-wired: the same kernel entries made by the bench with `ip` once our agents are stopped (flannel.1 with
 *   upstream's attributes and MTU, its route, neighbour and FDB entry per peer; or host-gw's route), so any
 *   difference from it is a configuration the agent adds or misses (offloads, checksums, MTU, txqlen);
 * - upstream: the same lab with upstream flanneld v0.28.9 on both nodes.
 *
 * Each: iperf3 TCP with 1 and 4 streams for `SECONDS` s, and `PINGS` pings 10 ms apart (p50, p99). The pod MTU is
 * the backend's (1450 for vxlan, 1500 for host-gw), as the CNI plugin sets it. Rounds alternate which lab goes
 * first (`REPEATS`, median of the rounds). Run as `deno task bench dataplane`; writes
 * bench/results/dataplane.{json,md}.
 *
 * @module
 */
import { type Benchmark, type BenchReport, type Headline, scaled } from "./report.ts";
import type { Netns } from "../harness/netns.ts";
import type { Process } from "../cli/process/mod.ts";
import { FLANNELD_VERSION } from "../harness/upstream/mod.ts";
import { waitPing } from "../tests/helpers/interop_traffic.ts";
import { type InteropLab, type InteropNode, startInteropLab } from "../tests/helpers/upstream.ts";
import { median, pct } from "./stats.ts";
import { pingRtts } from "./measure.ts";

const REPEATS = scaled(3, 1, "DATAPLANE_BENCH_REPEATS");
const SECONDS = scaled(4, 1, "DATAPLANE_BENCH_SECONDS");
const PINGS = scaled(300, 20);

type Backend = "vxlan" | "host-gw";
type PathName = "node" | "ours" | "hand" | "upstream";
const PATHS: readonly PathName[] = ["node", "ours", "hand", "upstream"];
const LABEL: Record<PathName, string> = {
  node: "node → node",
  ours: "ours",
  hand: "hand-wired",
  upstream: "upstream",
};

/** One measurement of one path. */
interface Sample {
  readonly backend: Backend;
  readonly path: PathName;
  readonly gbps1: number;
  readonly gbps4: number;
  readonly p50Us: number;
  readonly p99Us: number;
}

async function iperf(client: Netns, server: string, streams: number): Promise<number> {
  const { stdout } = await client.exec(
    ["iperf3", "-c", server, "-t", String(SECONDS), "-P", String(streams), "-J"],
    { timeoutMs: 120_000 },
  );
  return JSON.parse(stdout).end.sum_received.bits_per_second / 1e9;
}

async function measure(backend: Backend, path: PathName, client: Netns, server: string): Promise<Sample> {
  const gbps1 = await iperf(client, server, 1);
  const gbps4 = await iperf(client, server, 4);
  const r = await pingRtts(client, server, PINGS);
  return { backend, path, gbps1, gbps4, p50Us: pct(r, 50), p99Us: pct(r, 99) };
}

/** iperf3 servers in the lab's second node and pod. */
async function servers(lab: InteropLab): Promise<Process[]> {
  const b = lab.nodes[1]!;
  const procs = [await b.node.ns.spawn(["iperf3", "-s"]), await b.pod.spawn(["iperf3", "-s"])];
  for (let i = 0; i < 100; i++) {
    const outs = await Promise.all([b.node.ns, b.pod].map((ns) => ns.exec(["ss", "-ltn"], { check: false })));
    if (outs.every((o) => o.stdout.includes(":5201"))) return procs;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error("iperf3 servers did not start");
}

/** The pod links at the backend's MTU, as the CNI plugin makes them. */
async function podMtu(lab: InteropLab, mtu: number): Promise<void> {
  for (const n of lab.nodes) {
    await n.node.ns.ip(["link", "set", "pod0", "mtu", String(mtu)]);
    await n.pod.ip(["link", "set", "eth0", "mtu", String(mtu)]);
  }
}

/**
 * Replaces what the stopped agents programmed with the same entries made by hand: for vxlan a new flannel.1
 * (upstream's attributes: VNI 1, local address, port 8472, nolearning, MTU 1450) with the subnet's .0/32, and per
 * peer an onlink route via the peer's .0, its neighbour and its FDB entry; for host-gw a route via the peer.
 */
async function handWire(lab: InteropLab, backend: Backend): Promise<void> {
  const [a, b] = lab.nodes as [InteropNode, InteropNode];
  if (backend === "host-gw") {
    for (const [self, peer] of [[a, b], [b, a]] as const) {
      await self.node.ns.ip(["route", "del", peer.subnet], { check: false });
      await self.node.ns.ip(["route", "add", peer.subnet, "via", peer.node.ip, "dev", "eth1"]);
    }
    return;
  }
  const macs = new Map<InteropNode, string>();
  for (const n of [a, b]) {
    const ns = n.node.ns;
    await ns.ip(["link", "del", "flannel.1"], { check: false });
    await ns.ip([
      "link",
      "add",
      "flannel.1",
      "mtu",
      "1450",
      "type",
      "vxlan",
      "id",
      "1",
      "local",
      n.node.ip,
      "dev",
      "eth1",
      "dstport",
      "8472",
      "nolearning",
    ]);
    await ns.ip(["addr", "add", `${n.subnetAddr}/32`, "dev", "flannel.1"]);
    await ns.ip(["link", "set", "flannel.1", "up"]);
    const j = JSON.parse((await ns.ip(["-j", "link", "show", "flannel.1"])).stdout) as { address: string }[];
    macs.set(n, j[0]!.address);
  }
  for (const [self, peer] of [[a, b], [b, a]] as const) {
    const ns = self.node.ns;
    await ns.ip(["route", "add", peer.subnet, "via", peer.subnetAddr, "dev", "flannel.1", "onlink"]);
    await ns.ip([
      "neigh",
      "add",
      peer.subnetAddr,
      "lladdr",
      macs.get(peer)!,
      "dev",
      "flannel.1",
      "nud",
      "permanent",
    ]);
    await ns.exec([
      "bridge",
      "fdb",
      "add",
      macs.get(peer)!,
      "dev",
      "flannel.1",
      "dst",
      peer.node.ip,
      "self",
      "permanent",
    ]);
  }
}

/** One lab of one agent kind: node → node and pod → pod, and for ours the hand-wired entries after it. */
async function labRound(backend: Backend, kind: "ours" | "upstream"): Promise<Sample[]> {
  const config = `{"Network":"10.244.0.0/16","Backend":{"Type":"${backend}"}}`;
  await using lab = await startInteropLab({ config, kinds: [kind, kind] });
  await podMtu(lab, backend === "vxlan" ? 1450 : 1500);
  const [a, b] = lab.nodes as [InteropNode, InteropNode];
  await waitPing(lab, a, b.podIp);
  const procs = await servers(lab);
  try {
    const out = [await measure(backend, "node", a.node.ns, b.node.ip)];
    out.push(await measure(backend, kind, a.pod, b.podIp));
    if (kind === "ours") {
      // Our agent leaves its data plane in place on SIGTERM; the bench then makes it again by hand.
      for (const n of lab.nodes) await n.agent.stop();
      await handWire(lab, backend);
      await waitPing(lab, a, b.podIp);
      out.push(await measure(backend, "hand", a.pod, b.podIp));
    }
    return out;
  } finally {
    await Promise.all(procs.map((p) => p.stop()));
  }
}

async function run(): Promise<BenchReport> {
  const samples: Sample[] = [];
  for (const backend of ["vxlan", "host-gw"] as const) {
    for (let round = 0; round < REPEATS; round++) {
      const order = round % 2 === 0 ? ["ours", "upstream"] as const : ["upstream", "ours"] as const;
      for (const kind of order) samples.push(...await labRound(backend, kind));
    }
  }
  const of = (backend: Backend, path: PathName, f: (s: Sample) => number) =>
    median(samples.filter((s) => s.backend === backend && s.path === path).map(f));
  const rows: (string | number)[][] = [];
  const headlines: Headline[] = [];
  for (const backend of ["vxlan", "host-gw"] as const) {
    for (const path of PATHS) {
      rows.push([
        backend,
        LABEL[path],
        of(backend, path, (s) => s.gbps1).toFixed(2),
        of(backend, path, (s) => s.gbps4).toFixed(2),
        (of(backend, path, (s) => s.p50Us) / 1000).toFixed(3),
        (of(backend, path, (s) => s.p99Us) / 1000).toFixed(3),
        (of(backend, path, (s) => s.gbps1) / of(backend, "node", (s) => s.gbps1)).toFixed(3),
      ]);
    }
    for (const [streams, f] of [[1, (s: Sample) => s.gbps1], [4, (s: Sample) => s.gbps4]] as const) {
      for (const base of ["hand", "upstream"] as const) {
        headlines.push({
          figure: `${backend} pod-to-pod TCP, ${streams} stream${streams > 1 ? "s" : ""}`,
          ratio: of(backend, "ours", f) / of(backend, base, f),
          baseline: base === "hand" ? "hand-wired entries" : "upstream flanneld",
          target: { op: ">=", value: 0.98 },
          detail: `${of(backend, "ours", f).toFixed(2)} vs ${of(backend, base, f).toFixed(2)} Gbit/s`,
        });
      }
    }
    headlines.push({
      figure: `${backend} pod-to-pod ping p99`,
      ratio: of(backend, "ours", (s) => s.p99Us) / of(backend, "hand", (s) => s.p99Us),
      baseline: "hand-wired entries",
      detail: `${(of(backend, "ours", (s) => s.p99Us) / 1000).toFixed(3)} vs ${
        (of(backend, "hand", (s) => s.p99Us) / 1000).toFixed(3)
      } ms`,
    });
  }
  return {
    headlines,
    title:
      "kernel data plane pod to pod: ours vs hand-wired entries vs upstream flanneld, as ratios to node to node",
    columns: [
      "backend",
      "path",
      "TCP 1 stream Gbit/s",
      "TCP 4 streams Gbit/s",
      "ping p50 ms",
      "ping p99 ms",
      "× node (1 stream)",
    ],
    rows,
    notes: [
      `Two nodes on one switch (1500-byte veth links), one pod per node on a veth at the backend's MTU; iperf3 ` +
      `${SECONDS} s with 1 and 4 streams, ${PINGS} pings 10 ms apart; median of ${REPEATS} rounds, labs in ` +
      `alternating order. Hand-wired: our agents stopped, then the same entries made with \`ip\`. Upstream: ` +
      `flanneld ${FLANNELD_VERSION}. On veth links every path shares the same CPUs, so the ratios, not the ` +
      `absolute figures, are what carries over to real NICs.`,
      `4 streams on 2 shared cores: min–max per path ${
        ranges(samples)
      }; the 1-stream figures agree within a ` +
      `few percent and are the ones to judge by.`,
    ],
    data: { repeats: REPEATS, seconds: SECONDS, pings: PINGS, samples },
  };
}

/** The 4-stream throughput's range per backend and path, which on two shared cores is wide. */
function ranges(samples: readonly Sample[]): string {
  const out: string[] = [];
  for (const backend of ["vxlan", "host-gw"] as const) {
    for (const path of PATHS) {
      const v = samples.filter((s) => s.backend === backend && s.path === path).map((s) => s.gbps4);
      if (v.length) {
        out.push(`${backend} ${LABEL[path]} ${Math.min(...v).toFixed(1)}–${Math.max(...v).toFixed(1)}`);
      }
    }
  }
  return out.join(", ");
}

/** The registered benchmark. */
export const dataplaneBenchmark: Benchmark = { name: "dataplane", run };
