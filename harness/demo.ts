/**
 * `flannel-lab demo`: a built-in lab (etcd and N agents on one switch, one pod per node, in throwaway network
 * namespaces) stood up the way `test` stands up any topology file; shows the leases in etcd, each node's
 * subnet.env, the kernel state the agent programmed and a pod-to-pod ping, then removes everything (also on
 * Ctrl-C or failure).
 *
 * @module
 */
import { parseArgs } from "node:util";
import { UsageError, UserError } from "../cli/errors.ts";
import { println } from "../cli/output.ts";
import { generateScaleLab } from "./generate.ts";
import { Lab, planLab } from "./lab/mod.ts";
import { BACKEND_TYPES, type BackendType } from "../agent/config/mod.ts";

const USAGE = `Usage: flannel-lab demo [--backend vxlan|host-gw|udp] [--nodes N] [--keep-logs DIR]

Starts etcd and N agents (default 2, at most 50) in throwaway network namespaces on one switch, attaches a pod
to each node through the flannel CNI plugin, waits until every agent holds a lease, prints the leases as
stored in etcd, each node's subnet.env and the kernel state, pings from one pod to another, and cleans up.
The lab is a generated containerlab topology (flannel-lab generate --subnets 1), run by the netns runtime.`;

function parse(args: string[]) {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      options: {
        backend: { type: "string", default: "vxlan" },
        nodes: { type: "string", default: "2" },
        "keep-logs": { type: "string" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
    });
  } catch (error) {
    throw new UsageError((error as Error).message, { hint: USAGE });
  }
  const backend = parsed.values.backend;
  if (!(BACKEND_TYPES as readonly string[]).includes(backend)) {
    throw new UsageError(`Unknown backend "${backend}"`, {
      hint: `choose ${BACKEND_TYPES.slice(0, -1).join(", ")} or ${BACKEND_TYPES.at(-1)}`,
    });
  }
  const nodes = Number(parsed.values.nodes);
  if (!Number.isInteger(nodes) || nodes < 2 || nodes > 50) {
    throw new UsageError(`--nodes must be a whole number from 2 to 50, not "${parsed.values.nodes}"`);
  }
  return {
    help: parsed.values.help ?? false,
    backend: backend as BackendType,
    nodes,
    keepLogs: parsed.values["keep-logs"],
  };
}

/** Runs the demo; resolves with the exit code. */
export async function main(args: string[]): Promise<number> {
  const o = parse(args);
  if (o.help) return (println(USAGE), 0);
  if (Deno.uid() !== 0) {
    throw new UserError("The demo creates network namespaces and needs root", { hint: "run it as root" });
  }
  const dir = await Deno.makeTempDir({ prefix: "flannel-lab-demo-" });
  try {
    const name = `demo-${Deno.pid}`;
    const files = generateScaleLab({ nodes: o.nodes, subnets: 1, backend: o.backend, pods: 1, name });
    await Deno.writeTextFile(`${dir}/${name}.clab.yml`, files.topology);
    await Deno.writeTextFile(`${dir}/${name}.scenario.yml`, files.scenario);
    const plan = await planLab(`${dir}/${name}.clab.yml`, { labDirBase: dir });
    println(`Starting etcd and ${o.nodes} nodes (network config ${plan.scenario.network})`);
    const started = performance.now();
    await using lab = await Lab.deploy(plan);
    const cluster = await lab.startCluster();
    println(`Started ${o.nodes} agents; waiting for their leases…`);
    await lab.waitAgentsReady(30_000);
    println(
      `\nAll ${o.nodes} agents hold leases after ${((performance.now() - started) / 1000).toFixed(1)} s.\n`,
    );
    println(`Leases in etcd (${cluster.etcdPrefix}/subnets/):`);
    for (const l of await cluster.leases()) {
      println(
        `  ${l.key}${l.ttl ? ` (TTL ${l.ttl} s)` : ""}\n    PublicIP ${l.publicIp}${
          l.attrs.backendType ? `, BackendType ${l.attrs.backendType}` : ""
        }${l.attrs.backendData === undefined ? "" : `, BackendData ${JSON.stringify(l.attrs.backendData)}`}`,
      );
    }
    for (const n of cluster.agentNodes) {
      println(`\n${n.name} (${n.addresses["eth1"]?.join(", ")}) subnet.env:`);
      for (const [k, v] of Object.entries(await cluster.subnetEnv(n.name) ?? {})) println(`  ${k}=${v}`);
    }
    println(`\nAttaching one pod per node through the flannel CNI plugin…`);
    await lab.addPods();
    for (const p of cluster.pods) println(`  ${p.node}: pod ${p.ip} (eth0 on cni0)`);
    const first = cluster.agentNodes[0]!.name;
    const show = async (argv: string[]) => {
      const r = await lab.runtime.exec(plan.topo, first, argv, { check: false });
      println(`  $ ${argv.join(" ")}`);
      for (const line of (r.stdout || r.stderr || "(nothing)").trimEnd().split("\n")) println(`    ${line}`);
    };
    const dev = o.backend === "vxlan" ? "flannel.1" : o.backend === "udp" ? "flannel0" : "eth1";
    println(`\nKernel state the agent programmed on ${first}:`);
    if (o.backend === "vxlan") {
      await show(["ip", "-d", "link", "show", "flannel.1"]);
      await show(["ip", "neigh", "show", "dev", "flannel.1"]);
      await show(["bridge", "fdb", "show", "dev", "flannel.1"]);
    }
    await show(["ip", "route", "show", "dev", dev]);
    const [a, b] = [cluster.pods[0]!, cluster.pods.find((p) => p.node !== cluster.pods[0]!.node)!];
    const ping = await lab.runtime.exec(plan.topo, a.node, [
      ...["ip", "netns", "exec", a.netns],
      ...["ping", "-c", "3", "-i", "0.2", "-W", "2", b.ip],
    ], { check: false });
    const summary = ping.stdout.split("\n").find((l) => l.includes("packets transmitted")) ?? ping.stderr;
    println(`\nPod ${a.ip} (${a.node}) → pod ${b.ip} (${b.node}): ${summary.trim()}`);
    if (o.keepLogs) {
      await Deno.mkdir(o.keepLogs, { recursive: true });
      for (const n of cluster.agentNodes) {
        await Deno.copyFile(`${cluster.nodeDir(n.name)}/agent.log`, `${o.keepLogs}/${n.name}.log`);
      }
      println(`\nAgent logs copied to ${o.keepLogs}`);
    }
    if (ping.code !== 0) {
      throw new UserError(`Pods on different nodes cannot reach each other over ${o.backend}`);
    }
    println("\nCleaning up: stopping agents and etcd, deleting the namespaces.");
    return 0;
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}
