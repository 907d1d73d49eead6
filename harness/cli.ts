/**
 * The harness commands: `up|deploy`, `down|destroy`, `test`, `inspect`, `exec NODE -- CMD`, `doctor`. Topology
 * files are given positionally or with `-t/--topo`, as containerlab users type them.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { UsageError, UserError } from "../cli/errors.ts";
import { eprintln, println } from "../cli/output.ts";
import {
  describePlan,
  downLab,
  loadLab,
  renameLab,
  runLab,
  type RunLabResult,
  scenarioPathFor,
  storedResults,
  upLab,
  withAgent,
} from "./lab.ts";
import { run } from "./process.ts";
import { consoleProgress, type JunitRun, junitXml, summaryTable } from "./report/mod.ts";
import { htmlReport } from "./report/html.ts";
import {
  readResults,
  rerunSelection,
  stepRates,
  type StoredRun,
  storeSteps,
  writeResults,
} from "./report/results.ts";
import { openRuntime, ownedNamespaces } from "./runtime/mod.ts";
import { refuseUnsupportedSteps } from "./runtime/kernel_features.ts";
import { labDir, readTopology, type Topology } from "./topology/mod.ts";
import type { AgentKind } from "./topology/model.ts";
import { Cluster } from "./cluster.ts";

const COMMON = {
  topo: { type: "string", short: "t" },
  runtime: { type: "string", short: "r" },
  "lab-dir": { type: "string" },
  name: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

/** A topology file, under another lab name when `--name` gives one. */
export async function topology(file: string, name: string | undefined): Promise<Topology> {
  return renameLab(await readTopology(file), name);
}

/** A lab's directory: `--lab-dir` (or $CLAB_LABDIR_BASE) as the base, else beside the topology. */
export function labDirFor(topo: Topology, base: string | undefined): string {
  return labDir(topo, base ?? Deno.env.get("CLAB_LABDIR_BASE"));
}

/**
 * The runtime a command on an existing lab uses: `--runtime` when given, else the one its state file names (or
 * containerlab when its rendered copy is there), else netns — so `down`, `inspect` and `exec` find a lab that
 * `up --runtime containerlab` started without being told again.
 */
export async function runtimeFor(given: string | undefined, dir: string): Promise<string> {
  if (given) return given;
  try {
    const state = JSON.parse(await Deno.readTextFile(`${dir}/state.json`)) as { runtime?: string };
    if (state.runtime) return state.runtime;
  } catch { /* no state */ }
  try {
    await Deno.stat(`${dir}/containerlab`);
    return "containerlab";
  } catch {
    return "netns";
  }
}

function parse<
  T extends Record<string, { type: "string" | "boolean"; short?: string; default?: string | boolean }>,
>(
  usage: string,
  args: string[],
  options: T,
) {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message, { hint: usage });
  }
}

function topoArg(
  usage: string,
  values: { topo?: string | undefined },
  positionals: string[],
  optional = false,
): string | undefined {
  const file = values.topo ?? positionals[0];
  if (!file && !optional) throw new UsageError("No topology file given", { hint: usage });
  return file;
}

/** `--agent`: ours or upstream, or undefined to keep the topology's labels. */
export function agentArg(v: string | undefined, usage: string): AgentKind | undefined {
  if (v === undefined) return undefined;
  if (v !== "ours" && v !== "upstream") {
    throw new UsageError(`--agent must be ours or upstream, not "${v}"`, { hint: usage });
  }
  return v;
}

function needRoot(): void {
  if (Deno.uid() !== 0) {
    throw new UserError("Labs create network namespaces and need root", { hint: "run as root" });
  }
}

const UP = `Usage: flannel-lab up|deploy [-t] TOPOLOGY.clab.yml [--scenario FILE] [--nodes-only] [--name LAB]
                          [--runtime netns|containerlab] [--lab-dir BASE] [--agent ours|upstream]

Deploys the lab's nodes and links, then starts etcd, the agents and the pods (network config, pods per node and
late agents from <name>.scenario.yml) and returns, leaving them running: processes are detached, their logs and
state (pids, pods) are in the lab directory. Then: inspect, exec NODE -- CMD, test … --rerun-failed, down.
--nodes-only deploys nodes and links only (idempotent: a lab that exists is completed, not recreated).
--agent runs every node with one agent (ours, or upstream flanneld), whatever the labels say.
Then flannel-lab trace TOPOLOGY n1/p1 n2/p1 follows a packet through it.`;

