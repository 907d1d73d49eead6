/**
 * Harness benchmark: per shipped topology, bring-up (deploy → etcd answers → every agent has written
 * subnet.env → one pod per node attached → first successful cross-node pod ping) and teardown (agents and etcd
 * stopped, namespaces removed), through the netns runtime, with each phase's share so that it is plain where
 * the time goes. Each topology is brought up `REPEATS` times; the median is reported. Run as root:
 * `deno run -A --unstable-net bench/harness_bench.ts [names…]`; writes bench/results/harness.{json,md}.
 *
 * The baseline measured in the same run is the bare cost of the lab's namespaces and veth links made with one
 * `ip` command each (what any netns harness must pay); containerlab's 2-node deploy (about 4 s, measured
 * once on this machine) is quoted for scale, not re-measured.
 *
 * @module
 */
import { println } from "../cli/output.ts";
import { downLab, planLab, upLab } from "../harness/lab/mod.ts";
import { readTopology } from "../harness/topology/read.ts";
import { run } from "../cli/process/mod.ts";
import { type Benchmark, type BenchReport, formatReport, scaled, SMOKE } from "./report.ts";
import { median } from "./stats.ts";

const TOPOLOGIES = new URL("../topologies/", import.meta.url).pathname;
const RESULTS = new URL("./results/", import.meta.url).pathname;
const REPEATS = scaled(3, 1);
const DEFAULT = [
  "vxlan-same-subnet",
  "hostgw-same-subnet",
  "udp-same-subnet",
  "vxlan-split-subnet",
  "hostgw-split-subnet",
  "vxlan-directrouting",
];

/** One bring-up and teardown. */
export interface Sample {
  readonly deployMs: number;
  readonly etcdMs: number;
  readonly agentsMs: number;
  readonly podsMs: number;
  /** pods attached → first answered cross-node ping. */
  readonly pingMs: number;
  /** deploy → first successful cross-node pod ping (or → pods attached when no pair can ping). */
  readonly bringUpMs: number;
  readonly teardownMs: number;
  readonly pinged: boolean;
}

/** Brings a topology up once (nodes, etcd, agents, one pod per node), pings across, tears it down. */
export async function benchOnce(name: string, i: number): Promise<Sample> {
  const base = await Deno.makeTempDir({ prefix: "flannel-lab-bench-" });
  const lab = `bench${i}-${Deno.pid}-${name}`.slice(0, 40);
  const scenario = `${base}/bench.scenario.yml`;
  const sc = await Deno.readTextFile(`${TOPOLOGIES}${name}.scenario.yml`);
  await Deno.writeTextFile(scenario, `${/^network: .*$/m.exec(sc)![0]}\npods: {per-node: 1}\nsteps: []\n`);
  const started = performance.now();
  try {
    const up = await upLab(
      await planLab(`${TOPOLOGIES}${name}.clab.yml`, { scenarioPath: scenario, labDirBase: base, name: lab }),
    );
    const c = up.cluster;
    // host-gw across a router cannot ping (by design): bring-up then ends when the pods are attached.
    const crossable = !name.startsWith("hostgw-split");
    let pinged = false;
    const a = c.pods[0]!;
    const b = c.pods.find((p) => p.node !== a.node)!;
    const deadline = Date.now() + 30_000;
    while (crossable && Date.now() < deadline) {
      const r = await c.podExec(a, ["ping", "-c", "1", "-W", "1", b.ip], { timeoutMs: 5000 });
      if (r.code === 0) {
        pinged = true;
        break;
      }
    }
    const bringUpMs = Math.round(performance.now() - started);
    const t = up.timings;
    const pingMs = bringUpMs - (t["totalMs"] ?? 0);
    const down = await downLab(up.topo, { labDir: up.labDir });
    return {
      deployMs: t["deployMs"] ?? 0,
      etcdMs: (t["etcdMs"] ?? 0) - (t["deployMs"] ?? 0),
      agentsMs: (t["agentsMs"] ?? 0) - (t["etcdMs"] ?? 0),
      podsMs: (t["totalMs"] ?? 0) - (t["agentsMs"] ?? 0),
      pingMs,
      bringUpMs,
      teardownMs: down.durationMs,
      pinged,
    };
  } finally {
    await Deno.remove(base, { recursive: true }).catch(() => {});
  }
}

