/**
 * `flannel-lab trace TOPOLOGY FROM TO`: one probe followed through a lab that is up, printed hop by hop, and
 * drawn as an SVG sequence diagram in the lab directory.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { UsageError, UserError } from "../../cli/errors.ts";
import { println } from "../../cli/output.ts";
import { Cluster } from "../cluster.ts";
import { runtimeFor } from "../commands/mod.ts";
import { labDirFor, planTopology } from "../lab/mod.ts";
import { openRuntime } from "../runtime/mod.ts";
import { traceSvg, traceText } from "./render.ts";
import { traceProbe } from "./run.ts";
import { encapPorts, networkFields } from "../scenario/network.ts";

const USAGE =
  `Usage: flannel-lab trace [-t] TOPOLOGY.clab.yml FROM-POD TO-POD [--proto icmp|tcp|udp] [--size N]
                         [--dont-fragment] [--name LAB] [--lab-dir BASE] [--runtime netns|containerlab]

On a lab that is up (flannel-lab up), sends one marked probe from a pod to a pod (node/pN) while every
interface of every node and pod captures, and prints the interfaces that saw it in time order: pod veth, cni0,
the backend device, the underlay NICs, routers in between, and back; encapsulation with its outer addresses;
fragments; ICMP errors. Where the probe stopped it says why (the route the last namespace would take, the error
it sent, the link that split it and its MTU). The pcaps and an SVG sequence diagram go to
<lab dir>/traces/. Exit status 0 when the probe reached its pod and was answered, 1 otherwise.`;

/** `trace`. */
export async function main(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: {
      topo: { type: "string", short: "t" },
      proto: { type: "string" },
      size: { type: "string" },
      "dont-fragment": { type: "boolean" },
      name: { type: "string" },
      "lab-dir": { type: "string" },
      runtime: { type: "string", short: "r" },
      help: { type: "boolean", short: "h" },
    },
    allowPositionals: true,
    strict: true,
  });
  if (values.help) return (println(USAGE), 0);
  const file = values.topo ?? positionals.shift();
  const [from, to, ...extra] = positionals;
  if (!file || !from || !to || extra.length) {
    throw new UsageError("trace needs a topology, a source pod and a destination pod", { hint: USAGE });
  }
  const proto = values.proto ?? "icmp";
  if (proto !== "icmp" && proto !== "udp" && proto !== "tcp") {
    throw new UsageError(`--proto must be icmp, udp or tcp, not "${proto}"`, { hint: USAGE });
  }
  const size = values.size === undefined ? undefined : Number(values.size);
  if (size !== undefined && (!Number.isInteger(size) || size < 0 || size > 65000)) {
    throw new UsageError(`--size wants a number of payload bytes, not "${values.size}"`, { hint: USAGE });
  }
  if (Deno.uid() !== 0) throw new UserError("trace needs root (network namespaces, tcpdump)");
  const topo = await planTopology(file, values.name ? { name: values.name } : {});
  const labDir = labDirFor(topo, values["lab-dir"]);
  const runtime = openRuntime(await runtimeFor(values.runtime, labDir));
  const c = await Cluster.attach({ runtime, topo, labDir });
  if (!c || !c.pods.length) {
    throw new UserError(`Lab "${topo.name}" is not up`, { hint: `flannel-lab up ${file}, then trace again` });
  }
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  const dir = `${labDir}/traces/${stamp}`;
  const r = await traceProbe(c, from, to, {
    proto,
    ...(size !== undefined ? { size } : {}),
    dontFragment: values["dont-fragment"] ?? false,
    dir,
    ports: encapPorts(networkFields(JSON.parse(c.network))),
  });
  println(traceText(r));
  await Deno.writeTextFile(`${dir}/trace.svg`, traceSvg(r));
  await Deno.writeTextFile(`${dir}/trace.json`, JSON.stringify(r, null, 2) + "\n");
  println(`\npcaps, trace.json and trace.svg: ${dir}`);
  return r.trace.reached && r.trace.answered ? 0 : 1;
}