/** `up` / `deploy`. */
export async function upMain(args: string[]): Promise<number> {
  const { values, positionals } = parse(UP, args, {
    ...COMMON,
    scenario: { type: "string", short: "s" },
    "nodes-only": { type: "boolean" },
    agent: { type: "string" },
  });
  if (values.help) return (println(UP), 0);
  const file = topoArg(UP, values, positionals)!;
  const agent = agentArg(values.agent, UP);
  const topo = await topology(file, values.name);
  needRoot();
  const dir = labDirFor(topo, values["lab-dir"]);
  const runtime = values.runtime ?? "netns";
  const rt = openRuntime(runtime);
  if (values["nodes-only"]) {
    try {
      const d = await rt.deploy(topo, { labDir: dir });
      println(
        `Lab ${topo.name}: ${d.created.length} nodes created, ${d.existing.length} already there, in ${d.durationMs} ms`,
      );
      for (const n of topo.notes) println(`note: ${n}`);
    } catch (error) {
      await rt.destroy({ topology: topo });
      throw error;
    }
    println(renderTable(await rt.inspect({ topology: topo })));
    return 0;
  }
  const up = await upLab(file, {
    ...(values.scenario ? { scenarioPath: values.scenario } : {}),
    runtime,
    ...(values["lab-dir"] ? { labDirBase: values["lab-dir"] } : {}),
    ...(values.name ? { name: values.name } : {}),
    ...(agent ? { agent } : {}),
    log: (l) => println(l),
  });
  println(await describeCluster(up.topo, dir, runtime));
  println(`lab directory (logs, state): ${up.labDir}`);
  return 0;
}

const DOWN = `Usage: flannel-lab down|destroy [-t] TOPOLOGY.clab.yml [--name LAB] | --all [--cleanup]

Stops the lab's etcd and agents (from the state file that up left, so also after a crash) and removes its
namespaces (and what a crashed run left of it, found by ownership marker). --cleanup also removes the lab
directory.`;

/** `down` / `destroy`. */
export async function downMain(args: string[]): Promise<number> {
  const { values, positionals } = parse(DOWN, args, {
    ...COMMON,
    all: { type: "boolean", short: "a" },
    cleanup: { type: "boolean", short: "c" },
  });
  if (values.help) return (println(DOWN), 0);
  needRoot();
  const file = topoArg(DOWN, values, positionals, values.all || values.name !== undefined);
  if (!file) {
    const rt = openRuntime(values.runtime ?? "netns");
    const r = await rt.destroy(values.all ? { all: true } : { lab: values.name! });
    println(
      `Removed ${r.removed.length} namespaces in ${r.durationMs} ms${
        r.removed.length ? `: ${r.removed.join(", ")}` : ""
      }`,
    );
    return 0;
  }
  const topo = await topology(file, values.name);
  const dir = labDirFor(topo, values["lab-dir"]);
  const r = await downLab(topo, { runtime: await runtimeFor(values.runtime, dir), labDir: dir });
  if (values.cleanup) await Deno.remove(dir, { recursive: true }).catch(() => {});
  println(
    `Stopped ${r.stopped} processes and removed ${r.removed.length} namespaces in ${r.durationMs} ms${
      r.removed.length ? `: ${r.removed.join(", ")}` : ""
    }`,
  );
  return 0;
}

const TEST =
  `Usage: flannel-lab test [-t] TOPOLOGY.clab.yml [--scenario FILE] [--junit FILE] [--html FILE] [--dry-run]
                        [--repeat N] [--rerun-failed] [--keep] [--name LAB] [--runtime netns|containerlab] [--lab-dir BASE]
                        [--agent ours|upstream]

Deploys the lab, starts etcd, agents and pods, runs the scenario (default: <name>.scenario.yml beside the
topology), prints a summary, and removes everything. Results go to <lab dir>/results.json and a self-contained
<lab dir>/report.html (matrix, diffs, pcap and probe links, fault timelines).
  --repeat N       run the scenario N times; report each step's pass rate (passes after retries apart)
  --rerun-failed   run again only the steps that failed last time (read from <lab dir>/results.json), with
                   the waits and faults before them
  --keep           leave the lab running afterwards (then: inspect, exec, down)
  --agent A        every node runs this agent (ours, or upstream flanneld), whatever the labels say
Exit code 0 only when every step held in every run.`;

