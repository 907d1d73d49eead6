/**
 * `flannel-lab demo`: etcd and two agents in throwaway network namespaces; shows their leases in etcd and their
 * subnet.env files, then removes everything (also on Ctrl-C or failure).
 *
 * @module
 */
import { parseArgs } from "node:util";
import { installPlugin } from "../agent/cni/mod.ts";
import { UsageError, UserError } from "../cli/errors.ts";
import { println } from "../cli/output.ts";
import { etcdLeases, type MiniNode, readIfExists, startMiniLab, waitFor } from "./mini_lab.ts";
import { Netns } from "./netns.ts";
import { run } from "./process.ts";

/** A pod attached through our CNI plugin. */
interface DemoPod {
  readonly ns: Netns;
  readonly ip: string;
}

/** Attaches one pod to a node exactly as a container runtime would: our flannel plugin, run in the node. */
async function attachPod(node: MiniNode, cniBin: string): Promise<DemoPod> {
  const ns = await Netns.create(`${node.ns.name}-pod`);
  try {
    const netconf = JSON.stringify({
      cniVersion: "1.0.0",
      name: "demo",
      type: "flannel",
      subnetFile: `${node.dir}/subnet.env`,
      dataDir: `${node.dir}/cni`,
      ipam: { dataDir: `${node.dir}/ipam` },
    });
    const out = await run(["ip", "netns", "exec", node.ns.name, `${cniBin}/flannel`], {
      stdin: netconf,
      env: {
        CNI_COMMAND: "ADD",
        CNI_CONTAINERID: `demo-${node.name}`,
        CNI_NETNS: `/run/netns/${ns.name}`,
        CNI_IFNAME: "eth0",
        CNI_PATH: cniBin,
      },
      timeoutMs: 30_000,
    });
    const result = JSON.parse(out.stdout) as { ips?: { address: string }[] };
    const ip = result.ips?.[0]?.address.split("/")[0];
    if (!ip) throw new UserError(`The CNI plugin returned no address for ${node.name}: ${out.stdout}`);
    return { ns, ip };
  } catch (error) {
    await ns.delete();
    throw error;
  }
}

/** Prints a command's output inside a node, indented. */
async function show(node: MiniNode, title: string, args: string[]): Promise<void> {
  const out = await node.ns.ip(args, { check: false });
  println(`  $ ${title}`);
  for (const line of (out.stdout || out.stderr || "(nothing)").trimEnd().split("\n")) println(`    ${line}`);
}

const USAGE = `Usage: flannel-lab demo [--backend vxlan|host-gw|udp] [--nodes N] [--keep-logs DIR]

Starts etcd and N agents (default 2) in throwaway network namespaces joined by a switch, waits until every
agent holds a lease, prints the leases as stored in etcd and each node's subnet.env, and cleans up.`;

