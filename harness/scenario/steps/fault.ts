/**
 * `fault`: injects a fault (`faults/`), reverts it after its window, and judges what the scenario expects of
 * the lab around it: the background probe's loss and longest outage by send time, recovery of every node
 * pair, a deleted kernel entry put back, a node's entries gone from its peers, a restarted agent keeping its
 * subnet and VTEP MAC. Its own clock: tried once, with the step's whole timeout for the lab to recover.
 *
 * @module
 */
import { diffEmpty, type Entry, formatDiff, type StateDiff } from "../../checks/kernel_state.ts";
import { type ProbeSample, probeWindow, recoveredAt, withinBound } from "../../checks/probe_log.ts";
import { type ExpectKey, inKeyOrder, readExpect } from "../expectations.ts";
import { Failed, sleep } from "../failed.ts";
import {
  describeFault,
  faultExpectKeys,
  faultKinds,
  faultWhat,
  injectFault,
  revertFault,
} from "../faults/mod.ts";
import { comesBack } from "../faults/agent.ts";
import { parseFault } from "../faults/parse.ts";
import { readKernelDiff, readKernelState } from "../kernel_readings.ts";
import type { LabView, NodeLease } from "../lab_view.ts";
import type { Expect, Fault, Outcome, Step, TimelineEvent } from "../model.ts";
import {
  type Probe,
  PROBE_INTERVAL_MS,
  probePair,
  probeSamples,
  startProbe,
  untilAllAnswer,
} from "../probe.ts";
import type { Obj } from "../reader.ts";
import type { ActionOf, StepKind, Tries } from "./_kind.ts";

/** What one fault step collects as it goes, and how it fails with all of that attached. */
class FaultLog {
  readonly timeline: TimelineEvent[] = [];
  readonly metrics: { [name: string]: number } = {};
  readonly details: string[] = [];
  readonly artifacts: string[] = [];
  readonly messages: string[] = [];
  /** The background probe's samples, for the report's picture of the fault. */
  probe: { t: number; rttMs?: number }[] = [];

  mark = (what: string): void => {
    this.timeline.push({ t: Date.now(), what });
  };

  fail(message: string, more: readonly string[] = []): Failed {
    const { timeline, metrics, artifacts } = this;
    return new Failed(message, [...this.details, ...more], {
      timeline,
      metrics,
      artifacts,
      figures: this.figures,
    });
  }

  get figures(): { probe?: { t: number; rttMs?: number }[] } {
    return this.probe.length ? { probe: this.probe } : {};
  }

  outcome(): Outcome {
    const { details, metrics, timeline, artifacts, figures } = this;
    return {
      message: this.messages.filter(Boolean).join("; "),
      details,
      metrics,
      timeline,
      artifacts,
      figures,
    };
  }
}

/** The node whose agent or lease a fault is about (link and impairment faults are about an interface). */
function subjectNode(f: Fault): string | undefined {
  return f.kind === "agent" || f.kind === "lease-delete" || f.kind === "delete" ? f.node : undefined;
}

/** Whether a fault leaves the node's agent running again afterwards, as a new process. */
function agentComesBack(f: Fault): f is Extract<Fault, { kind: "agent" }> {
  return f.kind === "agent" && comesBack(f);
}

/** Every expectation key some fault kind takes: what a fault step's `expect:` may name at all. */
function anyFaultExpectKeys(): ExpectKey[] {
  return inKeyOrder(faultKinds().flatMap((k) => k.expectKeys));
}

/**
 * `fault: {...}`: its syntax, name and expectations are its fault kind's (`faults/<kind>.ts`). An expectation
 * no fault kind takes is an unknown key; one that only another kind takes is named as not applying to this
 * fault, with the keys that do.
 */
export const fault: StepKind<"fault"> = {
  parse: (r, v, path) => {
    const f = parseFault(r, v, path);
    return f ? { kind: "fault", fault: f } : undefined;
  },
  describe: (a) => describeFault(a.fault),
  expect(r, v, path, action) {
    const e = readExpect(r, v, path, anyFaultExpectKeys());
    // `e` is defined only when `v` is a mapping.
    if (action && e) r.only(v as Obj, path, faultExpectKeys(action.fault), faultWhat(action.fault));
    return e;
  },
  run,
};

