/**
 * `latency`: ping RTT percentiles pod to pod against node to node, interleaved; the p50 ratio must fall in the
 * expected band.
 *
 * @module
 */
import { formatBand, formatSpread, inBand, percentile, round, spread } from "../../checks/stats.ts";
import { expectKeys } from "../expectations.ts";
import { Failed } from "../failed.ts";
import type { LabView } from "../lab_view.ts";
import type { Outcome, Step } from "../model.ts";
import type { ActionOf, StepKind, Tries } from "./_kind.ts";

/** `latency: {from, to, count, repeats}` between pods, expecting a `ratio` to node-to-node. */
export const latency: StepKind<"latency"> = {
  parse(r, v, path, { podsPerNode }) {
    const t = r.obj(v, path, ["from", "to", "count", "repeats"], ["from", "to"]);
    const from = t ? r.endpoint(t["from"], [...path, "from"], podsPerNode, false) : undefined;
    const to = t ? r.endpoint(t["to"], [...path, "to"], podsPerNode, false) : undefined;
    const count = t?.["count"] === undefined ? 100 : r.int(t["count"], [...path, "count"], 10);
    const repeats = t?.["repeats"] === undefined ? 3 : r.int(t["repeats"], [...path, "repeats"], 1);
    return from && to && count !== undefined && repeats !== undefined
      ? { kind: "latency", from, to, count, repeats }
      : undefined;
  },
  describe: (a) => `latency ${a.from} -> ${a.to} (ratio to node-to-node)`,
  expect: expectKeys("ratio"),
  run,
};

function run(
  lab: LabView,
  action: ActionOf<"latency">,
  step: Step,
  tries: Tries,
): Promise<Outcome> {
  return tries.once(async () => {
    const { from, to, count, repeats } = action;
    const e = step.expect;
    const a = lab.cluster.pod(from);
    const b = lab.cluster.pod(to);
    const pod = { p50: [] as number[], p99: [] as number[] };
    const node = { p50: [] as number[], p99: [] as number[] };
    for (let i = 0; i < repeats; i++) {
      const n = await pingRtts(lab, { node: a.node }, lab.underlayIp(b.node), count);
      const p = await pingRtts(lab, a, b.ip, count);
      if (!n.length || !p.length) {
        throw new Failed(
          `no latency to measure: ${from} -> ${to} got ${p.length} of ${count} ping answers, ` +
            `${a.node} -> ${b.node} got ${n.length} of ${count}`,
        );
      }
      node.p50.push(percentile(n, 50));
      node.p99.push(percentile(n, 99));
      pod.p50.push(percentile(p, 50));
      pod.p99.push(percentile(p, 99));
    }
    const s = {
      pod50: spread(pod.p50),
      pod99: spread(pod.p99),
      node50: spread(node.p50),
      node99: spread(node.p99),
    };
    const r50 = round(s.pod50.mean / s.node50.mean, 3);
    const r99 = round(s.pod99.mean / s.node99.mean, 3);
    const metrics = {
      podP50Ms: round(s.pod50.mean, 3),
      podP99Ms: round(s.pod99.mean, 3),
      nodeP50Ms: round(s.node50.mean, 3),
      nodeP99Ms: round(s.node99.mean, 3),
      ratioP50: r50,
      ratioP99: r99,
      repeats,
    };
    const details = [
      `pod-to-pod   ${from} -> ${to}: p50 ${formatSpread(s.pod50, "ms", 3)}; p99 ${
        formatSpread(s.pod99, "ms", 3)
      }`,
      `node-to-node ${a.node} -> ${b.node}: p50 ${formatSpread(s.node50, "ms", 3)}; p99 ${
        formatSpread(s.node99, "ms", 3)
      }`,
      `${count} pings per repeat at 10 ms intervals`,
    ];
    if (e.ratio && !inBand(r50, e.ratio)) {
      throw new Failed(`p50 latency ratio ${r50} is outside ${formatBand(e.ratio)}`, details, { metrics });
    }
    return {
      message: `pod-to-pod p50 ${round(s.pod50.mean, 3)} ms = ${r50} × node-to-node, p99 ${
        round(s.pod99.mean, 3)
      } ms = ${r99} × (${repeats} repeats; ${
        e.ratio ? `p50 ratio within ${formatBand(e.ratio)}` : "recorded, not asserted"
      })`,
      details,
      metrics,
    };
  });
}

/** RTTs of `count` pings at 10 ms intervals from a node or pod to an address. */
async function pingRtts(
  lab: LabView,
  from: { readonly node: string; readonly netns?: string },
  ip: string,
  count: number,
): Promise<number[]> {
  const c = lab.cluster;
  const cmd = ["ping", "-n", "-c", String(count), "-i", "0.01", "-W", "1", ip];
  const r = await c.runtime.exec(
    c.topo,
    from.node,
    from.netns ? ["ip", "netns", "exec", from.netns, ...cmd] : cmd,
    {
      check: false,
      timeoutMs: 60_000,
    },
  );
  return [...r.stdout.matchAll(/time=([\d.]+) ms/g)].map((m) => Number(m[1]));
}
