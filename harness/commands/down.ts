/**
 * `flannel-lab down|destroy`: a lab's processes stopped and its namespaces removed.
 *
 * @module
 */
import { println } from "../../cli/output.ts";
import { downLab, labDirFor, planTopology } from "../lab/mod.ts";
import { openRuntime } from "../runtime/mod.ts";
import { COMMON, needRoot, parse, runtimeFor, topoArg } from "./args.ts";

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
  const topo = await planTopology(file, values.name ? { name: values.name } : {});
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