/** `test`. */
export async function testMain(args: string[]): Promise<number> {
  const { values, positionals } = parse(TEST, args, {
    ...COMMON,
    scenario: { type: "string", short: "s" },
    junit: { type: "string" },
    html: { type: "string" },
    "dry-run": { type: "boolean" },
    keep: { type: "boolean" },
    repeat: { type: "string" },
    "rerun-failed": { type: "boolean" },
    agent: { type: "string" },
  });
  if (values.help) return (println(TEST), 0);
  const file = topoArg(TEST, values, positionals)!;
  const agent = agentArg(values.agent, TEST);
  const repeat = Number(values.repeat ?? 1);
  if (!Number.isInteger(repeat) || repeat < 1) {
    throw new UsageError(`--repeat wants a whole number ≥ 1, not "${values.repeat}"`, { hint: TEST });
  }
  if (
    values["dry-run"] && !values.scenario && !(await Deno.stat(scenarioPathFor(file)).catch(() => undefined))
  ) {
    // A topology alone (containerlab's own examples): show what it resolves to; a run would need a scenario.
    const topo = withAgent(await topology(file, values.name), agent);
    println(describePlan(topo, undefined, labDirFor(topo, values["lab-dir"])));
    return 0;
  }
  {
    // Refuse what this kernel cannot run before anything is deployed (and in a dry run).
    const { topo, scenario } = await loadLab(file, values.scenario, values.name, agent);
    if (Deno.uid() === 0) await refuseUnsupportedSteps(scenario);
    if (values["dry-run"]) {
      println(describePlan(topo, scenario, labDirFor(topo, values["lab-dir"])));
      return 0;
    }
  }
  let only: Set<number> | undefined;
  if (values["rerun-failed"]) {
    const { topo } = await loadLab(file, values.scenario, values.name);
    const previous = await readResults(labDirFor(topo, values["lab-dir"]));
    if (!previous) {
      throw new UserError(`No previous results for lab "${topo.name}"`, {
        hint: `run flannel-lab test first; results are kept in ${
          labDirFor(topo, values["lab-dir"])
        }/results.json`,
      });
    }
    only = rerunSelection(previous);
    if (!only.size) {
      println(`Nothing to rerun: every step passed in the previous run of ${topo.name}`);
      return 0;
    }
    println(
      `Rerunning steps ${
        [...only].sort((a, b) => a - b).join(", ")
      } (failed last time, with the waits and faults before them)`,
    );
  }
  needRoot();
  const runs: StoredRun[] = [];
  const junitRuns: JunitRun[] = [];
  let last: RunLabResult | undefined;
  for (let i = 1; i <= repeat; i++) {
    if (repeat > 1) println(`--- run ${i} of ${repeat}`);
    const startedAt = Date.now();
    last = await runLab(file, {
      ...(values.scenario ? { scenarioPath: values.scenario } : {}),
      runtime: values.runtime ?? "netns",
      ...(values["lab-dir"] ? { labDirBase: values["lab-dir"] } : {}),
      ...(values.name ? { name: values.name } : {}),
      ...(agent ? { agent } : {}),
      ...(only ? { only } : {}),
      progress: consoleProgress(),
      log: (l) => println(`      ${l}`),
      keep: (values.keep ?? false) && i === repeat,
    });
    runs.push({
      run: i,
      ok: last.ok,
      startedAt,
      timings: last.timings,
      steps: storeSteps(last.results, last.labDir),
    });
    junitRuns.push({ results: last.results, totalMs: last.timings["totalMs"] ?? 0 });
    println("");
    println(summaryTable(last.results));
  }
  const r = last!;
  const stored = storedResults(r, runs, values.runtime ?? "netns");
  await writeResults(stored);
  const html = values.html ?? `${r.labDir}/report.html`;
  await Deno.writeTextFile(html, htmlReport(stored));
  if (repeat > 1) {
    const okRuns = runs.filter((x) => x.ok).length;
    println(`\n${okRuns} of ${repeat} runs passed (${Math.round((okRuns / repeat) * 100)}%)`);
    for (const rate of stepRates(runs)) {
      if (rate.passed === rate.runs && !rate.passedAfterRetries) continue;
      println(
        `  step ${rate.index} ${rate.name}: ${rate.passed}/${rate.runs} passed${
          rate.passedAfterRetries ? `, ${rate.passedAfterRetries} of them after retries` : ""
        }${rate.skipped ? `, ${rate.skipped} skipped` : ""}`,
      );
    }
  }
  println(`lab directory (logs, pcaps, probes, results.json): ${r.labDir}`);
  println(`HTML report: ${html}`);
  if (values.junit) {
    await Deno.writeTextFile(values.junit, junitXml(r.topo.name, junitRuns));
    println(`JUnit report: ${values.junit}`);
  }
  return runs.every((x) => x.ok) ? 0 : 1;
}