function run(lab: LabView, action: ActionOf<"fault">, step: Step, tries: Tries): Promise<Outcome> {
  return tries.once(async () => {
    const f = action.fault;
    const e = step.expect;
    const timeoutMs = tries.timeoutMs;
    const rec = new FaultLog();
    const wantsProbe = e.recoversWithinMs !== undefined || e.probeLoss !== undefined ||
      e.maxOutageMs !== undefined;
    const pair = wantsProbe ? probePair(lab, f) : undefined;
    if (!pair && (e.probeLoss !== undefined || e.maxOutageMs !== undefined)) {
      // Without a pair there is no probe to judge: an expectation that cannot be measured must not pass.
      throw rec.fail(
        "probe-loss and max-outage need two pods on different nodes that reach each other, and this lab has " +
          "none (pods on one node only, or every cross-node pair expected unreachable)",
      );
    }
    const node = subjectNode(f);
    const before = node ? await lab.leaseOf(node) : undefined;
    const probe = pair ? await startProbe(lab, step, pair) : undefined;
    if (probe) {
      rec.artifacts.push(probe.file);
      rec.mark(`probe ${probe.pair[0].id} -> ${probe.pair[1].id} every ${PROBE_INTERVAL_MS} ms`);
      await sleep(400); // a baseline before the fault
    }
    try {
      const injectedAt = Date.now();
      rec.messages.push(await injectFault(lab, f, rec.mark));
      if (f.forMs !== undefined) {
        await sleep(f.forMs);
        rec.messages.push(`after ${f.forMs / 1000} s: ${await revertFault(lab, f, rec.mark)}`);
      }
      // A restarted agent: the window lasts until the new process holds its lease, so the probe covers its
      // start-up reconcile and the lease checks below read what the new process wrote.
      if (agentComesBack(f)) {
        const readyAt = await lab.restartedAgentReady(f.node, injectedAt, before, injectedAt + timeoutMs);
        rec.metrics["agentReadyMs"] = readyAt - injectedAt;
        rec.mark(`${f.node}'s new agent holds its lease`);
        rec.messages.push(`the new agent held its lease ${readyAt - injectedAt} ms after the ${f.action}`);
      }
      const endAt = Date.now();
      const deadline = injectedAt + timeoutMs;
      if (e.restoredWithinMs !== undefined && f.kind === "delete") {
        await restored(lab, rec, f.node, e.restoredWithinMs, injectedAt, deadline);
      }
      if (node && before && (e.sameSubnet || e.sameVtepMac)) {
        await keptLease(lab, rec, node, before, e, deadline);
      }
      if (node && before && e.goneFromPeersWithinMs !== undefined) {
        await goneFromPeers(lab, rec, node, before, e.goneFromPeersWithinMs, injectedAt, timeoutMs);
      }
      if (probe) {
        await judgeProbe(lab, rec, { probe, f, e, node, injectedAt, endAt, timeoutMs });
      } else if (e.recoversWithinMs !== undefined) {
        const ms = await untilAllAnswer(lab, node, e.recoversWithinMs).catch((error) => {
          throw rec.fail((error as Error).message);
        });
        rec.metrics["recoveryMs"] = ms;
        rec.messages.push(`pods reach each other again after ${ms} ms`);
      }
    } finally {
      await probe?.proc.stop("SIGINT");
    }
    return rec.outcome();
  });
}

