/**
 * Pod-to-pod probes around a fault: the background probe (a 20 ms `ping -D -O` whose log
 * `checks/probe_log.ts` judges by send time) and the recovery sweep (every reachable node pair answers again).
 *
 * @module
 */
import type { Pod } from "../cluster.ts";
import type { Process } from "../../cli/process/mod.ts";
import { parsePingLog, type ProbeSample } from "../checks/probe_log.ts";
import { Failed, sleep } from "./failed.ts";
import type { LabView } from "./lab_view.ts";
import type { Fault, Step } from "./model.ts";

/** The background probe's ping interval. */
export const PROBE_INTERVAL_MS = 20;

/** A running background probe. */
export interface Probe {
  /** Its log in the lab directory (kept as an artifact). */
  readonly file: string;
  readonly proc: Process;
  readonly pair: readonly [Pod, Pod];
}

/**
 * The pod pair the background probe uses for a fault: one that crosses the faulted node or link, and never one
 * whose node loses its lease.
 */
export function probePair(lab: LabView, f: Fault): [Pod, Pod] | undefined {
  const removed = f.kind === "lease-delete" ? f.node : undefined;
  const usable = lab.reachablePairs().filter(([a, b]) => a.node !== removed && b.node !== removed);
  if (f.kind === "delete" && f.peer) {
    return usable.find(([a, b]) => a.node === f.node && b.node === f.peer) ?? usable[0];
  }
  const focus = "node" in f ? f.node : undefined;
  return usable.find(([a, b]) => a.node !== focus && b.node === focus) ??
    usable.find(([a]) => a.node === focus) ?? usable[0];
}

/** Starts a timestamped ping every {@linkcode PROBE_INTERVAL_MS} from one pod to another, logged to a file. */
export async function startProbe(lab: LabView, step: Step, pair: [Pod, Pod]): Promise<Probe> {
  const c = lab.cluster;
  const [a, b] = pair;
  await Deno.mkdir(`${c.labDir}/probes`, { recursive: true });
  const file = `${c.labDir}/probes/step${step.index}-${a.id.replace("/", "_")}-${b.id.replace("/", "_")}.log`;
  await Deno.remove(file).catch(() => {});
  const interval = String(PROBE_INTERVAL_MS / 1000);
  const proc = await c.runtime.spawn(c.topo, a.node, [
    ...["ip", "netns", "exec", a.netns],
    ...["ping", "-D", "-O", "-n", "-i", interval, "-W", "1", b.ip],
  ], { logFile: file, graceMs: 1000 });
  return { file, proc, pair };
}

/** The probe's samples so far. */
export async function probeSamples(probe: Probe): Promise<ProbeSample[]> {
  return parsePingLog(await Deno.readTextFile(probe.file).catch(() => ""), PROBE_INTERVAL_MS);
}

/**
 * Pings from a pod of each running node to a pod of every other node it must reach (only pairs touching `node`
 * when given) until all answer; returns how long that took, or fails naming the pairs still silent.
 */
export async function untilAllAnswer(
  lab: LabView,
  node: string | undefined,
  deadlineMs: number,
): Promise<number> {
  const started = performance.now();
  const running = lab.cluster.pods.filter((p) => lab.cluster.agentRunning(p.node));
  const pairs: [Pod, Pod][] = [];
  for (const [a, b] of lab.reachablePairs(running)) {
    if (node && a.node !== node && b.node !== node) continue;
    if (!pairs.some(([x, y]) => x.node === a.node && y.node === b.node)) pairs.push([a, b]);
  }
  const pending = new Set(pairs);
  while (pending.size) {
    for (const p of [...pending]) {
      if ((await lab.ping({ from: p[0].id, to: p[1].id, count: 1, dontFragment: false })).ok) {
        pending.delete(p);
      }
    }
    if (!pending.size) break;
    if (performance.now() - started > deadlineMs) {
      throw new Failed(
        `not recovered within ${deadlineMs} ms: ${
          [...pending].map(([a, b]) => `${a.id} -> ${b.id}`).join(", ")
        }`,
      );
    }
    await sleep(200);
  }
  return Math.round(performance.now() - started);
}
