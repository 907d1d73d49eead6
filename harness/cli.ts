/**
 * The harness commands: `up|deploy`, `down|destroy`, `test`, `inspect`, `exec NODE -- CMD`, `doctor`. Topology
 * files are given positionally or with `-t/--topo`, as containerlab users type them.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { UsageError, UserError } from "../cli/errors.ts";
import { eprintln, println } from "../cli/output.ts";
import { describePlan, loadLab, runLab } from "./lab.ts";
import { run } from "./process.ts";
import { consoleProgress, junitXml, summaryTable } from "./report/mod.ts";
import { openRuntime, ownedNamespaces } from "./runtime/mod.ts";
import { labDir, readTopology } from "./topology/mod.ts";

const COMMON = {
  topo: { type: "string", short: "t" },
  runtime: { type: "string", short: "r", default: "netns" },
  "lab-dir": { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

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

function needRoot(): void {
  if (Deno.uid() !== 0) {
    throw new UserError("Labs create network namespaces and need root", { hint: "run as root" });
  }
}

const UP = `Usage: flannel-lab up|deploy [-t] TOPOLOGY.clab.yml [--runtime netns] [--lab-dir BASE]

Creates the lab's nodes and links (idempotent: a lab that exists is completed, not recreated) and runs the nodes'
exec lines. etcd, agents and pods are started by \`test\`.`;

/** `up` / `deploy`. */
export async function upMain(args: string[]): Promise<number> {
  const { values, positionals } = parse(UP, args, COMMON);
  if (values.help) return (println(UP), 0);
  const topo = await readTopology(topoArg(UP, values, positionals)!);
  needRoot();
  const rt = openRuntime(values.runtime);
  const dir = labDir(topo, values["lab-dir"] ?? Deno.env.get("CLAB_LABDIR_BASE"));
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

const DOWN = `Usage: flannel-lab down|destroy [-t] TOPOLOGY.clab.yml | --name LAB | --all [--cleanup]

Removes a lab's namespaces (and what a crashed run left of it, found by ownership marker). --cleanup also removes
the lab directory.`;

/** `down` / `destroy`. */
export async function downMain(args: string[]): Promise<number> {
  const { values, positionals } = parse(DOWN, args, {
    ...COMMON,
    all: { type: "boolean", short: "a" },
    name: { type: "string" },
    cleanup: { type: "boolean", short: "c" },
  });
  if (values.help) return (println(DOWN), 0);
  needRoot();
  const rt = openRuntime(values.runtime);
  const file = topoArg(DOWN, values, positionals, values.all || values.name !== undefined);
  const topo = file ? await readTopology(file) : undefined;
  const r = await rt.destroy(values.all ? { all: true } : topo ? { topology: topo } : { lab: values.name! });
  if (topo && values.cleanup) {
    await Deno.remove(labDir(topo, values["lab-dir"] ?? Deno.env.get("CLAB_LABDIR_BASE")), {
      recursive: true,
    }).catch(() => {});
  }
  println(
    `Removed ${r.removed.length} namespaces in ${r.durationMs} ms${
      r.removed.length ? `: ${r.removed.join(", ")}` : ""
    }`,
  );
  return 0;
}

const TEST =
  `Usage: flannel-lab test [-t] TOPOLOGY.clab.yml [--scenario FILE] [--junit FILE] [--dry-run] [--keep]
                        [--runtime netns] [--lab-dir BASE]

Deploys the lab, starts etcd, agents and pods, runs the scenario (default: <name>.scenario.yml beside the
topology), prints a summary, and removes everything. Exit code 0 only when every step held.`;

/** `test`. */
export async function testMain(args: string[]): Promise<number> {
  const { values, positionals } = parse(TEST, args, {
    ...COMMON,
    scenario: { type: "string", short: "s" },
    junit: { type: "string" },
    "dry-run": { type: "boolean" },
    keep: { type: "boolean" },
  });
  if (values.help) return (println(TEST), 0);
  const file = topoArg(TEST, values, positionals)!;
  if (values["dry-run"]) {
    const { topo, scenario } = await loadLab(file, values.scenario);
    println(
      describePlan(topo, scenario, labDir(topo, values["lab-dir"] ?? Deno.env.get("CLAB_LABDIR_BASE"))),
    );
    return 0;
  }
  needRoot();
  const result = await runLab(file, {
    ...(values.scenario ? { scenarioPath: values.scenario } : {}),
    runtime: values.runtime,
    ...(values["lab-dir"] ? { labDirBase: values["lab-dir"] } : {}),
    progress: consoleProgress(),
    log: (l) => println(`      ${l}`),
    keep: values.keep ?? false,
  });
  println("");
  println(summaryTable(result.results));
  println(`lab directory (logs, pcaps): ${result.labDir}`);
  if (values.junit) {
    await Deno.writeTextFile(
      values.junit,
      junitXml(result.topo.name, result.results, result.timings["totalMs"] ?? 0),
    );
    println(`JUnit report: ${values.junit}`);
  }
  return result.ok ? 0 : 1;
}

const INSPECT = `Usage: flannel-lab inspect [-t TOPOLOGY.clab.yml | --all] [-f table|json]`;

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
  const w = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  return [head, ...cells].map((c) => c.map((x, i) => x.padEnd(w[i]!)).join("  ").trimEnd()).join("\n");
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
  const rt = openRuntime(values.runtime);
  const file = topoArg(INSPECT, values, positionals, true);
  const rows = await rt.inspect(file && !values.all ? { topology: await readTopology(file) } : { all: true });
  if (values.format === "json") {
    const grouped: Record<string, unknown[]> = {};
    for (const r of rows) (grouped[r.lab] ??= []).push(r);
    println(JSON.stringify(grouped, null, 2));
  } else if (values.format === "table") {
    println(rows.length ? renderTable(rows) : "no labs are running");
  } else {
    throw new UsageError(`Unknown format "${values.format}"`, { hint: "use table or json" });
  }
  return 0;
}

const EXEC = `Usage: flannel-lab exec [-t] TOPOLOGY.clab.yml NODE -- COMMAND [ARGS…]`;

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
  const topo = await readTopology(file);
  const r = await openRuntime(values.runtime).exec(topo, node, command, { check: false });
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
        const netem = await has([
          "ip",
          "netns",
          "exec",
          ns,
          "tc",
          "qdisc",
          "add",
          "dev",
          "v0",
          "root",
          "netem",
          "delay",
          "1ms",
        ]);
        checks.push([
          "netem",
          netem,
          netem ? "supported" : "sch_netem missing: netem faults (delay/loss) cannot run",
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
  for (const [name, ok, what] of checks) println(`${ok ? "ok  " : "FAIL"}  ${name.padEnd(16)} ${what}`);
  const bad = checks.filter(([n, ok]) => !ok && n !== "netem" && n !== "leftovers");
  if (bad.length) eprintln(`${bad.length} checks failed`);
  return bad.length ? 1 : 0;
}
