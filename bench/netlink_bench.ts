/**
 * Benchmark B6 (netlink layer): install 5,000 routes, 5,000 permanent ARP entries and 5,000 vxlan FDB entries
 * into a fresh namespace via (1) our batched path, (2) our one-request-per-ACK path, (3) one `ip -batch`
 * process (`bridge -batch` for FDB) — the baseline — and (4) one `ip`/`bridge` process per entry (500 sampled,
 * extrapolated to 5,000). Every run gets a new namespace; median of 5 runs; ratios are to `ip -batch` measured in
 * the same run. Times include building requests (ours) or spawning the process and parsing the batch (theirs).
 *
 * @module
 */
import {
  fdbRequest,
  neighRequest,
  Netlink,
  type NetlinkRequest,
  routeRequest,
} from "../agent/netlink/mod.ts";
import { type Benchmark, type BenchReport, type Headline, scaled } from "./report.ts";

const N = scaled(5000, 200);
const SAMPLE = scaled(500, 50);
const RUNS = scaled(5, 1);

type Kind = "routes" | "arp" | "fdb";
type Method = "batched" | "per-request" | "ip -batch" | "ip per entry";

const mac = (i: number) =>
  `02:00:00:00:${((i >> 8) & 0xff).toString(16).padStart(2, "0")}:${
    (i & 0xff).toString(16).padStart(2, "0")
  }`;
const host = (i: number) => `10.255.${1 + (i >> 8)}.${i & 0xff}`;
const subnet = (i: number) => `10.${(i >> 8) & 0xff}.${i & 0xff}.0/24`;

async function sh(cmd: string[], stdin?: string): Promise<void> {
  const p = new Deno.Command(cmd[0]!, {
    args: cmd.slice(1),
    stdin: stdin === undefined ? "null" : "piped",
    stdout: "null",
    stderr: "piped",
  })
    .spawn();
  if (stdin !== undefined) {
    const w = p.stdin.getWriter();
    await w.write(new TextEncoder().encode(stdin));
    await w.close();
  }
  const out = await p.output();
  if (!out.success) {
    throw new Error(`${cmd.join(" ")} failed: ${new TextDecoder().decode(out.stderr).slice(0, 500)}`);
  }
}

/** A fresh namespace with eth1 (10.255.0.1/16, up) and flannel.1 (vxlan 1); returns ifindexes. */
async function freshNamespace(name: string): Promise<{ eth: number; vx: number }> {
  await sh(["ip", "netns", "add", name]);
  await using nl = await Netlink.open({ netns: name });
  const eth = await nl.link.add({ name: "eth1", kind: "veth", peer: { name: "eth1p" }, up: true });
  await nl.link.setUp("eth1p", true);
  await nl.addr.add({ index: eth.index, cidr: "10.255.0.1/16" });
  const vx = await nl.link.add({
    name: "flannel.1",
    kind: "vxlan",
    up: true,
    vxlan: { vni: 1, local: "10.255.0.1", link: eth.index, port: 8472, learning: false },
  });
  return { eth: eth.index, vx: vx.index };
}

function requests(kind: Kind, ix: { eth: number; vx: number }, n: number): NetlinkRequest[] {
  const out = new Array<NetlinkRequest>(n);
  for (let i = 0; i < n; i++) {
    out[i] = kind === "routes"
      ? routeRequest("add", { dst: subnet(i), gateway: "10.255.0.2", oif: ix.eth })
      : kind === "arp"
      ? neighRequest("add", { index: ix.eth, dst: host(i), lladdr: mac(i) })
      : fdbRequest("add", { index: ix.vx, lladdr: mac(i), dst: host(i) });
  }
  return out;
}

function lines(kind: Kind, n: number): string[] {
  return Array.from(
    { length: n },
    (_, i) =>
      kind === "routes"
        ? `route add ${subnet(i)} via 10.255.0.2 dev eth1`
        : kind === "arp"
        ? `neigh add ${host(i)} lladdr ${mac(i)} dev eth1 nud permanent`
        : `fdb add ${mac(i)} dev flannel.1 dst ${host(i)} self permanent`,
  );
}

