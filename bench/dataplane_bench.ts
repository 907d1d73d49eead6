/**
 * Data-plane benchmarks (B1, B2, B5 of reference/perf-anchors.md) on a real lab: etcd in one namespace, the
 * observed node running our agent (vxlan) in another.
 *
 * - **Convergence**: 200 leases written one at a time (paced 25/s) by a writer inside the etcd namespace; the
 *   time from issuing each put to the observed node holding its route and ARP entry, seen by a netlink monitor
 *   in that namespace (not by polling). Baseline, same run: the put-to-watch-event delivery time etcd itself
 *   gives a watcher (the floor any agent sits on).
 * - **Start-up**: 1,000 and 5,000 remote leases already in etcd; agent start to a fully programmed kernel
 *   (routes, ARP and FDB counted by netlink dumps every 20 ms), and the agent's peak RSS (VmHWM). Baseline,
 *   same run: `ip -batch` + `bridge -batch` programming the same entries into a fresh namespace.
 * - **Self-heal**: a route deleted by hand (netlink) until it is back (monitor event), 30 times. Baseline:
 *   upstream's 10 s periodic check (design bound, K4), reported as a ratio, not measured.
 *
 * Timestamps across processes use `performance.timeOrigin + performance.now()` (the same system clock).
 *
 * @module
 */
import { Monitor, Netlink, NUD_PERMANENT } from "../agent/netlink/mod.ts";
import { startMiniLab, waitFor } from "../harness/mini_lab.ts";
import { uniqueName } from "../tests/helpers/tmpdir.ts";
import type { Benchmark, BenchReport } from "./mod.ts";

const CONFIG = '{"Network":"10.0.0.0/8","SubnetLen":24,"Backend":{"Type":"vxlan"}}';
const PACED = 200;
const SIZES = [1000, 5000];
const HEALS = 30;

const now = () => performance.timeOrigin + performance.now();
const subnetOf = (i: number) => `10.${100 + (i >> 8)}.${i & 0xff}.0`;
const macOf = (i: number) =>
  `02:ee:00:00:${((i >> 8) & 0xff).toString(16).padStart(2, "0")}:${
    (i & 0xff).toString(16).padStart(2, "0")
  }`;
const ipOf = (i: number) => `172.16.${i >> 8}.${(i & 0xff) || 1}`;

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] ?? NaN;
}
const r2 = (x: number) => Math.round(x * 100) / 100;
const ratio = (x: number) => Number(x.toPrecision(3));

/** The writer, run inside the etcd namespace: seeds or paces lease puts and reports times as JSON lines. */
const WRITER = `
import { Etcd3 } from "npm:etcd3@1.1.2";
const [endpoint, prefix, mode, from, count, gapMs] = Deno.args;
const client = new Etcd3({ hosts: endpoint });
const now = () => performance.timeOrigin + performance.now();
const sub = (i) => \`10.\${100 + (i >> 8)}.\${i & 0xff}.0\`;
const mac = (i) => \`02:ee:00:00:\${((i >> 8) & 0xff).toString(16).padStart(2, "0")}:\${(i & 0xff).toString(16).padStart(2, "0")}\`;
const ip = (i) => \`172.16.\${i >> 8}.\${(i & 0xff) || 1}\`;
const value = (i) => JSON.stringify({ PublicIP: ip(i), PublicIPv6: null, BackendType: "vxlan", BackendData: { VNI: 1, VtepMAC: mac(i) } });
const key = (i) => \`\${prefix}/subnets/\${sub(i)}-24\`;
const start = Number(from), n = Number(count);
if (mode === "seed") {
  let next = start;
  await Promise.all(Array.from({ length: 64 }, async () => {
    while (next < start + n) { const i = next++; await client.put(key(i)).value(value(i)); }
  }));
} else {
  const watched = new Map();
  const watcher = await client.watch().prefix(\`\${prefix}/subnets/\`).create();
  watcher.on("put", (kv) => watched.set(kv.key.toString(), now()));
  for (let i = start; i < start + n; i++) {
    const t = now();
    await client.put(key(i)).value(value(i));
    console.log(JSON.stringify({ subnet: sub(i), t }));
    await new Promise((r) => setTimeout(r, Number(gapMs)));
  }
  await new Promise((r) => setTimeout(r, 500));
  for (const [k, w] of watched) console.log(JSON.stringify({ key: k, watched: w }));
  await watcher.cancel();
}
client.close();
`;

