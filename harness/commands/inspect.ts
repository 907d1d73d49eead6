/**
 * `flannel-lab inspect`: one lab's nodes and cluster, or every lab that runs.
 *
 * @module
 */
import { UsageError } from "../../cli/errors.ts";
import { println } from "../../cli/output.ts";
import { labDirFor, planTopology } from "../lab/mod.ts";
import { openRuntime } from "../runtime/mod.ts";
import { COMMON, needRoot, parse, runtimeFor, topoArg } from "./args.ts";
import { clusterView, describeCluster, renderTable } from "./cluster_view.ts";

const INSPECT = `Usage: flannel-lab inspect [-t TOPOLOGY.clab.yml [--name LAB] | --all] [-f table|json]

With a topology: its nodes, and when the cluster runs (after up or test --keep) its etcd, agents (pid, alive,
lease) and pods (addresses).`;

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
    const topo = await planTopology(file, values.name ? { name: values.name } : {});
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
