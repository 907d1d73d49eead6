/**
 * Cold start and memory, ours vs upstream flanneld v0.28.9, side by side in one run: the agent starts on a node
 * whose etcd already holds N remote vxlan leases, and we time it until the kernel holds every route, ARP and FDB
 * entry, and take its peak resident memory (VmHWM) and CPU time (utime + stime) two seconds after that.
 *
 * - Same node, same etcd, same leases for both; flannel.1 is deleted between runs so every run programs all
 *   3N entries from scratch.
 * - Order alternates A-B-B-A (ours first in even rounds, upstream first in odd ones), `REPEATS` rounds.
 * - The Deno runtime's floor is measured in the same run: an empty script under `deno run` with the agent's
 *   V8 flags, which is what no agent code can go below.
 * - Reported as median (min–max); ratios are ours / upstream of the medians.
 *
 * Also timed: start to ready, the moment the agent writes subnet.env (the file the CNI plugin waits for, and the
 * last thing both agents do before reporting ready: our /readyz, upstream's "flannel is ready").
 *
 * Run as `deno task bench agent` (sizes from `AGENT_BENCH_SIZES`, default `0,1000,5000,10000,50000`, where 0
 * times the start until flannel.1 exists; rounds from `AGENT_BENCH_REPEATS`, default 5, and 3 at 50,000 leases,
 * where one upstream start takes about half a minute). Writes bench/results/agent.{json,md}.
 *
 * @module
 */
import { type Benchmark, type BenchReport, type Headline, scaled, SMOKE } from "./report.ts";
import { startMiniLab } from "../tests/helpers/mini_lab.ts";
import type { Process } from "../cli/process/mod.ts";
import { ensureFlanneld, FLANNELD_VERSION } from "../harness/upstream/mod.ts";
import { Netlink, NUD_PERMANENT } from "../agent/netlink/mod.ts";
import { AGENT_V8_FLAGS, agentV8FlagsArg } from "../agent/v8_flags.ts";
import { countLeases, miniLabGateway, putSyntheticLeases } from "../tests/helpers/etcd_leases.ts";
import { startUpstreamAgent } from "../tests/helpers/upstream.ts";
import { uniqueName } from "../tests/helpers/tmpdir.ts";
import { median, spread } from "./stats.ts";
import { Netns } from "../harness/netns.ts";

/**
 * The kernel's own cost of the routes: N onlink routes, each via its own gateway as flannel's are, added by one
 * `ip -batch` in a throwaway namespace. No agent can program faster than this; at large N it dominates, because
 * the kernel's route insertion grows faster than linearly with the number of distinct gateways.
 */
async function kernelRouteFloorS(n: number): Promise<number> {
  await using ns = await Netns.create(uniqueName("fltf"));
  await ns.ip(["link", "add", "eth1", "type", "veth", "peer", "name", "eth2"]);
  await ns.ip(["addr", "add", "192.168.9.1/24", "dev", "eth1"]);
  await ns.ip(["link", "set", "eth1", "up"]);
  await ns.ip([
    "link",
    "add",
    "flannel.1",
    "type",
    "vxlan",
    "id",
    "1",
    "local",
    "192.168.9.1",
    "dev",
    "eth1",
    "dstport",
    "8472",
    "nolearning",
  ]);
  await ns.ip(["link", "set", "flannel.1", "up"]);
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    const net = `10.${(i >> 16) + 1}.${(i >> 8) & 255}.${i & 255}`;
    lines.push(`route add ${net}/32 via ${net} dev flannel.1 onlink`);
  }
  const file = await Deno.makeTempFile();
  try {
    await Deno.writeTextFile(file, lines.join("\n") + "\n");
    const t = performance.now();
    await ns.ip(["-batch", file], { timeoutMs: 600_000 });
    return (performance.now() - t) / 1000;
  } finally {
    await Deno.remove(file);
  }
}

const SIZES = (Deno.env.get("AGENT_BENCH_SIZES") ?? (SMOKE ? "0,100" : "0,1000,5000,10000,50000")).split(",")
  .map(Number);
const REPEATS = scaled(5, 1, "AGENT_BENCH_REPEATS");
/** Rounds at a size: fewer at 50,000 leases, where each start takes tens of seconds. */
const roundsAt = (size: number) => size >= 50_000 ? Math.min(REPEATS, 3) : REPEATS;
const CONFIG = '{"Network":"10.0.0.0/8","SubnetLen":24,"Backend":{"Type":"vxlan","VNI":1}}';
const SETTLE_MS = 2000;
const TICK_S = 1 / 100; // USER_HZ

type Kind = "ours" | "upstream";

/** One cold start. */
interface Run {
  readonly kind: Kind;
  readonly leases: number;
  /** Agent start to every route, ARP and FDB entry in the kernel. */
  readonly programmedMs: number;
  /** Agent start to subnet.env written (ready). */
  readonly readyMs: number;
  /** Peak resident memory, MiB. */
  readonly peakRssMiB: number;
  /** CPU time (user + system), s, until SETTLE_MS after programming. */
  readonly cpuS: number;
}