const INSPECT = `Usage: flannel-lab inspect [-t TOPOLOGY.clab.yml [--name LAB] | --all] [-f table|json]

With a topology: its nodes, and when the cluster runs (after up or test --keep) its etcd, agents (pid, alive,
lease) and pods (addresses).`;

function renderTable(
  rows: {
    lab: string;
    node: string;
    longName: string;
    role: string;
    state: string;
    addresses: readonly string[];
  }[],
): string {
  const head = ["lab", "node", "namespace", "role", "state", "addresses"];
  const cells = rows.map((r) => [r.lab, r.node, r.longName, r.role, r.state, r.addresses.join(" ")]);
  return grid(head, cells);
}

function grid(head: string[], cells: string[][]): string {
  const w = head.map((h, i) => Math.max(h.length, ...cells.map((c) => (c[i] ?? "").length)));
  return [head, ...cells].map((c) => c.map((x, i) => (x ?? "").padEnd(w[i]!)).join("  ").trimEnd()).join(
    "\n",
  );
}

/** The cluster of a running lab as data: etcd, agents (pid, alive, lease) and pods. */
async function clusterView(topo: Topology, dir: string, runtime: string) {
  const rt = openRuntime(runtime);
  const c = await Cluster.attach({ runtime: rt, topo, labDir: dir });
  if (!c) return undefined;
  const etcd = c.etcdProcess;
  const agents = [];
  for (const n of c.agentNodes) {
    const p = c.agents.get(n.name);
    const env = await c.subnetEnv(n.name);
    agents.push({
      node: n.name,
      pid: p?.pid,
      alive: p ? await p.alive() : false,
      lease: env?.["FLANNEL_SUBNET"],
      mtu: env?.["FLANNEL_MTU"] ? Number(env["FLANNEL_MTU"]) : undefined,
      log: `${c.nodeDir(n.name)}/agent.log`,
    });
  }
  return {
    etcd: etcd
      ? { node: c.etcdNode.name, endpoint: c.endpoint, pid: etcd.pid, alive: await etcd.alive() }
      : undefined,
    agents,
    pods: c.pods.map((p) => ({ id: p.id, node: p.node, netns: p.netns, ip: p.ip })),
  };
}

async function describeCluster(topo: Topology, dir: string, runtime: string): Promise<string> {
  const rt = openRuntime(runtime);
  const out = [renderTable(await rt.inspect({ topology: topo }))];
  const v = await clusterView(topo, dir, runtime);
  if (!v) {
    return out.concat("", "cluster: not started (no state file; `up` starts etcd, agents and pods)").join(
      "\n",
    );
  }
  out.push(
    "",
    v.etcd
      ? `etcd: ${v.etcd.endpoint} on ${v.etcd.node}, pid ${v.etcd.pid} ${
        v.etcd.alive ? "alive" : "NOT RUNNING"
      }`
      : "etcd: stopped",
    "",
    grid(
      ["agent", "pid", "state", "lease", "mtu"],
      v.agents.map((
        a,
      ) => [
        a.node,
        a.pid ? String(a.pid) : "-",
        a.pid ? (a.alive ? "alive" : "dead") : "not started",
        a.lease ?? "-",
        a.mtu ? String(a.mtu) : "-",
      ]),
    ),
    "",
    v.pods.length
      ? grid(["pod", "node", "namespace", "address"], v.pods.map((p) => [p.id, p.node, p.netns, p.ip]))
      : "pods: none",
  );
  return out.join("\n");
}