/** One timed run of one method in a fresh namespace; returns ms for N entries. */
async function once(kind: Kind, method: Method): Promise<number> {
  const ns = `fltnlb${
    crypto.getRandomValues(new Uint8Array(3)).reduce((s, b) => s + b.toString(16).padStart(2, "0"), "")
  }`;
  const tool = kind === "fdb" ? "bridge" : "ip";
  try {
    const ix = await freshNamespace(ns);
    if (method === "batched" || method === "per-request") {
      await using nl = await Netlink.open({ netns: ns });
      const t0 = performance.now();
      const reqs = requests(kind, ix, N);
      if (method === "batched") {
        const res = await nl.batch(reqs);
        const bad = res.find((r) => !r.ok);
        if (bad && !bad.ok) throw bad.error;
      } else {
        for (const r of reqs) await nl.request(r);
      }
      return performance.now() - t0;
    }
    if (method === "ip -batch") {
      const t0 = performance.now();
      await sh([tool, "-n", ns, "-batch", "-"], lines(kind, N).join("\n") + "\n");
      return performance.now() - t0;
    }
    const cmds = lines(kind, SAMPLE);
    const t0 = performance.now();
    for (const c of cmds) await sh([tool, "-n", ns, ...c.split(" ")]);
    return (performance.now() - t0) * (N / SAMPLE);
  } finally {
    await sh(["ip", "netns", "del", ns]).catch(() => {});
  }
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

/**
 * Runs the benchmark.
 *
 * @returns the report: per kind and method, median ms, entries/s and ratio to `ip -batch`
 * @example
 * ```ts ignore
 * const report = await runNetlinkBench();
 * ```
 */
export async function runNetlinkBench(): Promise<BenchReport> {
  const kinds: Kind[] = ["routes", "arp", "fdb"];
  const methods: Method[] = ["batched", "per-request", "ip -batch", "ip per entry"];
  const data: Record<
    string,
    Record<string, { runs_ms: number[]; median_ms: number; per_s: number; ratio_to_ip_batch: number }>
  > = {};
  const rows: (string | number)[][] = [];
  for (const kind of kinds) {
    const times: Record<string, number[]> = {};
    // Interleave methods run by run so drift affects all alike.
    for (let r = 0; r < RUNS; r++) {
      for (const m of methods) (times[m] ??= []).push(await once(kind, m));
    }
    const base = median(times["ip -batch"]!);
    data[kind] = {};
    for (const m of methods) {
      const med = median(times[m]!);
      data[kind]![m] = {
        runs_ms: times[m]!.map((t) => +t.toFixed(2)),
        median_ms: +med.toFixed(2),
        per_s: Math.round(N / (med / 1000)),
        ratio_to_ip_batch: +(med / base).toFixed(3),
      };
      rows.push([
        kind === "fdb" && m.startsWith("ip") ? m.replace("ip", "bridge") : m,
        kind,
        med.toFixed(1),
        Math.round(N / (med / 1000)),
        (base / med).toFixed(2) + "×",
      ]);
    }
  }
  const kernel = new TextDecoder().decode((await new Deno.Command("uname", { args: ["-r"] }).output()).stdout)
    .trim();
  const headlines: Headline[] = Object.entries(data).map(([kind, byMethod]) => {
    const ours = byMethod["batched"]!;
    return {
      figure: `netlink: ${N} ${kind} entries, batched`,
      ratio: ours.ratio_to_ip_batch,
      baseline: kind === "fdb" ? "bridge -batch" : "ip -batch",
      target: { op: "<=" as const, value: 1 },
      detail: `${ours.median_ms} ms, ${ours.per_s}/s`,
    };
  });
  return {
    headlines,
    title: `netlink: ${N} entries into a fresh namespace (median of ${RUNS})`,
    columns: ["method", "kind", "median ms", "entries/s", "speed vs ip -batch"],
    rows,
    notes: [
      `kernel ${kernel}, Deno ${Deno.version.deno}; every run in a new namespace; methods interleaved run by run`,
      `"speed vs ip -batch" = ip -batch median ÷ method median (>1 is faster); ip -batch is bridge -batch for fdb`,
      `ip per entry: ${SAMPLE} processes timed, extrapolated ×${N / SAMPLE}`,
      "our times include building the requests; theirs include process start and parsing the batch",
    ],
    data: { entries: N, runs: RUNS, sample_per_entry: SAMPLE, kernel, results: data },
  };
}

/** The registered benchmark. */
export const netlinkBenchmark: Benchmark = { name: "netlink", run: runNetlinkBench };