/** The same namespaces and veth links made with bare `ip` commands, then removed: the floor of any netns lab. */
async function bareNetnsMs(name: string): Promise<number> {
  const topo = await readTopology(`${TOPOLOGIES}${name}.clab.yml`);
  const pfx = `flbb${Deno.pid % 10000}`;
  const ns = (n: string) => `${pfx}-${n}`;
  const started = performance.now();
  try {
    for (const n of topo.nodes) await run(["ip", "netns", "add", ns(n.name)]);
    for (const l of topo.links) {
      await run([
        "ip",
        "-n",
        ns(l.a.node),
        "link",
        "add",
        l.a.iface,
        "type",
        "veth",
        "peer",
        "name",
        l.b.iface,
        "netns",
        ns(l.b.node),
      ]);
    }
    return Math.round(performance.now() - started);
  } finally {
    for (const n of topo.nodes) await run(["ip", "netns", "del", ns(n.name)], { check: false });
  }
}

/** The benchmark (register it in bench/mod.ts to run it with `deno task bench harness`). */
export const harnessBenchmark: Benchmark = {
  name: "harness",
  async run(): Promise<BenchReport> {
    return await measure(SMOKE ? DEFAULT.slice(0, 1) : DEFAULT);
  },
};

async function measure(names: readonly string[]): Promise<BenchReport> {
  const rows: (string | number)[][] = [];
  const data: Record<string, unknown> = {};
  for (const name of names) {
    const samples: Sample[] = [];
    for (let i = 0; i < REPEATS; i++) samples.push(await benchOnce(name, i));
    const bare = median([await bareNetnsMs(name), await bareNetnsMs(name)]);
    const m = (k: keyof Omit<Sample, "pinged">) => median(samples.map((s) => s[k]));
    data[name] = { samples, bareNetnsMs: bare };
    rows.push([
      name,
      m("bringUpMs"),
      m("deployMs"),
      bare,
      m("etcdMs"),
      m("agentsMs"),
      m("podsMs"),
      m("pingMs"),
      m("teardownMs"),
      samples.every((s) => s.pinged) ? "yes" : name.startsWith("hostgw-split") ? "n/a (by design)" : "NO",
    ]);
  }
  return {
    title: "harness: bring-up (deploy → first cross-node pod ping) and teardown, netns runtime, median ms",
    columns: [
      "topology",
      "bring-up",
      "deploy",
      "bare ip netns+veth (same run)",
      "etcd",
      "agents (subnet.env)",
      "pods (CNI ADD)",
      "first ping",
      "teardown",
      "pinged",
    ],
    rows,
    notes: [
      `median of ${REPEATS} bring-ups per topology; one pod per node; Deno ${Deno.version.deno}; 2 cores shared with other work`,
      "bring-up = deploy + etcd (start → `endpoint health` answers) + agents (start → every subnet.env written; Deno start-up included) + pods (CNI ADD per pod) + first ping",
      "bare ip netns+veth = the lab's namespaces and veth pairs made with one `ip` call each: the floor a netns deploy pays before sysctls and exec lines",
      "for scale: containerlab deploys a 2-node linux lab in about 4 s on this machine (measured once on this machine; not re-measured here)",
    ],
    data,
  };
}

if (import.meta.main) {
  const names = Deno.args.length ? Deno.args : DEFAULT;
  const report = await measure(names);
  const md = formatReport(report);
  println(md);
  await Deno.mkdir(RESULTS, { recursive: true });
  await Deno.writeTextFile(`${RESULTS}harness.json`, JSON.stringify(report.data, null, 2) + "\n");
  await Deno.writeTextFile(`${RESULTS}harness.md`, md + "\n");
}
