/**
 * A scale lab on one machine: `NODES` vxlan nodes spread over `SUBNETS` subnets behind a router, one pod per
 * node, on the netns runtime, made by `flannel-lab generate`. The same lab runs with our agent on every node
 * and with upstream flanneld v0.28.9 on every node, alternating A-B-B-A, and for each run:
 *
 * - **up**: deploy, etcd, every agent's subnet.env and every pod attached (the harness's own bring-up);
 * - **meshed**: until every node's kernel routes all `NODES - 1` peers' subnets (read with `ip route`);
 * - **reachable**: until every pod answers a ping from every other pod (one shell loop of pings per source
 *   pod, failures retried), the full pod matrix;
 * - **peak memory**: the sum of every agent's and etcd's peak resident memory (VmHWM) once the matrix is
 *   reachable: each process's own peak, so an upper bound of the lab's at any one moment;
 * - **restarts**: agents that exited before writing subnet.env and were started again, as a supervisor would
 *   (upstream flanneld exits when it loses the race for a free subnet; ours retries).
 *
 * All from the same clock, from the moment the bench asks for the lab. Two sizes: `scale` (50 nodes over 5
 * subnets, 3 rounds; `SCALE_BENCH_NODES`, `SCALE_BENCH_SUBNETS`, `SCALE_BENCH_REPEATS`) and `scale100` (100
 * over 20, 2 rounds; `SCALE100_BENCH_*`).
 *
 * @module
 */
import { generateScaleLab } from "../harness/generate.ts";
import { downLab, planLab, upLab } from "../harness/lab/mod.ts";
import { ensureFlanneld, FLANNELD_VERSION } from "../harness/upstream/mod.ts";
import { type Benchmark, type BenchReport, type Headline, scaled } from "./report.ts";
import { type AgentKind, median, ratioText, rounds, spread } from "./stats.ts";

/** A lab's size. */
interface Shape {
  readonly nodes: number;
  readonly subnets: number;
  readonly repeats: number;
}
const TIMEOUT_MS = 180_000;

interface Run {
  readonly kind: AgentKind;
  readonly round: number;
  readonly upMs: number;
  readonly meshedMs: number;
  readonly reachableMs: number;
  readonly peakMiB: number;
  readonly pairs: number;
  /** Agents that exited before writing subnet.env and were started again (a supervisor's restart). */
  readonly restarts: number;
}