/** `inspect`. */
export async function inspectMain(args: string[]): Promise<number> {
  const { values, positionals } = parse(INSPECT, args, {
    ...COMMON,
    all: { type: "boolean", short: "a" },
    format: { type: "string", short: "f", default: "table" },
  });
  if (values.help) return (println(INSPECT), 0);
  needRoot();
  if (values.format !== "json" && values.format !== "table") {
    throw new UsageError(`Unknown format "${values.format}"`, { hint: "use table or json" });
  }
  const file = topoArg(INSPECT, values, positionals, true);
  if (file && !values.all) {
    const topo = await topology(file, values.name);
    const dir = labDirFor(topo, values["lab-dir"]);
    const runtime = await runtimeFor(values.runtime, dir);
    const rt = openRuntime(runtime);
    if (values.format === "json") {
      const nodes = await rt.inspect({ topology: topo });
      println(
        JSON.stringify(
          { [topo.name]: { nodes, cluster: await clusterView(topo, dir, runtime) ?? null } },
          null,
          2,
        ),
      );
    } else {
      println(await describeCluster(topo, dir, runtime));
    }
    return 0;
  }
  const rows = await openRuntime(values.runtime ?? "netns").inspect({ all: true });
  if (values.format === "json") {
    const grouped: Record<string, unknown[]> = {};
    for (const r of rows) (grouped[r.lab] ??= []).push(r);
    println(JSON.stringify(grouped, null, 2));
  } else {
    println(rows.length ? renderTable(rows) : "no labs are running");
  }
  return 0;
}

const EXEC = `Usage: flannel-lab exec [-t] TOPOLOGY.clab.yml [--name LAB] NODE|NODE/POD -- COMMAND [ARGS…]

Runs a command inside a node (or a pod, node/pN, of a lab that is up), like containerlab exec.`;

/** `exec NODE -- CMD`. */
export async function execMain(args: string[]): Promise<number> {
  const dash = args.indexOf("--");
  if (dash < 0) throw new UsageError("exec needs -- before the command", { hint: EXEC });
  const { values, positionals } = parse(EXEC, args.slice(0, dash), COMMON);
  const command = args.slice(dash + 1);
  const file = values.topo ?? positionals.shift();
  const node = positionals[0];
  if (!file || !node || !command.length) {
    throw new UsageError("exec needs a topology, a node and a command", { hint: EXEC });
  }
  needRoot();
  const topo = await topology(file, values.name);
  const rt = openRuntime(await runtimeFor(values.runtime, labDirFor(topo, values["lab-dir"])));
  let target = node;
  let argv = command;
  if (node.includes("/")) {
    const c = await Cluster.attach({ runtime: rt, topo, labDir: labDirFor(topo, values["lab-dir"]) });
    const pod = c?.pods.find((p) => p.id === node);
    if (!pod) {
      throw new UserError(`Pod "${node}" is not running`, {
        hint: c
          ? `pods: ${c.pods.map((p) => p.id).join(", ") || "none"}`
          : "bring the lab up first: flannel-lab up",
      });
    }
    target = pod.node;
    argv = ["ip", "netns", "exec", pod.netns, ...command];
  }
  const r = await rt.exec(topo, target, argv, { check: false });
  if (r.stdout) Deno.stdout.writeSync(new TextEncoder().encode(r.stdout));
  if (r.stderr) Deno.stderr.writeSync(new TextEncoder().encode(r.stderr));
  return r.code;
}