/** Runs the demo; resolves with the exit code. */
export async function main(args: string[]): Promise<number> {
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
  if (parsed.values.help) {
    println(USAGE);
    return 0;
  }
  const backend = parsed.values.backend;
  if (!["vxlan", "host-gw", "udp"].includes(backend)) {
    throw new UsageError(`Unknown backend "${backend}"`, { hint: "choose vxlan, host-gw or udp" });
  }
  const count = Number(parsed.values.nodes);
  if (!Number.isInteger(count) || count < 1 || count > 50) {
    throw new UsageError(`--nodes must be a whole number from 1 to 50, not "${parsed.values.nodes}"`);
  }
  if (Deno.uid() !== 0) {
    throw new UserError("The demo creates network namespaces and needs root", { hint: "run it as root" });
  }

  const config = JSON.stringify({ Network: "10.244.0.0/16", Backend: { Type: backend } });
  println(`Starting etcd and ${count} node namespaces (network config ${config})`);
  const started = performance.now();
  await using lab = await startMiniLab({
    prefix: `fldemo${Deno.pid % 10000}`,
    nodes: count,
    networkConfig: config,
  });
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  try {
    for (const node of lab.nodes) await lab.startAgent(node, ["--ip-masq"]);
    println(`Started ${count} agents; waiting for their leases…`);
    const envs = await Promise.all(lab.nodes.map((node) =>
      waitFor(`${node.name}'s subnet.env`, async () => {
        if (stop.signal.aborted) throw new Error("interrupted");
        return await readIfExists(`${node.dir}/subnet.env`);
      }, 30_000).catch(async (error) => {
        const log = await readIfExists(`${node.dir}/agent.log`) ?? "";
        throw new UserError(
          `${node.name}'s agent wrote no subnet.env: ${error.message}\n${log.slice(-3000)}`,
        );
      })
    ));
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    println(`\nAll ${count} agents hold leases after ${seconds} s.\n`);
    println(`Leases in etcd (${lab.etcdPrefix}/subnets/):`);
    for (const [key, value] of await etcdLeases(lab)) println(`  ${key}\n    ${value}`);
    for (const [i, node] of lab.nodes.entries()) {
      println(`\n${node.name} (${node.ip}) subnet.env:`);
      for (const line of envs[i]!.trimEnd().split("\n")) println(`  ${line}`);
    }
    const cniBin = `${lab.dir}/cni-bin`;
    await installPlugin({ dir: cniBin });
    for (const plugin of ["bridge", "host-local"]) {
      await Deno.symlink(`/usr/lib/cni/${plugin}`, `${cniBin}/${plugin}`);
    }
    println(`\nAttaching one pod per node through the flannel CNI plugin…`);
    const pods: DemoPod[] = [];
    try {
      for (const node of lab.nodes) {
        const pod = await attachPod(node, cniBin);
        pods.push(pod);
        println(`  ${node.name}: pod ${pod.ip} (eth0 on cni0)`);
      }
      const first = lab.nodes[0]!;
      const dev = backend === "vxlan" ? "flannel.1" : backend === "udp" ? "flannel0" : "eth1";
      println(`\nKernel state the agent programmed on ${first.name}:`);
      if (backend === "vxlan") {
        await show(first, "ip -d link show flannel.1", ["-d", "link", "show", "flannel.1"]);
        await show(first, "ip neigh show dev flannel.1", ["neigh", "show", "dev", "flannel.1"]);
        const fdb = await run([
          "ip",
          "netns",
          "exec",
          first.ns.name,
          "bridge",
          "fdb",
          "show",
          "dev",
          "flannel.1",
        ]);
        println("  $ bridge fdb show dev flannel.1");
        for (const line of fdb.stdout.trimEnd().split("\n")) println(`    ${line}`);
      }
      await show(first, `ip route show dev ${dev}`, ["route", "show", "dev", dev]);
      if (pods.length >= 2) {
        const [a, b] = [pods[0]!, pods[1]!];
        const ping = await a.ns.exec(["ping", "-c", "3", "-i", "0.2", "-W", "2", b.ip], { check: false });
        const summary = ping.stdout.split("\n").find((l) => l.includes("packets transmitted")) ?? ping.stderr;
        println(
          `\nPod ${a.ip} (${lab.nodes[0]!.name}) → pod ${b.ip} (${lab.nodes[1]!.name}): ${summary.trim()}`,
        );
        if (ping.code !== 0) {
          throw new UserError(`Pods on different nodes cannot reach each other over ${backend}`);
        }
      }
    } finally {
      await Promise.allSettled(pods.map((p) => p.ns.delete()));
    }
    if (parsed.values["keep-logs"]) {
      const dest = parsed.values["keep-logs"];
      await Deno.mkdir(dest, { recursive: true });
      for (const node of lab.nodes) await Deno.copyFile(`${node.dir}/agent.log`, `${dest}/${node.name}.log`);
      println(`\nAgent logs copied to ${dest}`);
    }
    println("\nCleaning up: stopping agents and etcd, deleting the namespaces.");
  } finally {
    Deno.removeSignalListener("SIGINT", onSignal);
    Deno.removeSignalListener("SIGTERM", onSignal);
  }
  return 0;
}