/** `restored-within`: the node's kernel state matches its leases again, in time. */
async function restored(
  lab: LabView,
  rec: FaultLog,
  node: string,
  withinMs: number,
  injectedAt: number,
  deadline: number,
): Promise<void> {
  let last: StateDiff | undefined;
  let restoredAt: number | undefined;
  while (Date.now() < Math.max(deadline, injectedAt + withinMs + 2000)) {
    last = (await readKernelDiff(lab, node).catch(() => undefined))?.diff;
    if (last && diffEmpty(last)) {
      restoredAt = Date.now();
      break;
    }
    await sleep(50);
  }
  if (restoredAt === undefined) {
    throw rec.fail(`${node}'s kernel state was not restored`, last ? formatDiff(last) : []);
  }
  const ms = restoredAt - injectedAt;
  rec.metrics["restoredMs"] = ms;
  rec.mark(`${node}'s kernel state matches the leases again`);
  rec.messages.push(`restored in ${ms} ms`);
  if (ms > withinMs) {
    throw rec.fail(`${node}'s kernel state was restored after ${ms} ms, later than ${withinMs} ms`);
  }
}

/** `same-subnet` / `same-vtep-mac`: the node's lease in etcd carries the subnet (and MAC) it had before. */
async function keptLease(
  lab: LabView,
  rec: FaultLog,
  node: string,
  before: NodeLease,
  e: Expect,
  deadline: number,
): Promise<void> {
  for (;;) {
    const now = await lab.leaseOf(node);
    const okSubnet = !e.sameSubnet || now?.subnet === before.subnet && now.publicIp !== "";
    const okMac = !e.sameVtepMac || (now?.mac !== undefined && now.mac === before.mac);
    if (okSubnet && okMac) break;
    if (Date.now() > deadline) {
      throw rec.fail(
        `${node} did not keep its ${!okSubnet ? `subnet ${before.subnet} (now ${now?.subnet})` : ""}${
          !okSubnet && !okMac ? " and " : ""
        }${!okMac ? `VTEP MAC ${before.mac} (now ${now?.mac})` : ""}`,
      );
    }
    await sleep(250);
  }
  rec.messages.push(
    [e.sameSubnet ? `kept subnet ${before.subnet}` : "", e.sameVtepMac ? `kept VTEP MAC ${before.mac}` : ""]
      .filter(Boolean).join(" and "),
  );
}

/** `gone-from-peers-within`: no running peer holds a route, neighbour or FDB entry for the node any more. */
async function goneFromPeers(
  lab: LabView,
  rec: FaultLog,
  node: string,
  before: NodeLease,
  withinMs: number,
  injectedAt: number,
  timeoutMs: number,
): Promise<void> {
  const c = lab.cluster;
  const peers = c.agentNodes.filter((n) => n.name !== node && c.agentRunning(n.name));
  const addr = before.subnet.split("/")[0]!;
  const refers = (x: Entry) =>
    x.key === before.subnet || x.key.startsWith(`${addr} `) ||
    (before.publicIp !== "" && x.value.includes(`dst ${before.publicIp} `));
  let left: string[] = [];
  let goneAt: number | undefined;
  while (Date.now() < injectedAt + Math.max(withinMs + 2000, timeoutMs)) {
    left = [];
    for (const p of peers) {
      const st = await readKernelState(lab, p.name).catch(() => undefined);
      for (const x of st?.actual ?? []) {
        if (refers(x)) left.push(`${p.name}: ${x.kind} ${x.key} ${x.value}`);
      }
    }
    if (!left.length) {
      goneAt = Date.now();
      break;
    }
    await sleep(100);
  }
  if (goneAt === undefined) throw rec.fail(`${node}'s entries are still on its peers`, left);
  const ms = goneAt - injectedAt;
  rec.metrics["goneMs"] = ms;
  rec.mark(`${node}'s entries gone from ${peers.map((p) => p.name).join(", ")}`);
  rec.messages.push(`its entries left every peer after ${ms} ms`);
  if (ms > withinMs) {
    throw rec.fail(`${node}'s entries left its peers after ${ms} ms, later than ${withinMs} ms`);
  }
}

/**
 * The background probe's verdicts: recovery (`recovers-within`, then every other pair), loss (`probe-loss`)
 * and the longest outage (`max-outage`), all by send time from the fault until recovery.
 */