async function sh(cmd: readonly string[], stdin?: string): Promise<string> {
  const p = new Deno.Command(cmd[0]!, {
    args: cmd.slice(1),
    stdin: stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (stdin !== undefined) {
    const w = p.stdin.getWriter();
    await w.write(new TextEncoder().encode(stdin));
    await w.close();
  }
  const out = await p.output();
  if (!out.success) throw new Error(`${cmd.join(" ")}: ${new TextDecoder().decode(out.stderr).slice(-800)}`);
  return new TextDecoder().decode(out.stdout);
}

async function counts(nl: Netlink, dev: number): Promise<{ routes: number; neighs: number; fdbs: number }> {
  const routes = (await nl.route.list({ oif: dev })).length;
  const neighs = (await nl.neigh.list({ index: dev })).filter((n) => (n.state & NUD_PERMANENT) !== 0).length;
  const fdbs = (await nl.fdb.list({ index: dev })).filter((f) => f.dst !== undefined).length;
  return { routes, neighs, fdbs };
}

/** `ip -batch` + `bridge -batch` of the same 3n entries into a fresh namespace: the kernel-programming floor. */
async function ipBatchBaseline(n: number): Promise<number> {
  const ns = `${uniqueName("fltb")}`;
  await sh(["ip", "netns", "add", ns]);
  try {
    await sh(["ip", "-n", ns, "link", "add", "eth1", "type", "veth", "peer", "name", "eth1p"]);
    await sh(["ip", "-n", ns, "addr", "add", "192.168.77.1/24", "dev", "eth1"]);
    await sh(["ip", "-n", ns, "link", "set", "eth1", "up"]);
    await sh([
      "ip",
      "-n",
      ns,
      "link",
      "add",
      "flannel.1",
      "type",
      "vxlan",
      "id",
      "1",
      "local",
      "192.168.77.1",
      "dev",
      "eth1",
      "nolearning",
    ]);
    await sh(["ip", "-n", ns, "link", "set", "flannel.1", "up"]);
    const ipLines: string[] = [];
    const brLines: string[] = [];
    for (let i = 0; i < n; i++) {
      ipLines.push(`neigh replace ${subnetOf(i)} lladdr ${macOf(i)} dev flannel.1 nud permanent`);
      brLines.push(`fdb replace ${macOf(i)} dev flannel.1 dst ${ipOf(i)} self permanent`);
    }
    for (let i = 0; i < n; i++) {
      ipLines.push(`route replace ${subnetOf(i)}/24 via ${subnetOf(i)} dev flannel.1 onlink`);
    }
    const t0 = performance.now();
    await sh(["ip", "-n", ns, "-batch", "-"], ipLines.join("\n") + "\n");
    await sh(["ip", "netns", "exec", ns, "bridge", "-batch", "-"], brLines.join("\n") + "\n");
    return performance.now() - t0;
  } finally {
    await sh(["ip", "netns", "del", ns]).catch(() => {});
  }
}

async function vmHwmKb(pid: number): Promise<number> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`).catch(() => "");
  return Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? NaN);
}

async function run(): Promise<BenchReport> {
  const prefix = uniqueName("fltb");
  await using lab = await startMiniLab({ prefix, nodes: 1, networkConfig: CONFIG });
  const node = lab.nodes[0]!;
  const writerFile = `${lab.dir}/writer.js`;
  await Deno.writeTextFile(writerFile, WRITER);
  const writer = (args: string[]) =>
    sh([
      "ip",
      "netns",
      "exec",
      lab.etcdNs.name,
      Deno.execPath(),
      "run",
      "-A",
      "--quiet",
      "--no-lock",
      writerFile,
      lab.etcd.endpoint,
      lab.etcdPrefix,
      ...args,
    ]);
  await using nl = await Netlink.open({ netns: node.ns.name });

  // --- Start-up with N leases already in etcd (run first, on a node that has never run an agent).
  const startup: Record<string, unknown>[] = [];
  let seeded = 0;
  for (const n of SIZES) {
    await writer(["seed", String(seeded), String(n - seeded)]);
    seeded = n;
    const t0 = performance.now();
    const agent = await lab.startAgent(node);
    const dev = await waitFor("flannel.1", () => nl.link.find("flannel.1").then((l) => l?.index), 60_000);
    let last = { routes: 0, neighs: 0, fdbs: 0 };
    let peak = 0;
    await waitFor(`${n} leases programmed`, async () => {
      last = await counts(nl, dev);
      peak = Math.max(peak, await vmHwmKb(agent.pid));
      return last.routes >= n && last.neighs >= n && last.fdbs >= n ? true : undefined;
    }, 180_000);
    const ms = performance.now() - t0;
    peak = Math.max(peak, await vmHwmKb(agent.pid));
    const base = await ipBatchBaseline(n);
    startup.push({
      leases: n,
      ms: r2(ms),
      peakRssMiB: r2(peak / 1024),
      ipBatchMs: r2(base),
      ratio: ratio(ms / base),
    });
    await agent.stop("SIGTERM");
    // Start the next size from a clean kernel (the agent would otherwise find most entries in place).
    await nl.link.delete(dev).catch(() => {});
  }
  // Remove the seeded leases so convergence runs against a small cluster.
  await sh([
    "ip",
    "netns",
    "exec",
    lab.etcdNs.name,
    "etcdctl",
    `--endpoints=${lab.etcd.endpoint}`,
    "del",
    "--prefix",
    `${lab.etcdPrefix}/subnets/`,
  ]);

  // --- Convergence: paced puts, seen by a monitor in the node.
  const agent = await lab.startAgent(node);
  const dev = await waitFor("the agent's lease", async () => {
    const env = await Deno.readTextFile(`${node.dir}/subnet.env`).catch(() => "");
    return env ? (await nl.link.find("flannel.1"))?.index : undefined;
  }, 60_000);
  const seen = new Map<string, { route?: number; neigh?: number }>();
  const mon = Monitor.open({ netns: node.ns.name, groups: ["route", "neigh"] });
  const watching = (async () => {
    for await (const ev of mon) {
      const t = now();
      if (ev.kind === "route" && ev.action === "new" && ev.route.oif === dev) {
        const s = ev.route.dst.replace(/\/24$/, "");
        seen.set(s, { ...seen.get(s), route: seen.get(s)?.route ?? t });
      } else if (ev.kind === "neigh" && ev.action === "new" && ev.neigh.index === dev && ev.neigh.dst) {
        const s = ev.neigh.dst;
        seen.set(s, { ...seen.get(s), neigh: seen.get(s)?.neigh ?? t });
      }
    }
  })();
  const out = await writer(["pace", "20000", String(PACED), "40"]);
  await waitFor("every paced lease", () => {
    let done = 0;
    for (const v of seen.values()) if (v.route && v.neigh) done++;
    return done >= PACED || undefined;
  }, 30_000).catch(() => {});
  const puts = new Map<string, number>();
  const watched: number[] = [];
  const putByKey = new Map<string, number>();
  for (const line of out.trim().split("\n")) {
    const j = JSON.parse(line);
    if (j.subnet) {
      puts.set(j.subnet, j.t);
      putByKey.set(`${lab.etcdPrefix}/subnets/${j.subnet}-24`, j.t);
    } else if (j.key && putByKey.has(j.key)) watched.push(j.watched - putByKey.get(j.key)!);
  }
  const conv: number[] = [];
  for (const [s, t] of puts) {
    const v = seen.get(s);
    if (v?.route && v.neigh) conv.push(Math.max(v.route, v.neigh) - t);
  }

  // --- Self-heal: delete one route by hand, time until it is back.
  const heals: number[] = [];
  const target = [...puts.keys()][0]!;
  for (let i = 0; i < HEALS; i++) {
    const before = seen.get(target)!;
    seen.set(target, { neigh: before.neigh! });
    const t0 = now();
    await nl.route.delete({ dst: `${target}/24`, oif: dev });
    await waitFor("the route back", () => seen.get(target)?.route, 10_000);
    heals.push(seen.get(target)!.route! - t0);
  }
  mon.close();
  await watching;
  const rss = await vmHwmKb(agent.pid);
  await agent.stop("SIGTERM");

  const data = {
    kernel: (await Deno.readTextFile("/proc/sys/kernel/osrelease")).trim(),
    convergence: {
      leases: PACED,
      observed: conv.length,
      p50_ms: r2(pct(conv, 50)),
      p99_ms: r2(pct(conv, 99)),
      max_ms: r2(pct(conv, 100)),
      etcd_watch_p50_ms: r2(pct(watched, 50)),
      etcd_watch_p99_ms: r2(pct(watched, 99)),
    },
    startup,
    selfHeal: {
      runs: heals.length,
      p50_ms: r2(pct(heals, 50)),
      p99_ms: r2(pct(heals, 99)),
      upstream_bound_ms: 10_000,
    },
    agentPeakRssMiB: r2(rss / 1024),
  };
  const c = data.convergence;
  const rows: (string | number)[][] = [
    [
      "convergence p50 (put → route+ARP)",
      `${c.p50_ms} ms`,
      `etcd watch p50 ${c.etcd_watch_p50_ms} ms`,
      ratio(c.p50_ms / c.etcd_watch_p50_ms),
    ],
    [
      "convergence p99",
      `${c.p99_ms} ms`,
      `etcd watch p99 ${c.etcd_watch_p99_ms} ms`,
      ratio(c.p99_ms / c.etcd_watch_p99_ms),
    ],
    ...startup.map((s) => [
      `start-up, ${s.leases} leases (peak RSS ${s.peakRssMiB} MiB)`,
      `${s.ms} ms`,
      `ip/bridge -batch ${s.ipBatchMs} ms`,
      s.ratio as number,
    ]),
    [
      "self-heal, route deleted by hand (p50)",
      `${data.selfHeal.p50_ms} ms`,
      "upstream check period 10000 ms",
      ratio(data.selfHeal.p50_ms / 10_000),
    ],
    [
      "self-heal (p99)",
      `${data.selfHeal.p99_ms} ms`,
      "upstream check period 10000 ms",
      ratio(data.selfHeal.p99_ms / 10_000),
    ],
  ];
  return {
    title: "dataplane: convergence, start-up at scale, self-heal (vxlan, our agent)",
    columns: ["figure", "ours", "baseline (same run)", "ours ÷ baseline"],
    rows,
    notes: [
      `kernel ${data.kernel}, Deno ${Deno.version.deno}, etcd in its own namespace, 2 cores shared with other work`,
      `convergence: ${PACED} leases put one at a time every 40 ms; time from issuing the put to the later of the route and ARP NEWROUTE/NEWNEIGH events in the node (${c.observed} observed)`,
      "start-up: agent process start (Deno start-up included) until routes, ARP and FDB entries all number N; the baseline is ip -batch + bridge -batch of the same 3N entries (no etcd, no process start-up)",
      "self-heal: RTM_DELROUTE by netlink, then the NEWROUTE event of the agent's repair; upstream's host-gw checks every 10 s and its vxlan backend never re-adds a deleted route",
    ],
    data,
  };
}

/** The registered benchmark. */
export const dataplaneBenchmark: Benchmark = { name: "dataplane", run };
