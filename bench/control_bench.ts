/**
 * Control plane, ours vs upstream flanneld v0.28.9 on the same node, etcd and leases, in one run:
 *
 * - **Convergence** (vxlan and host-gw): `PACED` leases written one at a time, `GAP_MS` apart, by a writer in
 *   the etcd namespace (`control_writer.ts`); for each, the time from issuing the put to the node holding what
 *   it calls for (vxlan: route, ARP and FDB entry; host-gw: the route), seen by a netlink monitor in the node's
 *   namespace (events, not polling). Then the same leases deleted one at a time, until those entries are gone.
 * - **Churn** (vxlan): a burst of `CHURN` leases written in transactions, then one range delete of them all;
 *   the time from the burst's first request until the kernel's entry counts match etcd, polled every 10 ms.
 *   A side that has not matched within `CHURN_CAP_MS` is stopped there and its missing (or stale) entries
 *   are counted.
 *
 * Every run starts the agent afresh on a clean kernel (flannel.1 and the routes deleted). Order alternates
 * A-B-B-A across `REPEATS` rounds; figures are medians over rounds (min–max), each round's p50/p99 taken over
 * its leases. etcd's data lives on tmpfs. Sizes come from `CONTROL_BENCH_PACED`, `CONTROL_BENCH_CHURN`,
 * `CONTROL_BENCH_REPEATS` (CI's smoke run makes them small).
 *
 * @module
 */
import { AF_BRIDGE, AF_INET, Monitor, NUD_PERMANENT } from "../agent/netlink/mod.ts";
import { waitFor } from "../tests/helpers/mini_lab.ts";
import { openBenchLab } from "./bench_lab.ts";
import { benchNetworkConfig, type SyntheticBackend, syntheticMac, syntheticSubnet } from "./synthetic.ts";
import type { Process } from "../cli/process/mod.ts";
import { ensureFlanneld, FLANNELD_VERSION } from "../harness/upstream/mod.ts";
import { startUpstreamAgent } from "../tests/helpers/upstream.ts";
import { type AgentKind, median, pct, ratioText, rounds, spread } from "./stats.ts";
import { type Benchmark, type BenchReport, type Headline, scaled } from "./report.ts";

const PACED = scaled(100, 10, "CONTROL_BENCH_PACED");
const CHURN = scaled(1000, 100, "CONTROL_BENCH_CHURN");
const REPEATS = scaled(5, 1, "CONTROL_BENCH_REPEATS");
const GAP_MS = 20;
const CHURN_CAP_MS = 30_000;
const now = () => performance.timeOrigin + performance.now();

type Backend = SyntheticBackend;

/** One side's figures in one round. */
interface Round {
  readonly kind: AgentKind;
  readonly backend: Backend;
  readonly round: number;
  /** Put → entries, ms, one per lease observed. */
  readonly add: readonly number[];
  /** Delete → entries gone, ms. */
  readonly del: readonly number[];
  /** Leases whose entries never appeared (or never left) within the wait. */
  readonly missedAdd: number;
  readonly missedDel: number;
  /** Churn (vxlan only): burst → kernel matches etcd, ms; entries left over when it did not. */
  readonly churnAddMs?: number;
  readonly churnDelMs?: number;
  readonly churnMissing?: number;
  readonly churnStale?: number;
}

/** What the node's kernel holds for the synthetic peers, by subnet. */
class Observer implements Disposable {
  readonly added = new Map<string, { route?: number; neigh?: number; fdb?: number }>();
  readonly removed = new Map<string, { route?: number; neigh?: number; fdb?: number }>();
  readonly #mon: Monitor;
  readonly #done: Promise<void>;

  constructor(netns: string, bySubnetMac: ReadonlyMap<string, string>) {
    const mon = this.#mon = Monitor.open({ netns, groups: ["route", "neigh"] });
    const note = (
      map: Map<string, { route?: number; neigh?: number; fdb?: number }>,
      s: string,
      f: string,
    ) => {
      const e = map.get(s) ?? {};
      (e as Record<string, number>)[f] ??= now();
      map.set(s, e);
    };
    this.#done = (async () => {
      for await (const ev of mon) {
        if (ev.kind === "route" && ev.route.dst.startsWith("10.") && !ev.route.dst.startsWith("10.99.")) {
          note(ev.action === "new" ? this.added : this.removed, ev.route.dst.replace(/\/24$/, ""), "route");
        } else if (ev.kind === "neigh") {
          const n = ev.neigh;
          // A NEW event for an entry that is not permanent is the kernel's own, not the agent's.
          if (ev.action === "new" && (n.state & NUD_PERMANENT) === 0) continue;
          const map = ev.action === "new" ? this.added : this.removed;
          if (n.family === AF_INET && n.dst?.startsWith("10.")) note(map, n.dst, "neigh");
          else if (n.family === AF_BRIDGE && n.lladdr && bySubnetMac.has(n.lladdr)) {
            note(map, bySubnetMac.get(n.lladdr)!, "fdb");
          }
        }
      }
    })();
  }

  /** When every entry of `subnet` had appeared (or left): the latest of their events. */
  complete(map: "added" | "removed", subnet: string, backend: Backend): number | undefined {
    const e = this[map].get(subnet);
    if (!e?.route) return undefined;
    if (backend === "host-gw") return e.route;
    return e.neigh && e.fdb ? Math.max(e.route, e.neigh, e.fdb) : undefined;
  }

  [Symbol.dispose](): void {
    this.#mon.close();
    void this.#done.catch(() => {});
  }
}