async function procStats(pid: number): Promise<{ peakRssMiB: number; cpuS: number }> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  const hwm = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? NaN);
  // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
  const stat = (await Deno.readTextFile(`/proc/${pid}/stat`)).split(") ")[1]!.split(" ");
  return { peakRssMiB: hwm / 1024, cpuS: (Number(stat[11]) + Number(stat[12])) * TICK_S };
}

/** The resident memory an empty script reaches under `deno run` as the agent runs: its V8 flags, no deno.json. */
async function denoFloorMiB(): Promise<number> {
  const file = await Deno.makeTempFile({ suffix: ".js" });
  try {
    await Deno.writeTextFile(
      file,
      `console.log(/VmHWM:\\s+(\\d+)/.exec(Deno.readTextFileSync("/proc/self/status"))[1]);`,
    );
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--quiet", "--allow-all", "--no-config", agentV8FlagsArg(), file],
      stdout: "piped",
    }).output();
    const kib = Number(new TextDecoder().decode(out.stdout).trim());
    if (!out.success || !(kib > 0)) {
      throw new Error(`measuring Deno's floor failed: ${new TextDecoder().decode(out.stderr)}`);
    }
    return kib / 1024;
  } finally {
    await Deno.remove(file);
  }
}

async function run(): Promise<BenchReport> {
  const flanneld = await ensureFlanneld();
  await using lab = await startMiniLab({ prefix: uniqueName("fltb"), nodes: 1, networkConfig: CONFIG });
  const node = lab.nodes[0]!;
  // The synthetic peers' public IPs (100.64.0.0/10) must be routable from the node, as in a cluster.
  await node.ns.ip(["route", "add", "default", "via", "192.168.77.254", "dev", "eth1", "onlink"]);
  await using nl = await Netlink.open({ netns: node.ns.name });
  const gateway = miniLabGateway(lab);

  const counts = async () => {
    const dev = (await nl.link.list()).find((l) => l.name === "flannel.1");
    if (!dev) return undefined;
    const routes = (await nl.route.list({ oif: dev.index })).length;
    const neighs = (await nl.neigh.list({ index: dev.index })).filter((n) => (n.state & NUD_PERMANENT) !== 0)
      .length;
    const fdbs = (await nl.fdb.list({ index: dev.index })).filter((f) => f.dst !== undefined).length;
    return { routes, neighs, fdbs };
  };

  const coldStart = async (kind: Kind, leases: number): Promise<Run> => {
    await node.ns.ip(["link", "del", "flannel.1"], { check: false });
    await Deno.remove(`${node.dir}/subnet.env`).catch(() => {});
    const started = performance.now();
    let readyMs: number | undefined;
    const agent: Process = kind === "ours" ? await lab.startAgent(node) : await startUpstreamAgent(lab, node);
    try {
      const tick = leases <= 2000 ? 20 : 100;
      const deadline = started + 30_000 + leases * 5;
      for (;;) {
        if (readyMs === undefined && await Deno.stat(`${node.dir}/subnet.env`).catch(() => undefined)) {
          readyMs = performance.now() - started;
        }
        const c = await counts();
        if (readyMs !== undefined && c && c.routes >= leases && c.neighs >= leases && c.fdbs >= leases) break;
        if (performance.now() > deadline) {
          throw new Error(
            `${kind}: only ${JSON.stringify(c)} of ${leases} each after ${deadline - started} ms`,
          );
        }
        await new Promise((r) => setTimeout(r, tick));
      }
      const programmedMs = performance.now() - started;
      await new Promise((r) => setTimeout(r, SETTLE_MS));
      return { kind, leases, programmedMs, readyMs: readyMs!, ...(await procStats(agent.pid)) };
    } finally {
      await agent.stop();
    }
  };

  const runs: Run[] = [];
  const floor = await denoFloorMiB();
  const routeFloor = new Map<number, number>();
  for (const size of SIZES) if (size > 0) routeFloor.set(size, await kernelRouteFloorS(size));
  let written = 0;
  for (const size of SIZES) {
    if (size > written) {
      await putSyntheticLeases(gateway, lab.etcdPrefix, size - written, written);
      written = size;
    }
    const present = await countLeases(gateway, lab.etcdPrefix);
    if (present < size) throw new Error(`etcd holds ${present} leases, want ${size}`);
    for (let round = 0; round < roundsAt(size); round++) {
      const order: Kind[] = round % 2 === 0 ? ["ours", "upstream"] : ["upstream", "ours"];
      for (const kind of order) runs.push(await coldStart(kind, size));
    }
  }

  const rows: (string | number)[][] = [];
  const headlines: Headline[] = [];
  for (const size of SIZES) {
    const of = (kind: Kind, f: (r: Run) => number) =>
      runs.filter((r) => r.kind === kind && r.leases === size).map(f);
    const ratio = (f: (r: Run) => number) => (median(of("ours", f)) / median(of("upstream", f))).toFixed(2);
    rows.push([
      size,
      spread(of("ours", (r) => r.programmedMs / 1000), 2),
      spread(of("upstream", (r) => r.programmedMs / 1000), 2),
      ratio((r) => r.programmedMs),
      size > 0 ? routeFloor.get(size)!.toFixed(2) : "-",
      spread(of("ours", (r) => r.readyMs / 1000), 2),
      spread(of("upstream", (r) => r.readyMs / 1000), 2),
      spread(of("ours", (r) => r.peakRssMiB), 1),
      spread(of("upstream", (r) => r.peakRssMiB), 1),
      ratio((r) => r.peakRssMiB),
      spread(of("ours", (r) => r.cpuS), 2),
      spread(of("upstream", (r) => r.cpuS), 2),
    ]);
    if (size === 0) continue;
    const m = (kind: Kind, f: (r: Run) => number) => median(of(kind, f));
    const time = (r: Run) => r.programmedMs / 1000;
    const rss = (r: Run) => r.peakRssMiB;
    const ready = (r: Run) => r.readyMs / 1000;
    headlines.push({
      figure: `cold start, ${size} leases: start → ready (subnet.env)`,
      ratio: m("ours", ready) / m("upstream", ready),
      baseline: "upstream flanneld",
      detail: `${m("ours", ready).toFixed(2)} vs ${m("upstream", ready).toFixed(2)} s`,
    }, {
      figure: `cold start, ${size} leases: start → all entries`,
      ratio: m("ours", time) / m("upstream", time),
      baseline: "upstream flanneld",
      ...(size >= 10_000 ? { target: { op: "<=" as const, value: 0.5 } } : {}),
      detail: `${m("ours", time).toFixed(2)} vs ${m("upstream", time).toFixed(2)} s`,
    }, {
      figure: `cold start, ${size} leases: peak RSS`,
      ratio: m("ours", rss) / m("upstream", rss),
      baseline: "upstream flanneld",
      target: { op: "<=", value: 1.2 },
      detail: `${m("ours", rss).toFixed(0)} vs ${m("upstream", rss).toFixed(0)} MiB`,
    });
  }
  return {
    headlines,
    title: "agent cold start with N vxlan leases in etcd: ours vs upstream flanneld",
    columns: [
      "leases",
      "ours s",
      "upstream s",
      "time ×",
      "kernel routes s",
      "ours ready s",
      "upstream ready s",
      "ours peak MiB",
      "upstream peak MiB",
      "memory ×",
      "ours CPU s",
      "upstream CPU s",
    ],
    rows,
    notes: [
      ...growth(runs),
      `kernel routes: the N routes alone, each via its own gateway as flannel's are, added by one \`ip -batch\` ` +
      `in a throwaway namespace: the floor no agent can go below. It grows faster than linearly (the kernel's ` +
      `route insertion), and at 50,000 it is a large share of both agents' time; ARP and FDB entries stay linear.`,
      `time: agent start to flannel.1 with all N routes, ARP and FDB entries; memory: VmHWM; CPU: utime+stime, both ` +
      `${SETTLE_MS / 1000} s after that. Median (min–max) of ${REPEATS} rounds, order A-B-B-A.`,
      `ours: \`deno run\` (Deno ${Deno.version.deno}, V8 flags ${
        AGENT_V8_FLAGS.join(" ")
      }); upstream: flanneld ` +
      `${FLANNELD_VERSION} (${flanneld.path.split("/").pop()}), same node, etcd and leases.`,
      `Deno's floor, an empty script under \`deno run\` with the same flags: ${
        floor.toFixed(1)
      } MiB peak. The ` +
      `0-lease row is the agent's fixed cost above it (its modules, fetch, netlink FFI, the deno CLI's mapped ` +
      `code); a \`deno compile\` runtime, which cannot be built on this machine, maps less of that code.`,
    ],
    data: {
      sizes: SIZES,
      repeats: REPEATS,
      denoFloorMiB: floor,
      kernelRouteFloorS: Object.fromEntries(routeFloor),
      flanneld: FLANNELD_VERSION,
      runs,
    },
  };
}

/**
 * How the time to all entries grows with the leases: seconds per 1,000 leases between the smallest and the
 * largest size, for each agent (close to constant means close to linear).
 */
function growth(runs: readonly Run[]): string[] {
  const sizes = [...new Set(runs.map((r) => r.leases))].filter((s) => s > 0).sort((a, b) => a - b);
  if (sizes.length < 2) return [];
  const per = (kind: Kind) =>
    sizes.map((s) => {
      const t = median(runs.filter((r) => r.kind === kind && r.leases === s).map((r) => r.programmedMs));
      return `${(t / s).toFixed(2)} ms at ${s}`;
    }).join(", ");
  return [`growth, ms per lease: ours ${per("ours")}; upstream ${per("upstream")}.`];
}

/** The registered benchmark. */
export const agentBenchmark: Benchmark = { name: "agent", run };