/** `doctor`: what this host can run. */
export async function doctorMain(args: string[]): Promise<number> {
  if (args.includes("-h") || args.includes("--help")) return (println("Usage: flannel-lab doctor"), 0);
  const checks: [string, boolean, string][] = [];
  const has = async (cmd: string[]) =>
    (await run(cmd, { check: false, timeoutMs: 10_000 }).catch(() => ({ code: 127 }))).code === 0;
  checks.push(["root", Deno.uid() === 0, Deno.uid() === 0 ? "running as root" : "labs need root"]);
  for (const tool of ["ip", "tc", "etcd", "etcdctl", "tcpdump", "iperf3", "ping"]) {
    const ok = await has(["sh", "-c", `command -v ${tool}`]);
    checks.push([`tool ${tool}`, ok, ok ? "found" : "missing: apt-get install it"]);
  }
  for (const p of ["bridge", "host-local"]) {
    const ok = (await Deno.stat(`/usr/lib/cni/${p}`).catch(() => undefined)) !== undefined;
    checks.push([
      `cni ${p}`,
      ok,
      ok ? `/usr/lib/cni/${p}` : "missing: apt-get install containernetworking-plugins",
    ]);
  }
  const tun = (await Deno.stat("/dev/net/tun").catch(() => undefined)) !== undefined;
  checks.push([
    "tun",
    tun,
    tun ? "/dev/net/tun present (udp backend)" : "/dev/net/tun missing: the udp backend cannot run",
  ]);
  if (Deno.uid() === 0) {
    const ns = `fldoctor-${Deno.pid}`;
    const made = await has(["ip", "netns", "add", ns]);
    checks.push(["netns", made, made ? "namespaces can be created" : "ip netns add failed"]);
    if (made) {
      try {
        const kind = async (name: string, args: string[]) => {
          const ok = await has(["ip", "-n", ns, "link", "add", ...args]);
          checks.push([name, ok, ok ? "supported" : "not supported by this kernel"]);
        };
        await kind("veth", ["v0", "type", "veth", "peer", "name", "v1"]);
        await kind("bridge", ["b0", "type", "bridge"]);
        await kind("vxlan", ["x0", "type", "vxlan", "id", "1", "dstport", "8472", "nolearning"]);
        const inNs = (cmd: string[]) => has(["ip", "netns", "exec", ns, ...cmd]);
        const netem = await inNs(["tc", "qdisc", "add", "dev", "v0", "root", "netem", "delay", "1ms"]);
        const tbf = await inNs([
          "tc",
          "qdisc",
          "add",
          "dev",
          "v1",
          "root",
          "tbf",
          "rate",
          "1mbit",
          "burst",
          "32kbit",
          "latency",
          "400ms",
        ]);
        const loss = (await run(["ip", "netns", "exec", ns, "nft", "-f", "-"], {
          check: false,
          timeoutMs: 10_000,
          stdin: "add table ip flt\n" +
            "add chain ip flt post { type filter hook postrouting priority 0; }\n" +
            'add rule ip flt post oifname "v0" numgen random mod 100 < 10 drop\n',
        }).catch(() => ({ code: 1 }))).code === 0;
        checks.push([
          "impair loss",
          loss,
          loss
            ? "available: random-drop rule (nft numgen, like iptables statistic)"
            : "unavailable: nftables numgen missing",
        ]);
        checks.push([
          "impair rate",
          tbf,
          tbf ? "available: tbf qdisc" : "unavailable: the kernel has no tbf qdisc (CONFIG_NET_SCH_TBF)",
        ]);
        checks.push([
          "impair delay",
          netem,
          netem
            ? "available: netem qdisc (delay, jitter)"
            : "unavailable: the kernel has no netem qdisc (CONFIG_NET_SCH_NETEM): delay and jitter faults are refused",
        ]);
      } finally {
        await run(["ip", "netns", "del", ns], { check: false });
      }
    }
    const left = await ownedNamespaces();
    const labs = [...new Set(left.map((l) => l.lab))];
    checks.push([
      "leftovers",
      left.length === 0,
      left.length ? `${left.length} lab namespaces of ${labs.join(", ")}: flannel-lab down --all` : "none",
    ]);
  }
  // The upstream test tools (containerlab runtime, upstream agents): a stale build is a warning, a missing or
  // broken one fails only what needs it, so it is reported with the command that installs it.
  const { toolStatus } = await import("./upstream/mod.ts");
  for (const t of await toolStatus()) {
    const ok = t.state === "present";
    const detail = ok ? `${t.version ?? ""} ${t.path ?? ""}`.trim() : `${t.state}: ${t.detail}; ${t.fix}`;
    checks.push([`upstream ${t.tool}`, ok, detail]);
  }
  for (const [name, ok, what] of checks) {
    const soft = name.startsWith("impair") || name.startsWith("upstream");
    println(`${ok ? "ok  " : soft ? "warn" : "FAIL"}  ${name.padEnd(22)} ${what}`);
  }
  const bad = checks.filter(([n, ok]) =>
    !ok && !n.startsWith("impair") && !n.startsWith("upstream") && n !== "leftovers"
  );
  if (bad.length) eprintln(`${bad.length} checks failed`);
  return bad.length ? 1 : 0;
}