async function run(): Promise<BenchReport> {
  const flanneld = await ensureFlanneld();
  await using bench = await openBenchLab("fltc", { peers: Math.max(PACED, CHURN) });
  const { lab, node, nl } = bench;
  const macs = new Map(
    Array.from({ length: Math.max(PACED, CHURN) }, (_, i) => [syntheticMac(i), syntheticSubnet(i)]),
  );
  const writer = (
    backend: Backend,
    mode: "pace-put" | "pace-del" | "burst-put" | "burst-del",
    from: number,
    count: number,
  ) => bench.write(backend, mode, from, count, GAP_MS);

  const clean = async () => {
    await node.ns.ip(["link", "del", "flannel.1"], { check: false });
    await node.ns.ip(["route", "flush", "root", "10.0.0.0/8"], { check: false });
    await lab.etcd.ctl(["del", "--prefix", `${lab.etcdPrefix}/subnets/`]);
  };

  const start = async (kind: AgentKind, backend: Backend): Promise<Process> => {
    await lab.etcd.ctl(["put", `${lab.etcdPrefix}/config`, benchNetworkConfig(backend)]);
    await Deno.remove(`${node.dir}/subnet.env`).catch(() => {});
    const agent = kind === "ours" ? await lab.startAgent(node) : await startUpstreamAgent(lab, node);
    await waitFor(
      `${kind}'s subnet.env`,
      () => Deno.readTextFile(`${node.dir}/subnet.env`).catch(() => undefined),
      60_000,
    );
    if (backend === "vxlan") await waitFor("flannel.1", () => nl.link.find("flannel.1"), 30_000);
    // Both agents list the leases before they watch; let that settle so the first put is a watch event.
    await new Promise((r) => setTimeout(r, 500));
    return agent;
  };

  const paced = async (kind: AgentKind, backend: Backend, round: number) => {
    await clean();
    const agent = await start(kind, backend);
    using obs = new Observer(node.ns.name, macs);
    try {
      const times = async (mode: "pace-put" | "pace-del", map: "added" | "removed") => {
        const puts = await writer(backend, mode, 0, PACED);
        const settled = () =>
          puts.every((p) => obs.complete(map, syntheticSubnet(p.i!), backend) !== undefined);
        await waitFor("every paced lease", () => settled() || undefined, 5000).catch(() => {});
        const ms: number[] = [];
        for (const p of puts) {
          const at = obs.complete(map, syntheticSubnet(p.i!), backend);
          if (at !== undefined) ms.push(at - p.t!);
        }
        return { ms, missed: puts.length - ms.length };
      };
      const add = await times("pace-put", "added");
      const del = await times("pace-del", "removed");
      const r: Round = {
        kind,
        backend,
        round,
        add: add.ms,
        del: del.ms,
        missedAdd: add.missed,
        missedDel: del.missed,
      };
      return backend === "vxlan" ? { ...r, ...(await churn()) } : r;
    } finally {
      await agent.stop();
    }
  };

  /** Bursts on a running vxlan agent: until the kernel's counts reach `want` (or the cap). */
  const churn = async () => {
    const until = async (t0: number, want: number) => {
      for (;;) {
        const c = await bench.counts();
        const ok = c.routes === want && c.neighs === want && c.fdbs === want;
        if (ok || now() - t0 > CHURN_CAP_MS) return { ms: now() - t0, c, ok };
        await new Promise((r) => setTimeout(r, 10));
      }
    };
    const [put] = await writer("vxlan", "burst-put", 0, CHURN);
    const added = await until(put!.t!, CHURN);
    const [del] = await writer("vxlan", "burst-del", 0, CHURN);
    const removed = await until(del!.t!, 0);
    return {
      churnAddMs: added.ms,
      churnDelMs: removed.ms,
      churnMissing: added.ok ? 0 : CHURN - Math.min(added.c.routes, added.c.neighs, added.c.fdbs),
      churnStale: removed.ok ? 0 : Math.max(removed.c.routes, removed.c.neighs, removed.c.fdbs),
    };
  };

  const runs: Round[] = [];
  for (const backend of ["vxlan", "host-gw"] as const) {
    for (const [round, kind] of rounds(REPEATS)) runs.push(await paced(kind, backend, round));
  }
  await clean();
  return report(runs, flanneld.path);
}

