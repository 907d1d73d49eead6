/**
 * `flannel-lab up|deploy`: a lab deployed and its cluster started, left running.
 *
 * @module
 */
import { println } from "../../cli/output.ts";
import { labDirFor, planLab, planTopology, upLab } from "../lab/mod.ts";
import { openRuntime } from "../runtime/mod.ts";
import { agentArg, COMMON, needRoot, parse, topoArg } from "./args.ts";
import { describeCluster, renderTable } from "./cluster_view.ts";

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
  const topo = await planTopology(file, values.name ? { name: values.name } : {});
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
  const plan = await planLab(file, {
    ...(values.scenario ? { scenarioPath: values.scenario } : {}),
    ...(values.name ? { name: values.name } : {}),
    ...(agent ? { agent } : {}),
    ...(values["lab-dir"] ? { labDirBase: values["lab-dir"] } : {}),
    runtime,
  });
  const up = await upLab(plan, { log: (l) => println(l) });
  println(await describeCluster(up.topo, dir, runtime));
  println(`lab directory (logs, state): ${up.labDir}`);
  return 0;
}
