/**
 * Self-heal, ours vs upstream flanneld v0.28.9 on the same node, etcd and leases (B5): with `PEERS` vxlan peers
 * programmed, one of the agent's entries is deleted by hand (through netlink) and the time until the kernel
 * holds it again is taken from the netlink monitor's event. Four cases: a peer's route, its ARP entry, its
 * FDB entry, and the whole flannel.1 device (until every peer's route is back). A case not healed within
 * `CAP_MS` counts as not healed; upstream's vxlan backend re-adds nothing by design (it programs a peer only
 * when its lease changes), which is what a user of a hand-broken node sees.
 *
 * Order alternates A-B-B-A over `REPEATS` rounds, each round on a freshly started agent; medians over rounds
 * (min–max) of the healed runs.
 *
 * @module
 */
import { AF_BRIDGE, AF_INET, Monitor, NUD_PERMANENT } from "../agent/netlink/mod.ts";
import { waitFor } from "../tests/helpers/mini_lab.ts";
import { openBenchLab } from "./bench_lab.ts";
import { isSynthetic } from "./synthetic.ts";
import { ensureFlanneld, FLANNELD_VERSION } from "../harness/upstream/mod.ts";
import { startUpstreamAgent } from "../tests/helpers/upstream.ts";
import { type Benchmark, type BenchReport, scaled } from "./report.ts";
import { type AgentKind, median, rounds, spread } from "./stats.ts";

const PEERS = scaled(50, 5);
const REPEATS = scaled(5, 1, "HEAL_BENCH_REPEATS");
const CAP_MS = scaled(12_000, 3000);
const CASES = ["route", "neigh", "fdb", "device"] as const;
type Case = typeof CASES[number];
const now = () => performance.now();

interface Sample {
  readonly kind: AgentKind;
  readonly round: number;
  readonly case: Case;
  /** Deletion → back, ms; undefined when not healed within the cap. */
  readonly ms: number | undefined;
}

async function run(): Promise<BenchReport> {
  const flanneld = await ensureFlanneld();
  await using bench = await openBenchLab("flth", { backend: "vxlan", peers: PEERS });
  const { lab, node, nl } = bench;
  await bench.write("vxlan", "burst-put", 0, PEERS);
  // Peer 0's entries are the ones deleted.
  const target = { subnet: "10.1.0.0", mac: "02:00:00:00:00:00", ip: "100.64.0.1" };

  const programmed = async () => {
    const dev = await nl.link.find("flannel.1");
    return dev && (await bench.counts()).routes >= PEERS ? dev.index : undefined;
  };

  const heal = async (c: Case, dev: number): Promise<number | undefined> => {
    using mon = Monitor.open({ netns: node.ns.name, groups: ["route", "neigh", "link"] });
    let back: number | undefined;
    let routes = 0;
    const watching = (async () => {
      for await (const ev of mon) {
        if (ev.kind === "route" && ev.action === "new" && isSynthetic(ev.route.dst)) {
          routes++;
          if (c === "route" && ev.route.dst === `${target.subnet}/24`) back = now();
          if (c === "device" && routes >= PEERS) back = now();
        } else if (ev.kind === "neigh" && ev.action === "new") {
          const n = ev.neigh;
          // Only the agent's own kind of entry: the kernel makes a non-permanent one of its own when traffic
          // or the route needs the address.
          if ((n.state & NUD_PERMANENT) === 0) continue;
          if (c === "neigh" && n.family === AF_INET && n.dst === target.subnet) back = now();
          if (c === "fdb" && n.family === AF_BRIDGE && n.lladdr === target.mac) back = now();
        }
        if (back !== undefined) return;
      }
    })();
    const t0 = now();
    switch (c) {
      case "route":
        await nl.route.delete({ dst: `${target.subnet}/24`, oif: dev });
        break;
      case "neigh":
        await nl.neigh.delete({ index: dev, dst: target.subnet });
        break;
      case "fdb":
        await nl.fdb.delete({ index: dev, lladdr: target.mac, dst: target.ip });
        break;
      case "device":
        await nl.link.delete(dev);
        break;
    }
    await waitFor("the entry back", () => back, CAP_MS).catch(() => {});
    mon.close();
    await watching.catch(() => {});
    return back === undefined ? undefined : back - t0;
  };

  const samples: Sample[] = [];
  for (const [round, kind] of rounds(REPEATS)) {
    await node.ns.ip(["link", "del", "flannel.1"], { check: false });
    const agent = kind === "ours" ? await lab.startAgent(node) : await startUpstreamAgent(lab, node);
    try {
      // Programmed once per round: an agent that does not heal leaves the earlier cases' entries missing,
      // which the later cases do not depend on (each deletes a different entry, the device last).
      const dev = await waitFor("a programmed node", programmed, 30_000);
      for (const c of CASES) samples.push({ kind, round, case: c, ms: await heal(c, dev) });
    } finally {
      await agent.stop();
    }
  }

  const rows = CASES.map((c) => {
    const of = (kind: AgentKind) => samples.filter((s) => s.kind === kind && s.case === c);
    const cell = (kind: AgentKind) => {
      const healed = of(kind).map((s) => s.ms).filter((m): m is number => m !== undefined);
      const missed = of(kind).length - healed.length;
      return healed.length === 0
        ? `not healed in ${CAP_MS / 1000} s (${missed} of ${missed})`
        : `${spread(healed, 1)}${missed ? `, ${missed} not healed` : ""}`;
    };
    const ours = of("ours").map((s) => s.ms).filter((m): m is number => m !== undefined);
    const up = of("upstream").map((s) => s.ms).filter((m): m is number => m !== undefined);
    const ratio = ours.length && up.length
      ? (median(ours) / median(up)).toFixed(3)
      : ours.length
      ? `< ${(median(ours) / CAP_MS).toFixed(4)} (upstream never)`
      : "—";
    const what = {
      route: "a peer's route",
      neigh: "a peer's ARP entry",
      fdb: "a peer's FDB entry",
      device: "flannel.1 (every route back)",
    }[c];
    return [`${what} deleted by hand, ms`, cell("ours"), cell("upstream"), ratio];
  });
  return {
    title: "self-heal: an agent's kernel entries deleted by hand, ours vs upstream flanneld (vxlan)",
    columns: ["figure", "ours", "upstream", "ours ÷ upstream"],
    rows,
    notes: [
      `${PEERS} vxlan peers; each entry deleted through netlink and timed to the monitor's NEW event for it; ` +
      `capped at ${
        CAP_MS / 1000
      } s. Median (min–max) over ${REPEATS} rounds in A-B-B-A order, a fresh agent each round.`,
      `ours: \`deno run\` (Deno ${Deno.version.deno}); upstream: flanneld ${FLANNELD_VERSION} ` +
      `(${flanneld.path.split("/").pop()}); same node and etcd (data on tmpfs).`,
    ],
    data: { peers: PEERS, repeats: REPEATS, capMs: CAP_MS, flanneld: FLANNELD_VERSION, samples },
  };
}

/** The registered benchmark. */
export const healBenchmark: Benchmark = { name: "heal", run };
