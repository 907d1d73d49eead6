/**
 * `throughput`: iperf3 pod to pod against node to node, interleaved so that drift in the host's load hits both
 * series alike; the ratio must fall in the expected band.
 *
 * @module
 */
import { formatBand, formatSpread, inBand, round, spread } from "../../checks/stats.ts";
import { expectKeys } from "../expectations.ts";
import { Failed, sleep } from "../failed.ts";
import type { LabView } from "../lab_view.ts";
import type { Outcome, Step } from "../model.ts";
import type { ActionOf, StepKind, Tries } from "./_kind.ts";

/** `throughput: {from, to, seconds, repeats}` between pods, expecting a `ratio` to node-to-node. */
export const throughput: StepKind<"throughput"> = {
  parse(r, v, path, { podsPerNode }) {
    const t = r.obj(v, path, ["from", "to", "seconds", "repeats"], ["from", "to"]);
    const from = t ? r.endpoint(t["from"], [...path, "from"], podsPerNode, false) : undefined;
    const to = t ? r.endpoint(t["to"], [...path, "to"], podsPerNode, false) : undefined;
    const repeats = t?.["repeats"] === undefined ? 3 : r.int(t["repeats"], [...path, "repeats"], 1);
    const seconds = t?.["seconds"] === undefined ? 2 : r.int(t["seconds"], [...path, "seconds"], 1);
    return from && to && repeats !== undefined && seconds !== undefined
      ? { kind: "throughput", from, to, seconds, repeats }
      : undefined;
  },
  describe: (a) => `throughput ${a.from} -> ${a.to} (ratio to node-to-node)`,
  expect: expectKeys("ratio"),
  run,
};

function run(
  lab: LabView,
  action: ActionOf<"throughput">,
  step: Step,
  tries: Tries,
): Promise<Outcome> {
  return tries.once(async () => {
    const { from, to, seconds, repeats } = action;
    const c = lab.cluster;
    const server = c.pod(to);
    const client = c.pod(from);
    const podRuns: number[] = [];
    const nodeRuns: number[] = [];
    const log = `${c.labDir}/${server.node}/iperf3-server.log`;
    for (let i = 0; i < repeats; i++) {
      const underlay = { node: server.node, ip: lab.underlayIp(server.node) };
      nodeRuns.push(await iperf(lab, underlay, { node: client.node }, seconds, log));
      podRuns.push(
        await iperf(lab, { node: server.node, netns: server.netns, ip: server.ip }, client, seconds, log),
      );
    }
    const pod = spread(podRuns);
    const base = spread(nodeRuns);
    const ratio = round(pod.mean / base.mean, 3);
    const metrics = {
      podMbps: round(pod.mean, 1),
      podMbpsStdev: round(pod.stdev, 1),
      nodeMbps: round(base.mean, 1),
      nodeMbpsStdev: round(base.stdev, 1),
      ratio,
      repeats,
    };
    const details = [
      `pod-to-pod   ${from} -> ${to}: ${formatSpread(pod, "Mbit/s", 0)}`,
      `node-to-node ${client.node} -> ${server.node}: ${formatSpread(base, "Mbit/s", 0)}`,
    ];
    const band = step.expect.ratio;
    if (band && !inBand(ratio, band)) {
      throw new Failed(`throughput ratio ${ratio} is outside ${formatBand(band)}`, details, { metrics });
    }
    return {
      message: `pod-to-pod ${
        round(pod.mean, 0)
      } Mbit/s = ${ratio} × node-to-node (${repeats} repeats, ${seconds} s each; ${
        band ? `within ${formatBand(band)}` : "recorded, not asserted"
      })`,
      details,
      metrics,
    };
  });
}

/** Where iperf3 runs: a node, or a pod's namespace on it. */
interface Place {
  readonly node: string;
  readonly netns?: string;
}

/** iperf3 from a client to a server address; returns Mbit/s received. */
async function iperf(
  lab: LabView,
  server: Place & { readonly ip: string },
  client: Place,
  seconds: number,
  log: string,
): Promise<number> {
  const c = lab.cluster;
  const inNs = (x: Place, cmd: string[]) => x.netns ? ["ip", "netns", "exec", x.netns, ...cmd] : cmd;
  const srv = await c.runtime.spawn(c.topo, server.node, inNs(server, ["iperf3", "-s", "-1", "-p", "5201"]), {
    logFile: log,
    graceMs: 1000,
  });
  try {
    // The server takes a moment to listen: retry the client until it connects.
    let r = { code: 1, stdout: "", stderr: "" };
    for (let i = 0; i < 20 && r.code !== 0; i++) {
      await sleep(150);
      r = await c.runtime.exec(
        c.topo,
        client.node,
        inNs(client, ["iperf3", "-c", server.ip, "-p", "5201", "-t", String(seconds), "-J"]),
        { check: false, timeoutMs: (seconds + 15) * 1000 },
      );
    }
    if (r.code !== 0) throw new Failed(`iperf3 failed: ${(r.stderr || r.stdout).slice(-300)}`);
    const j = JSON.parse(r.stdout) as { end: { sum_received: { bits_per_second: number } } };
    return j.end.sum_received.bits_per_second / 1e6;
  } finally {
    await srv.stop();
  }
}