async function peakKiB(pid: number): Promise<number> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`).catch(() => "");
  return Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
}

async function once(kind: AgentKind, round: number, base: string, shape: Shape): Promise<Run> {
  const { nodes: NODES, subnets: SUBNETS } = shape;
  const name = `scale${NODES}-${kind === "ours" ? "o" : "u"}${round}`;
  const { topology, scenario } = generateScaleLab({
    nodes: NODES,
    subnets: SUBNETS,
    backend: "vxlan",
    pods: 1,
    name,
    agent: kind,
  });
  const file = `${base}/${name}.clab.yml`;
  await Deno.writeTextFile(file, topology);
  await Deno.writeTextFile(`${base}/${name}.scenario.yml`, scenario);
  const started = performance.now();
  const since = () => Math.round(performance.now() - started);
  // Restart an agent that exits during bring-up, as systemd or a DaemonSet would: upstream flanneld exits when
  // another node wins the race for the same free subnet (seen at 100 nodes), and is counted for it.
  const up = await upLab(await planLab(file, { labDirBase: base, name }), {
    readyTimeoutMs: TIMEOUT_MS,
    restartExitedAgents: true,
  });
  try {
    const c = up.cluster;
    const upMs = since();
    const deadline = Date.now() + TIMEOUT_MS;

    // Every node routes every peer's subnet (its own is cni0's).
    let pending = c.agentNodes.map((n) => n.name);
    while (pending.length) {
      const still: string[] = [];
      for (const node of pending) {
        const r = await c.runtime.exec(
          up.topo,
          node,
          ["ip", "-4", "route", "show", "root", "10.192.0.0/12"],
          {
            check: false,
          },
        );
        const peers = r.stdout.split("\n").filter((l) => l.trim() && !l.includes("dev cni0")).length;
        if (peers < NODES - 1) still.push(node);
      }
      pending = still;
      if (pending.length && Date.now() > deadline) {
        throw new Error(`${kind}: ${pending.length} nodes still lack routes, e.g. ${pending[0]}`);
      }
    }
    const meshedMs = since();

    // The full pod matrix: one loop of pings per source pod, retrying the pairs that did not answer.
    let todo = new Map(c.pods.map((p) => [p, c.pods.filter((q) => q.node !== p.node).map((q) => q.ip)]));
    const pairs = [...todo.values()].reduce((a, t) => a + t.length, 0);
    while (todo.size) {
      const next = new Map<typeof c.pods[number], string[]>();
      const sources = [...todo];
      for (let i = 0; i < sources.length; i += 4) {
        await Promise.all(
          sources.slice(i, i + 4).map(async ([pod, ips]) => {
            const script = `for ip in ${
              ips.join(" ")
            }; do ping -c 1 -W 1 -q $ip >/dev/null 2>&1 || echo $ip; done`;
            const r = await c.podExec(pod, ["sh", "-c", script], { timeoutMs: 120_000 });
            const failed = r.stdout.split("\n").filter(Boolean);
            if (failed.length) next.set(pod, failed);
          }),
        );
      }
      todo = next;
      if (todo.size && Date.now() > deadline) {
        throw new Error(`${kind}: ${[...todo.values()].flat().length} pod pairs still do not answer`);
      }
    }
    const reachableMs = since();
    const pids = [...c.agents.values(), ...(c.etcdProcess ? [c.etcdProcess] : [])].map((p) => p.pid);
    const peak = (await Promise.all(pids.map(peakKiB))).reduce((a, b) => a + b, 0);
    const restarts = up.timings["agentRestarts"] ?? 0;
    return { kind, round, upMs, meshedMs, reachableMs, peakMiB: peak / 1024, pairs, restarts };
  } finally {
    await downLab(up.topo, { labDir: up.labDir });
  }
}

async function run(shape: Shape): Promise<BenchReport> {
  const { nodes: NODES, subnets: SUBNETS, repeats: REPEATS } = shape;
  const flanneld = await ensureFlanneld();
  const base = await Deno.makeTempDir({ prefix: "flannel-lab-scale-", dir: "/dev/shm" });
  const runs: Run[] = [];
  try {
    for (const [round, kind] of rounds(REPEATS)) runs.push(await once(kind, round, base, shape));
  } finally {
    await Deno.remove(base, { recursive: true }).catch(() => {});
  }
  const of = (kind: AgentKind, f: (r: Run) => number) => runs.filter((r) => r.kind === kind).map(f);
  const row = (label: string, f: (r: Run) => number, digits: number) => [
    label,
    spread(of("ours", f), digits),
    spread(of("upstream", f), digits),
    ratioText(median(of("ours", f)), median(of("upstream", f))),
  ];
  const s = (ms: number) => ms / 1000;
  const reachableS = median(of("ours", (r) => r.reachableMs)) / 1000;
  const headline = (figure: string, f: (r: Run) => number, unit: string, extra = ""): Headline => {
    const [a, b] = [median(of("ours", f)), median(of("upstream", f))];
    return {
      figure,
      ratio: a / b,
      baseline: "the same lab on upstream flanneld",
      target: { op: "<=", value: 1.2 },
      detail: `${a.toFixed(1)} vs ${b.toFixed(1)} ${unit}${extra}`,
    };
  };
  return {
    title:
      `a ${NODES}-node vxlan lab over ${SUBNETS} subnets on one machine (netns runtime): ours vs upstream`,
    columns: ["figure", "ours", "upstream", "ours ÷ upstream"],
    rows: [
      row("up (deploy, etcd, agents' subnet.env, pods), s", (r) => s(r.upMs), 1),
      row(`meshed (every node routes all ${NODES - 1} peers), s`, (r) => s(r.meshedMs), 1),
      row(`full pod matrix reachable (${runs[0]?.pairs ?? 0} pairs), s`, (r) => s(r.reachableMs), 1),
      row("peak RSS of etcd + every agent (sum of VmHWM), MiB", (r) => r.peakMiB, 0),
      [
        "agents restarted after exiting during bring-up",
        spread(of("ours", (r) => r.restarts), 0),
        spread(of("upstream", (r) => r.restarts), 0),
        "—",
      ],
    ],
    headlines: [
      headline(
        `${NODES}-node lab: up and fully reachable`,
        (r) => s(r.reachableMs),
        "s",
        `; target < 60 s ${reachableS < 60 ? "met" : "missed"}`,
      ),
      headline(`${NODES}-node lab: peak memory of etcd + agents`, (r) => r.peakMiB, "MiB"),
    ],
    notes: [
      `generated by \`flannel-lab generate --nodes ${NODES} --subnets ${SUBNETS}\` (one pod per node); times from ` +
      `asking for the lab; median (min–max) over ${REPEATS} rounds in A-B-B-A order; 2 shared cores.`,
      `ours: \`deno run\` (Deno ${Deno.version.deno}); upstream: flanneld ${FLANNELD_VERSION} ` +
      `(${
        flanneld.path.split("/").pop()
      }) on every node; the matrix is pinged by ${NODES} shell loops, 4 at a time.`,
    ],
    data: { nodes: NODES, subnets: SUBNETS, repeats: REPEATS, flanneld: FLANNELD_VERSION, runs },
  };
}

/** The registered benchmarks: the 50-node lab over 5 subnets, and 100 nodes over 20. */
export const scaleBenchmark: Benchmark = {
  name: "scale",
  run: () =>
    run({
      nodes: scaled(50, 6, "SCALE_BENCH_NODES"),
      subnets: scaled(5, 2, "SCALE_BENCH_SUBNETS"),
      repeats: scaled(3, 1, "SCALE_BENCH_REPEATS"),
    }),
};

/**
 * 100 nodes over 20 subnets, not 5: every namespace's dynamic ARP entries share the host's one neighbour table
 * (`net.ipv4.neigh.default.gc_thresh3`, 1,024 by default), and a node holds one per same-subnet peer. 100 nodes
 * over 5 subnets need about 2,340 and lose pings to "neighbor table overflow" on both agents; over 20 subnets,
 * about 800.
 */
export const scale100Benchmark: Benchmark = {
  name: "scale100",
  run: () =>
    run({
      nodes: scaled(100, 6, "SCALE100_BENCH_NODES"),
      subnets: scaled(20, 3, "SCALE100_BENCH_SUBNETS"),
      repeats: scaled(2, 1, "SCALE100_BENCH_REPEATS"),
    }),
};
