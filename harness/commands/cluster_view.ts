/**
 * A lab as `inspect` and `up` print it: the runtime's nodes as a table, and the cluster (etcd, agents with pid,
 * state, lease and MTU, pods with their addresses) from the lab's state file.
 *
 * @module
 */
import { Cluster } from "../cluster.ts";
import { openRuntime } from "../runtime/mod.ts";
import type { Topology } from "../topology/model.ts";

/** The runtime's nodes as a table. */
export function renderTable(
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

/** Columns padded to their widest cell. */
export function grid(head: string[], cells: string[][]): string {
  const w = head.map((h, i) => Math.max(h.length, ...cells.map((c) => (c[i] ?? "").length)));
  return [head, ...cells].map((c) => c.map((x, i) => (x ?? "").padEnd(w[i]!)).join("  ").trimEnd()).join(
    "\n",
  );
}

/** A running lab's cluster, as `inspect -f json` prints it. */
export interface ClusterView {
  readonly etcd?: { node: string; endpoint: string; pid: number; alive: boolean } | undefined;
  readonly agents: {
    node: string;
    pid: number | undefined;
    alive: boolean;
    lease: string | undefined;
    mtu: number | undefined;
    log: string;
  }[];
  readonly pods: { id: string; node: string; netns: string; ip: string }[];
}

/** The cluster of a running lab, from its state file; undefined when it was never started. */
export async function clusterView(
  topo: Topology,
  dir: string,
  runtime: string,
): Promise<ClusterView | undefined> {
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

/** The nodes and, when it runs, the cluster, as text. */
export async function describeCluster(topo: Topology, dir: string, runtime: string): Promise<string> {
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
