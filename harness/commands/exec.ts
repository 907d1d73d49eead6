/**
 * `flannel-lab exec NODE -- CMD`: a command inside a node or a pod, like containerlab exec.
 *
 * @module
 */
import { UsageError, UserError } from "../../cli/errors.ts";
import { Cluster } from "../cluster.ts";
import { labDirFor, planTopology } from "../lab/mod.ts";
import { openRuntime } from "../runtime/mod.ts";
import { COMMON, needRoot, parse, runtimeFor } from "./args.ts";

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
  const topo = await planTopology(file, values.name ? { name: values.name } : {});
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