async function judgeProbe(
  lab: LabView,
  rec: FaultLog,
  at: {
    readonly probe: Probe;
    readonly f: Fault;
    readonly e: Expect;
    readonly node: string | undefined;
    readonly injectedAt: number;
    readonly endAt: number;
    readonly timeoutMs: number;
  },
): Promise<void> {
  const { probe, f, e, injectedAt, endAt } = at;
  const judgement = e.lateAfterMs === undefined ? {} : { lateMs: e.lateAfterMs };
  const limit = e.recoversWithinMs ?? Math.max(at.timeoutMs - (endAt - injectedAt), 5000);
  let samples: ProbeSample[] = [];
  let recovered: number | undefined;
  while (Date.now() < endAt + limit + 1000) {
    samples = await probeSamples(probe);
    recovered = recoveredAt(samples, endAt - 100, 5, judgement);
    if (recovered !== undefined) break;
    await sleep(100);
  }
  // A path that never broke "recovers" with its first probe after the fault: count from the fault's end.
  const recoveryMs = recovered === undefined ? undefined : Math.max(0, Math.round(recovered - endAt));
  const loss = probeWindow(samples, injectedAt, recovered ?? Date.now(), judgement);
  rec.probe = samples.map((s) => ({
    t: s.sentAt,
    ...(s.rttMs !== undefined && s.error === undefined ? { rttMs: s.rttMs } : {}),
  }));
  Object.assign(rec.metrics, {
    probeSent: loss.sent,
    probeLost: loss.lost,
    probeLate: loss.late,
    probeErrors: loss.errors,
    probeLossPct: loss.lossPct,
    probeOutageMs: loss.outageMs,
    probeMaxRttMs: loss.maxRttMs,
  });
  if (recoveryMs !== undefined) rec.metrics["recoveryMs"] = recoveryMs;
  const lostHow = [
    loss.late ? `${loss.late} answered later than ${e.lateAfterMs ?? 1000} ms` : "",
    loss.errors ? `${loss.errors} ICMP errors` : "",
  ].filter(Boolean).join(", ");
  const [a, b] = probe.pair;
  rec.details.push(
    `probe ${a.id} -> ${b.id}: ${loss.lost} of ${loss.sent} lost (${loss.lossPct}%${
      lostHow ? `; ${lostHow}` : ""
    }) from the fault to recovery, longest outage ${loss.outageMs} ms, max RTT ${loss.maxRttMs} ms; ${
      recoveryMs === undefined
        ? "not recovered"
        : `answers steadily ${recoveryMs} ms after the fault${f.forMs !== undefined ? " window" : ""} ended`
    }`,
  );
  if (recovered !== undefined) rec.mark(`probe answers steadily again`);
  if (e.recoversWithinMs !== undefined) {
    if (recoveryMs === undefined || recoveryMs > e.recoversWithinMs) {
      throw rec.fail(
        `the probe did not recover within ${e.recoversWithinMs} ms${
          recoveryMs !== undefined ? ` (took ${recoveryMs} ms)` : ""
        }`,
      );
    }
    // Every other cross-node pair must answer too.
    await untilAllAnswer(lab, at.node, Math.max(e.recoversWithinMs - recoveryMs, 2000)).catch((error) => {
      throw rec.fail((error as Error).message);
    });
    rec.messages.push(`pods reach each other again ${recoveryMs} ms after the fault`);
  }
  if (e.probeLoss) {
    if (!withinBound(loss.lossPct, e.probeLoss)) {
      throw rec.fail(`probe loss ${loss.lossPct}% is not ${e.probeLoss.op} ${e.probeLoss.pct}%`);
    }
    rec.messages.push(`probe loss ${loss.lossPct}% (${e.probeLoss.op} ${e.probeLoss.pct}%)`);
  }
  if (e.maxOutageMs !== undefined) {
    if (loss.outageMs > e.maxOutageMs) {
      throw rec.fail(
        `the probe saw an outage of ${loss.outageMs} ms, longer than max-outage ${e.maxOutageMs} ms`,
      );
    }
    rec.messages.push(`longest outage ${loss.outageMs} ms (<= ${e.maxOutageMs} ms)`);
  }
}