function report(runs: readonly Round[], flanneldPath: string): BenchReport {
  const rows: (string | number)[][] = [];
  const of = (kind: AgentKind, backend: Backend) =>
    runs.filter((r) => r.kind === kind && r.backend === backend);
  const figure = (label: string, backend: Backend, f: (r: Round) => number | undefined, digits = 1) => {
    const ours = of("ours", backend).map(f).filter((x): x is number => x !== undefined);
    const up = of("upstream", backend).map(f).filter((x): x is number => x !== undefined);
    const [a, b] = [median(ours), median(up)];
    rows.push([
      label,
      spread(ours, digits),
      spread(up, digits),
      ratioText(a, b),
    ]);
  };
  for (const backend of ["vxlan", "host-gw"] as const) {
    const what = backend === "vxlan" ? "route + ARP + FDB" : "route";
    figure(`${backend}: put → ${what}, p50 ms`, backend, (r) => pct(r.add, 50), 2);
    figure(`${backend}: put → ${what}, p99 ms`, backend, (r) => pct(r.add, 99), 2);
    figure(`${backend}: delete → gone, p50 ms`, backend, (r) => pct(r.del, 50), 2);
    figure(`${backend}: delete → gone, p99 ms`, backend, (r) => pct(r.del, 99), 2);
    figure(`${backend}: leases never converged`, backend, (r) => r.missedAdd + r.missedDel, 0);
  }
  figure(`vxlan: burst of ${CHURN} adds → kernel matches, ms`, "vxlan", (r) => r.churnAddMs, 0);
  figure(`vxlan: range delete of ${CHURN} → kernel matches, ms`, "vxlan", (r) => r.churnDelMs, 0);
  figure(
    "vxlan: entries missing / stale after the churn",
    "vxlan",
    (r) => (r.churnMissing ?? 0) + (r.churnStale ?? 0),
    0,
  );
  const ratioOf = (backend: Backend, f: (r: Round) => number | undefined) => {
    const m = (kind: AgentKind) =>
      median(of(kind, backend).map(f).filter((x): x is number => x !== undefined));
    return { ratio: m("ours") / m("upstream"), ours: m("ours"), up: m("upstream") };
  };
  const headline = (figure: string, backend: Backend, f: (r: Round) => number | undefined, unit: string) => {
    const r = ratioOf(backend, f);
    return {
      figure,
      ratio: r.ratio,
      baseline: "upstream flanneld",
      target: { op: "<=" as const, value: 1 },
      detail: `${r.ours.toFixed(unit === "ms" ? 2 : 0)} vs ${r.up.toFixed(unit === "ms" ? 2 : 0)} ${unit}`,
    };
  };
  const headlines: Headline[] = [
    headline("vxlan convergence p99: put → route+ARP+FDB", "vxlan", (r) => pct(r.add, 99), "ms"),
    headline("host-gw convergence p99: put → route", "host-gw", (r) => pct(r.add, 99), "ms"),
    headline(`churn: ${CHURN} adds → kernel matches etcd`, "vxlan", (r) => r.churnAddMs, "ms"),
    headline(`churn: ${CHURN} deletes → kernel matches etcd`, "vxlan", (r) => r.churnDelMs, "ms"),
  ];
  return {
    headlines,
    title: "control plane: convergence and churn, ours vs upstream flanneld",
    columns: ["figure", "ours", "upstream", "ours ÷ upstream"],
    rows,
    notes: [
      `Median (min–max) over ${REPEATS} rounds in A-B-B-A order; each round's percentiles over its ${PACED} leases, ` +
      `written ${GAP_MS} ms apart; times from issuing the etcd request to the last netlink event it calls for.`,
      `Churn: ${CHURN} leases in 128-put transactions, then one range delete; kernel counts polled every 10 ms, ` +
      `capped at ${CHURN_CAP_MS / 1000} s (what is left then counts as missing or stale).`,
      `ours: \`deno run\` (Deno ${Deno.version.deno}); upstream: flanneld ${FLANNELD_VERSION} ` +
      `(${flanneldPath.split("/").pop()}); same node, etcd (data on tmpfs) and default log levels.`,
    ],
    data: { paced: PACED, churn: CHURN, repeats: REPEATS, gapMs: GAP_MS, flanneld: FLANNELD_VERSION, runs },
  };
}

/** The registered benchmark. */
export const controlBenchmark: Benchmark = { name: "control", run };
