/**
 * The scenario engine: runs a scenario's steps in order on a cluster, each retried until it holds or its
 * timeout passes, with every attempt recorded. A failed step does not stop the run unless it is `critical`.
 *
 * @module
 */
import type { Cluster, Pod } from "../cluster.ts";
import type { Process } from "../process.ts";
import type { Action, Expect, Fault, PingSpec, Scenario, Step } from "./model.ts";
import { expectedPodMtu, expectedReach, OVERHEAD } from "./expect.ts";
import { classifyDfPing, linksWithMtu, ownerOf, pinchSymptom } from "../checks/path_mtu.ts";
import {
  diffEmpty,
  diffState,
  type Entry,
  expectedState,
  formatDiff,
  leaseKeyOf,
  leasesFromKvs,
  observedState,
  reachFromRouteGet,
  type StateDiff,
} from "../checks/kernel_state.ts";
import {
  parsePingLog,
  type ProbeSample,
  probeWindow,
  recoveredAt,
  withinBound,
} from "../checks/probe_log.ts";
import { formatSpread, inBand, percentile, round, spread } from "../checks/stats.ts";
import { formatCidr, formatIp, parseCidr } from "../../agent/ip.ts";
import {
  compareMirror,
  type KernelReadings,
  maskLease,
  mirrorView,
  type NodeValues,
} from "../checks/mirror.ts";
import type { PeerReach } from "../../agent/backend/desired.ts";

/** The outcome of one step. */
export interface StepResult {
  readonly step: Step;
  readonly status: "pass" | "fail" | "skipped";
  readonly attempts: number;
  readonly durationMs: number;
  /** One line: what held or what did not. */
  readonly message: string;
  /** Further lines (a matrix, a diff). */
  readonly details: readonly string[];
  /** Files kept in the lab directory (pcaps). */
  readonly artifacts: readonly string[];
  /** Numbers worth reporting (throughput, recovery time). */
  readonly metrics: Readonly<Record<string, number>>;
  /** What happened when (faults: injected, reverted, recovered), epoch ms. */
  readonly timeline: readonly TimelineEvent[];
  /** Wall-clock start, epoch ms. */
  readonly startedAt: number;
}

/** One point on a fault's timeline. */
export interface TimelineEvent {
  /** Epoch ms. */
  readonly t: number;
  readonly what: string;
}

/** Called as steps start and finish. */
export interface Progress {
  stepStarted(step: Step): void;
  stepFinished(result: StepResult): void;
}

class Failed extends Error {
  constructor(
    message: string,
    readonly details: string[] = [],
    readonly extra: { timeline?: TimelineEvent[]; metrics?: Record<string, number>; artifacts?: string[] } =
      {},
  ) {
    super(message);
  }
}

interface Outcome {
  message: string;
  details?: string[];
  artifacts?: string[];
  metrics?: Record<string, number>;
  timeline?: TimelineEvent[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** The background probe's ping interval. */
const PROBE_INTERVAL_MS = 20;

/** Runs an attempt until it stops throwing `Failed` or the time is up. */
async function retry(
  timeoutMs: number,
  attempt: () => Promise<Outcome>,
  onAttempt: () => void,
): Promise<Outcome> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    onAttempt();
    try {
      return await attempt();
    } catch (error) {
      if (!(error instanceof Failed) || Date.now() + 250 > deadline) throw error;
    }
    await sleep(250);
  }
}

/** The scenario engine for one cluster. */
export class ScenarioRunner {
  readonly #c: Cluster;
  readonly #sc: Scenario;
  readonly #subnets = new Map<string, string>();

  readonly #only: ((step: Step) => boolean) | undefined;

  /**
   * @param cluster the running cluster
   * @param scenario the scenario
   * @param only when given, steps it rejects are skipped (`--rerun-failed`)
   */
  constructor(cluster: Cluster, scenario: Scenario, only?: (step: Step) => boolean) {
    this.#c = cluster;
    this.#sc = scenario;
    this.#only = only;
  }

  /** Runs every step; resolves with their results. */
  async run(progress: Progress): Promise<StepResult[]> {
    const results: StepResult[] = [];
    let stop = false;
    for (const step of this.#sc.steps) {
      progress.stepStarted(step);
      if (stop) {
        const r: StepResult = {
          step,
          status: "skipped",
          attempts: 0,
          durationMs: 0,
          message: "skipped after a critical step failed",
          details: [],
          artifacts: [],
          metrics: {},
          timeline: [],
          startedAt: Date.now(),
        };
        results.push(r);
        progress.stepFinished(r);
        continue;
      }
      if (this.#only && !this.#only(step)) {
        const r: StepResult = {
          step,
          status: "skipped",
          attempts: 0,
          durationMs: 0,
          message: "passed in the previous run (--rerun-failed)",
          details: [],
          artifacts: [],
          metrics: {},
          timeline: [],
          startedAt: Date.now(),
        };
        results.push(r);
        progress.stepFinished(r);
        continue;
      }
      const started = performance.now();
      const startedAt = Date.now();
      let attempts = 0;
      let result: StepResult;
      try {
        const o = await this.#expectedOutcome(step, () => this.#step(step, () => attempts++));
        result = {
          step,
          status: "pass",
          attempts,
          durationMs: Math.round(performance.now() - started),
          message: o.message,
          details: o.details ?? [],
          artifacts: o.artifacts ?? [],
          metrics: o.metrics ?? {},
          timeline: o.timeline ?? [],
          startedAt,
        };
      } catch (error) {
        result = {
          step,
          status: "fail",
          attempts,
          durationMs: Math.round(performance.now() - started),
          message: error instanceof Error ? error.message : String(error),
          details: error instanceof Failed ? error.details : [],
          artifacts: error instanceof Failed ? error.extra.artifacts ?? [] : [],
          metrics: error instanceof Failed ? error.extra.metrics ?? {} : {},
          timeline: error instanceof Failed ? error.extra.timeline ?? [] : [],
          startedAt,
        };
        if (step.critical) stop = true;
      }
      results.push(result);
      progress.stepFinished(result);
    }
    return results;
  }

  /**
   * Runs a step that may be expected to fail (`fails-with`): then its failure with a matching message is the
   * pass, and a pass or another failure is the failure.
   */
  async #expectedOutcome(step: Step, run: () => Promise<Outcome>): Promise<Outcome> {
    if (step.failsWith === undefined) return await run();
    const want = new RegExp(step.failsWith);
    let outcome: Outcome;
    try {
      outcome = await run();
    } catch (error) {
      if (!(error instanceof Failed)) throw error;
      if (!want.test(error.message)) {
        throw new Failed(
          `failed, but not with /${step.failsWith}/: ${error.message}`,
          error.details,
          error.extra,
        );
      }
      return {
        message: `failed as expected: ${error.message}`,
        details: error.details,
        ...error.extra,
      };
    }
    throw new Failed(
      `expected to fail with /${step.failsWith}/, but passed: ${outcome.message}`,
      outcome.details ?? [],
    );
  }

  #step(step: Step, count: () => void): Promise<Outcome> {
    const a: Action = step.action;
    const e: Expect = step.expect;
    // A step expected to fail is tried once: retrying would only wait out its timeout.
    const t = step.failsWith !== undefined && a.kind !== "fault" ? 0 : step.timeoutMs;
    switch (a.kind) {
      case "wait":
        return retry(t, () => this.#agentsReady(), count);
      case "sleep":
        count();
        return sleep(a.ms).then(() => ({ message: `slept ${a.ms} ms` }));
      case "connectivity":
        return retry(t, () => this.#matrix(a.overrides), count);
      case "mtu":
        return retry(t, () => this.#mtu(), count);
      case "ping": {
        const want = e.success ?? true;
        // A ping expected to fail is tried once: waiting would only delay the verdict.
        return want
          ? retry(t, () => this.#pingOutcome(a.ping, true), count)
          : (count(), this.#pingOutcome(a.ping, false));
      }
      case "capture":
        return retry(t, () => this.#capture(step, a.node, a.iface, a.during, e), count);
      case "kernel":
        return retry(t, () => this.#kernel(a.node), count);
      case "mirror":
        return retry(t, () => this.#mirror(a.a, a.b), count);
      case "leases":
        return retry(t, () => this.#leases(e), count);
      case "agent-log": {
        // Only what the agent wrote during this step, unless asked otherwise: a line from before a restart
        // must not satisfy a step about what the new process does.
        const from = a.since === "start"
          ? Promise.resolve(0)
          : this.#c.agentLog(a.node).then((l) => l.length);
        return retry(t, async () => {
          const start = await from;
          const all = await this.#c.agentLog(a.node);
          const log = all.length >= start ? all.slice(start) : all; // a log rewritten since: read it whole
          const m = new RegExp(a.pattern).exec(log);
          if (!m) {
            throw new Failed(
              `${a.node}'s agent log has no line matching /${a.pattern}/ ${
                a.since === "start" ? "since the agent started" : "written during this step"
              }`,
            );
          }
          const line = log.slice(log.lastIndexOf("\n", m.index) + 1).split("\n")[0] ?? "";
          return { message: `found: ${line.slice(0, 300)}` };
        }, count);
      }
      case "fault":
        count();
        return this.#fault(step, a.fault, e, t);
      case "throughput":
        count();
        return this.#throughput(a.from, a.to, a.seconds, a.repeats, e);
      case "latency":
        count();
        return this.#latency(a.from, a.to, a.count, a.repeats, e);
    }
  }

  async #agentsReady(): Promise<Outcome> {
    const nodes = this.#c.agentNodes.filter((n) => this.#c.agentRunning(n.name));
    const missing: string[] = [];
    for (const n of nodes) {
      const env = await this.#c.subnetEnv(n.name);
      if (!env?.["FLANNEL_SUBNET"]) missing.push(n.name);
      else this.#subnets.set(n.name, env["FLANNEL_SUBNET"]);
    }
    if (missing.length) throw new Failed(`no subnet.env yet on ${missing.join(", ")}`);
    // Pods are attached once agents are ready (the CNI plugin needs subnet.env).
    await Promise.all(nodes.map(async (n) => {
      const have = this.#c.pods.filter((p) => p.node === n.name).length;
      if (have < this.#sc.podsPerNode) {
        try {
          await this.#c.addPods(n.name, this.#sc.podsPerNode - have);
        } catch (error) {
          throw new Failed(`attaching pods on ${n.name} failed (retrying): ${(error as Error).message}`);
        }
      }
    }));
    return {
      message:
        `${nodes.length} agents hold leases: ${
          nodes.map((n) => `${n.name}=${this.#subnets.get(n.name)}`).join(" ")
        }; ` +
        `${this.#c.pods.length} pods attached`,
    };
  }

  #endpointIp(
    id: string,
  ): { run: (cmd: string[]) => Promise<{ code: number; stdout: string; stderr: string }> } {
    if (id.includes("/")) {
      const pod = this.#c.pod(id);
      return { run: (cmd) => this.#c.podExec(pod, cmd) };
    }
    return {
      run: (cmd) => this.#c.runtime.exec(this.#c.topo, id, cmd, { check: false, timeoutMs: 30_000 }),
    };
  }

  async #ping(spec: PingSpec): Promise<{ ok: boolean; out: string }> {
    const to = this.#c.pod(spec.to);
    const args = ["ping", "-n", "-c", String(spec.count), "-i", "0.2", "-W", "1"];
    if (spec.size !== undefined) args.push("-s", String(spec.size));
    if (spec.dontFragment) args.push("-M", "do");
    const r = await this.#endpointIp(spec.from).run([...args, to.ip]);
    return { ok: r.code === 0, out: (r.stdout + r.stderr).trim() };
  }

  async #pingOutcome(spec: PingSpec, want: boolean): Promise<Outcome> {
    const { ok, out } = await this.#ping(spec);
    const summary = out.split("\n").filter((l) => /packet|error|too long|unreachable/i.test(l)).join("; ");
    if (ok !== want) {
      throw new Failed(
        `expected ${want ? "success" : "failure"}, got ${ok ? "success" : "failure"}: ${summary}`,
      );
    }
    return { message: `${ok ? "reached" : "did not reach"} ${spec.to} as expected: ${summary}` };
  }

  async #matrix(overrides: Readonly<Record<string, boolean>>): Promise<Outcome> {
    const sources: string[] = [...this.#c.pods.map((p) => p.id), ...this.#c.agentNodes.map((n) => n.name)];
    const targets = this.#c.pods;
    const nodeOf = (id: string) => this.#c.topo.nodes.find((n) => n.name === id.split("/")[0])!;
    const lines: string[] = [];
    const wrong: string[] = [];
    const width = Math.max(...sources.map((s) => s.length), 6);
    lines.push(`${"from\\to".padEnd(width)}  ${targets.map((t) => t.id.padEnd(8)).join(" ")}`);
    const reasons = new Set<string>();
    for (const s of sources) {
      const cells: string[] = [];
      for (const t of targets) {
        if (s === t.id) {
          cells.push("-".padEnd(8));
          continue;
        }
        const derived = expectedReach(this.#sc, nodeOf(s), nodeOf(t.id));
        const key = `${s} -> ${t.id}`;
        const want = overrides[key] ?? derived.pass;
        if (!derived.pass) reasons.add(derived.why);
        const { ok } = await this.#ping({ from: s, to: t.id, count: 1, dontFragment: false });
        const cell = `${ok ? "ok" : "x"}${ok === want ? "" : want ? "(want ok)" : "(want x)"}`;
        if (ok !== want) wrong.push(key);
        cells.push(cell.padEnd(8));
      }
      lines.push(`${s.padEnd(width)}  ${cells.join(" ")}`);
    }
    for (const r of reasons) lines.push(`expected unreachable: ${r}`);
    const total = sources.length * targets.length - targets.length;
    if (wrong.length) {
      throw new Failed(
        `${wrong.length} of ${total} cells differ from the expectation: ${wrong.join(", ")}`,
        lines,
      );
    }
    return { message: `all ${total} cells as expected`, details: lines };
  }

  async #mtu(): Promise<Outcome> {
    const details: string[] = [];
    const problems: string[] = [];
    const nodes = this.#c.agentNodes.filter((n) => this.#c.pods.some((p) => p.node === n.name));
    let paths = 0;
    let underlays = 0;
    for (const a of nodes) {
      const env = await this.#c.subnetEnv(a.name);
      const mtu = Number(env?.["FLANNEL_MTU"]);
      const want = expectedPodMtu(this.#c.topo, this.#sc, a);
      if (want !== undefined && mtu !== want) {
        problems.push(`${a.name}: FLANNEL_MTU ${mtu}, expected ${want}`);
      }
      for (const b of nodes) {
        if (a === b || !expectedReach(this.#sc, a, b).pass) continue;
        // Every pod pair across the two nodes: pods of one node share its MTU, but a pod set up wrongly
        // (a CNI retry, a stale veth) would not.
        for (const from of this.#c.pods.filter((p) => p.node === a.name)) {
          for (const to of this.#c.pods.filter((p) => p.node === b.name)) {
            paths++;
            const size = mtu - 28;
            const at = await this.#ping({ from: from.id, to: to.id, count: 1, size, dontFragment: true });
            const over = await this.#ping({
              from: from.id,
              to: to.id,
              count: 1,
              size: size + 1,
              dontFragment: true,
            });
            const local = /too long/i.test(over.out);
            const fragNeeded = /frag needed|mtu = /i.test(over.out);
            details.push(
              `${from.id} -> ${to.id}: DF ${size} bytes ${at.ok ? "passes" : "FAILS"}; ${size + 1} bytes ${
                over.ok
                  ? "PASSES (expected to fail)"
                  : local
                  ? "fails locally (message too long)"
                  : fragNeeded
                  ? "gets a fragmentation-needed reply (the pod MTU is larger than the path)"
                  : "is lost silently (blackhole)"
              }`,
            );
            if (!at.ok) {
              const why = classifyDfPing(false, at.out);
              problems.push(
                `${from.id} -> ${to.id}: DF ping at pod MTU ${mtu} failed${
                  why.kind === "frag-needed"
                    ? ` with fragmentation-needed from ${this.#hopName(why.from)} (mtu = ${why.mtu})`
                    : why.kind === "lost"
                    ? " silently (a blackhole)"
                    : ""
                }`,
              );
            }
            if (over.ok || !local) problems.push(`${from.id} -> ${to.id}: pod MTU + 1 did not fail locally`);
          }
        }
        const underlay = await this.#underlayPath(a.name, b.name, mtu);
        if (underlay) {
          underlays++;
          details.push(underlay.detail);
          if (underlay.problem) problems.push(underlay.problem);
        }
      }
    }
    if (problems.length) throw new Failed(problems.join("; "), details);
    return {
      message:
        `DF at pod MTU passes and +1 fails locally, and the underlay carries the backend's full-size ` +
        `packets, on ${paths} pod paths and ${underlays} underlay paths`,
      details,
    };
  }

  /** An address with the topology node (and interface) that holds it, for messages. */
  #hopName(ip: string): string {
    const owner = ownerOf(this.#c.topo, ip);
    return owner ? `${owner.node.name} (${ip} on ${owner.iface})` : ip;
  }

  /**
   * Probes the underlay between two nodes' public addresses with DF at the size of the backend's outer packets
   * for a full-size pod packet (pod MTU + encapsulation overhead). A pinch there is invisible to the pod probe
   * when the backend's outer packets carry no DF (vxlan): routers fragment them and pings still pass. Finds the
   * path MTU from the router's fragmentation-needed answer or, when none comes back, by halving; then forgets
   * what the probe taught the kernel (`ip route flush cache`), so later steps see the lab as it was.
   */
  async #underlayPath(
    a: string,
    b: string,
    podMtu: number,
  ): Promise<{ detail: string; problem?: string } | undefined> {
    const [src, dst] = [await this.#leaseOf(a), await this.#leaseOf(b)];
    if (!src?.publicIp || !dst?.publicIp) return undefined;
    const overhead = OVERHEAD[this.#sc.backend] ?? 0;
    const want = podMtu + overhead;
    const node = this.#endpointIp(a);
    const probe = async (size: number) => {
      const r = await node.run([
        "ping",
        "-n",
        "-c",
        "1",
        "-W",
        "1",
        "-M",
        "do",
        "-s",
        String(size - 28),
        dst.publicIp,
      ]);
      return classifyDfPing(r.code === 0, r.stdout + r.stderr);
    };
    try {
      const first = await probe(want);
      const path = `${a} (${src.publicIp}) -> ${b} (${dst.publicIp})`;
      if (first.kind === "passed") return { detail: `underlay ${path}: DF ${want} bytes pass` };
      let pathMtu: number | undefined;
      let hop: string | undefined;
      if (first.kind === "frag-needed") [pathMtu, hop] = [first.mtu, first.from];
      else if (first.kind === "local" && first.mtu !== undefined) pathMtu = first.mtu;
      else {
        // No answer: find the largest size that passes.
        let [lo, hi] = [68, want - 1];
        while (lo < hi) {
          const mid = Math.ceil((lo + hi) / 2);
          if ((await probe(mid)).kind === "passed") lo = mid;
          else hi = mid - 1;
        }
        pathMtu = lo;
      }
      const where = hop
        ? `fragmentation-needed from ${this.#hopName(hop)}`
        : "no ICMP came back; found by probing";
      const owner = hop ? ownerOf(this.#c.topo, hop) : undefined;
      const narrow = owner ? linksWithMtu(this.#c.topo, owner.node.name, pathMtu).map((l) => l.label) : [];
      const detail =
        `underlay ${path}: DF ${want} bytes fail, the path carries at most ${pathMtu} bytes (${where}${
          narrow.length ? `; narrow link ${narrow.join(", ")}` : ""
        })`;
      return {
        detail,
        problem: `the underlay ${path} carries at most ${pathMtu} bytes (${where}${
          narrow.length ? `, link ${narrow.join(", ")}` : ""
        }), but ${this.#sc.backend} at pod MTU ${podMtu} sends ${want}-byte packets: ${
          pinchSymptom(this.#sc.backend)
        }. A pod MTU of ${pathMtu - overhead} would fit (set Backend.MTU, or the interface MTU)`,
      };
    } finally {
      await node.run(["ip", "route", "flush", "cache"]);
    }
  }

  async #capture(step: Step, node: string, iface: string, during: PingSpec, e: Expect): Promise<Outcome> {
    const c = this.#c;
    const file = `${c.labDir}/captures/step${step.index}-${node}-${iface}.pcap`;
    await Deno.mkdir(`${c.labDir}/captures`, { recursive: true });
    await Deno.remove(file).catch(() => {});
    const dump = await c.runtime.spawn(c.topo, node, [
      "tcpdump",
      "-i",
      iface,
      "-nn",
      "-U",
      "-s",
      "256",
      "-w",
      file,
    ], {
      logFile: `${c.labDir}/captures/tcpdump.log`,
    });
    try {
      const until = Date.now() + 5000;
      while (Date.now() < until) {
        if ((await Deno.stat(file).catch(() => undefined))?.isFile) break;
        await sleep(50);
      }
      await sleep(200);
      await this.#ping(during);
      await sleep(300);
    } finally {
      await dump.stop("SIGINT");
    }
    const count = async (filter: string) => {
      const r = await c.runtime.exec(c.topo, node, ["tcpdump", "-r", file, "-nn", filter], { check: false });
      return r.stdout.split("\n").filter((l) => l.trim()).length;
    };
    const net = JSON.parse(this.#sc.network)["Network"] as string;
    const problems: string[] = [];
    const found: string[] = [];
    if (e.vxlan) {
      const vniFilter = e.vxlan.vni === undefined ? "" : ` and (udp[12:4] >> 8) = ${e.vxlan.vni}`;
      const n = await count(`udp dst port ${e.vxlan.port}${vniFilter}`);
      found.push(
        `${n} VXLAN packets to port ${e.vxlan.port}${
          e.vxlan.vni !== undefined ? ` with VNI ${e.vxlan.vni}` : ""
        }`,
      );
      if (n < e.vxlan.min) problems.push(`expected at least ${e.vxlan.min} VXLAN packets, saw ${n}`);
    }
    if (e.udp) {
      const n = await count(`udp port ${e.udp.port}`);
      found.push(`${n} UDP packets on port ${e.udp.port}`);
      if (n < e.udp.min) problems.push(`expected at least ${e.udp.min} UDP ${e.udp.port} packets, saw ${n}`);
    }
    const plain = await count(`ip and src net ${net} and dst net ${net}`);
    found.push(`${plain} unencapsulated packets between pod addresses`);
    if (e.plainPodTraffic && plain < e.plainPodTraffic.min) {
      problems.push(`expected at least ${e.plainPodTraffic.min} plain pod packets, saw ${plain}`);
    }
    if (e.unencapsulatedPodTraffic !== undefined && plain > e.unencapsulatedPodTraffic) {
      problems.push(
        `expected at most ${e.unencapsulatedPodTraffic} unencapsulated pod packets, saw ${plain}`,
      );
    }
    const rel = file.slice(c.labDir.length + 1);
    if (problems.length) throw new Failed(`${problems.join("; ")} (pcap: ${rel})`, found);
    return { message: `${found.join(", ")} (pcap: ${rel})`, details: found, artifacts: [file] };
  }

  /**
   * The agent-owned kernel state of a node (routes into the pod network, neighbours and FDB entries of the
   * vxlan device, the device itself) and the state the leases in etcd call for, computed by the agent's own
   * pure plan functions.
   */
  async #kernelState(node: string): Promise<{ expected: Entry[]; actual: Entry[]; notes: string[] }> {
    const c = this.#c;
    const sc = this.#sc;
    const self = c.topo.nodes.find((n) => n.name === node)!;
    const ext = self.agentIface!;
    const own = (await c.subnetEnv(node))?.["FLANNEL_SUBNET"];
    const leases = leasesFromKvs(await c.leaseKvs());
    const sh = async (cmd: string[]): Promise<unknown[]> => {
      const r = await c.runtime.exec(c.topo, node, cmd, { check: false, timeoutMs: 10_000 });
      if (r.code !== 0) return [];
      return JSON.parse(r.stdout.trim() || "[]") as unknown[];
    };
    const ips = [...new Set([...leases.values()].map((l) => formatIp(l.attrs.publicIp)))];
    const reach = new Map<string, PeerReach>();
    await Promise.all(ips.map(async (ip) => {
      reach.set(ip, reachFromRouteGet(await sh(["ip", "-j", "route", "get", ip]) as { dev?: string }[], ext));
    }));
    const network = JSON.parse(sc.network)["Network"] as string;
    const dev = `flannel.${sc.vni}`;
    const vxlan = sc.backend === "vxlan";
    const mtu = expectedPodMtu(c.topo, sc, self);
    const expected = expectedState({
      backend: sc.backend,
      vni: sc.vni,
      port: sc.port,
      directRouting: sc.directRouting,
      network,
      ownKey: own ? leaseKeyOf(own) : "",
      extName: ext,
      leases,
      reach: (ip) => reach.get(ip),
      ...(vxlan && mtu !== undefined ? { deviceMtu: mtu } : {}),
    });
    const [routes, neighs, fdbs, links] = await Promise.all([
      sh(["ip", "-j", "-4", "route", "show"]),
      vxlan ? sh(["ip", "-j", "-4", "neigh", "show", "dev", dev]) : Promise.resolve([]),
      vxlan ? sh(["bridge", "-j", "fdb", "show", "dev", dev]) : Promise.resolve([]),
      vxlan ? sh(["ip", "-d", "-j", "link", "show", dev]) : Promise.resolve([]),
    ]);
    const withDev = <T extends object>(rows: unknown[]) => (rows as T[]).map((r) => ({ dev, ...r }));
    const actual = observedState({
      routes: routes as { dst: string }[],
      neighs: withDev<{ dst: string }>(neighs),
      fdbs: withDev<{ mac: string }>(fdbs),
      ...(links[0] ? { device: links[0] as { ifname: string } } : {}),
    }, { network, ...(own ? { ownSubnet: own } : {}), vni: sc.vni, extName: ext });
    return { expected: [...expected.entries], actual, notes: [...expected.notes] };
  }

  async #kernelDiff(node: string): Promise<{ diff: StateDiff; expected: Entry[]; notes: string[] }> {
    const { expected, actual, notes } = await this.#kernelState(node);
    return { diff: diffState(expected, actual), expected, notes };
  }

  async #kernel(node: string): Promise<Outcome> {
    const { diff, expected, notes } = await this.#kernelDiff(node);
    const lines = formatDiff(diff);
    if (lines.length) {
      throw new Failed(
        `${node}'s kernel state differs from what the leases call for: ${diff.missing.length} missing, ${diff.extra.length} extra, ${diff.different.length} different`,
        [...lines, ...notes.map((n) => `note: ${n}`)],
      );
    }
    const count = (k: Entry["kind"]) => expected.filter((x) => x.kind === k).length;
    return {
      message: `${node} holds exactly what the leases call for: ${count("route")} routes, ${
        count("neigh")
      } neighbours, ${count("fdb")} FDB entries${count("device") ? ", the vxlan device's attributes" : ""}`,
      details: [...expected.map((x) => `${x.kind} ${x.key} ${x.value}`), ...notes.map((n) => `note: ${n}`)],
    };
  }

  /** The values that identify each running agent node in kernel readings (from subnet.env and its lease). */
  async #nodeValues(): Promise<Map<string, NodeValues>> {
    const c = this.#c;
    const leases = await c.leases();
    const out = new Map<string, NodeValues>();
    for (const n of c.agentNodes) {
      const own = (await c.subnetEnv(n.name))?.["FLANNEL_SUBNET"];
      if (!own) continue;
      const subnet = formatCidr(parseCidr(own));
      const l = leases.find((x) => x.subnet === subnet);
      if (!l) continue;
      const mac = (l.attrs.backendData as { VtepMAC?: unknown } | undefined)?.VtepMAC;
      out.set(n.name, { subnet, publicIp: l.publicIp, ...(typeof mac === "string" ? { vtepMac: mac } : {}) });
    }
    return out;
  }

  /** The flannel device of the scenario's backend, if it has one. */
  #flannelDevice(): string | undefined {
    const b = this.#sc.backend;
    return b === "vxlan" ? `flannel.${this.#sc.vni}` : b === "udp" ? "flannel0" : undefined;
  }

  async #readings(node: string): Promise<KernelReadings> {
    const c = this.#c;
    const sh = async (cmd: string[]): Promise<Record<string, unknown>[]> => {
      const r = await c.runtime.exec(c.topo, node, cmd, { check: false, timeoutMs: 10_000 });
      if (r.code !== 0) return [];
      return JSON.parse(r.stdout.trim() || "[]") as Record<string, unknown>[];
    };
    const dev = this.#flannelDevice();
    const [link, addrs, routes, neighs, fdbs] = await Promise.all([
      dev ? sh(["ip", "-d", "-j", "link", "show", dev]) : Promise.resolve([]),
      dev ? sh(["ip", "-4", "-j", "addr", "show", "dev", dev]) : Promise.resolve([]),
      sh(["ip", "-d", "-j", "route", "show", "table", "main"]),
      sh(["ip", "-d", "-j", "neigh", "show"]),
      dev && this.#sc.backend === "vxlan"
        ? sh(["bridge", "-j", "-d", "fdb", "show", "dev", dev])
        : Promise.resolve([]),
    ]);
    return { link, addrs, routes, neighs, fdbs };
  }

  /** Node `a`'s kernel state is the mirror image of node `b`'s (the interop comparison). */
  async #mirror(a: string, b: string): Promise<Outcome> {
    const values = await this.#nodeValues();
    const va = values.get(a);
    const vb = values.get(b);
    if (!va || !vb) throw new Failed(`no lease yet for ${!va ? a : b}`);
    const others = [...values].filter(([n]) => n !== a && n !== b).map(([, v]) => v);
    const network = JSON.parse(this.#sc.network)["Network"] as string;
    const [ra, rb] = await Promise.all([this.#readings(a), this.#readings(b)]);
    const ma = mirrorView(ra, va, vb, others, network);
    const mb = mirrorView(rb, vb, va, others, network);
    const lines = compareMirror(ma, mb, [a, b]);
    const kind = (n: string) => this.#c.topo.nodes.find((x) => x.name === n)?.agent ?? "ours";
    if (lines.length) {
      throw new Failed(
        `${a} (${kind(a)}) and ${b} (${
          kind(b)
        }) do not hold mirror images of each other's state: ${lines.length} differences`,
        lines,
      );
    }
    const dev = this.#flannelDevice();
    return {
      message: `${a} (${kind(a)}) and ${b} (${kind(b)}) mirror each other: ${
        dev ? `device ${dev} (${Object.keys((ma.link as object[])[0] ?? {}).length} attributes equal), ` : ""
      }${ma.routes.length} routes, ${ma.neighs.length} neighbours, ${ma.fdbs.length} FDB entries`,
      details: [
        ...ma.routes.map((r) => `route ${r}`),
        ...ma.neighs.map((r) => `neigh ${r}`),
        ...ma.fdbs.map((r) => `fdb ${r}`),
      ],
    };
  }

  async #leases(e: Expect): Promise<Outcome> {
    const leases = await this.#c.leases();
    const subnets = leases.map((l) => l.subnet);
    if (e.count !== undefined && leases.length !== e.count) {
      throw new Failed(`expected ${e.count} leases, found ${leases.length}: ${subnets.join(", ")}`);
    }
    if ((e.distinct ?? true) && new Set(subnets).size !== subnets.length) {
      throw new Failed(`two leases share a subnet: ${subnets.join(", ")}`);
    }
    const ips = leases.map((l) => l.publicIp);
    if ((e.distinct ?? true) && new Set(ips).size !== ips.length) {
      throw new Failed(`two leases share a PublicIP: ${ips.join(", ")}`);
    }
    // Each running agent's subnet.env names a lease that is in etcd with the node's own PublicIP.
    const mismatched: string[] = [];
    for (const n of this.#c.agentNodes.filter((x) => this.#c.agentRunning(x.name))) {
      const env = (await this.#c.subnetEnv(n.name))?.["FLANNEL_SUBNET"];
      if (!env) continue;
      const subnet = formatCidr(parseCidr(env));
      const l = leases.find((x) => x.subnet === subnet);
      const ip = n.agentIface ? n.addresses[n.agentIface]?.[0]?.split("/")[0] : undefined;
      if (!l) mismatched.push(`${n.name}'s subnet.env says ${subnet}, which has no lease in etcd`);
      else if (ip && l.publicIp !== ip) {
        mismatched.push(`${n.name}'s lease ${subnet} carries PublicIP ${l.publicIp}, not ${ip}`);
      }
    }
    if (mismatched.length) throw new Failed(mismatched.join("; "));
    const details: string[] = [];
    let form = "";
    if (e.sameForm) {
      // Every lease value, with its node's own subnet, address and VTEP MAC masked, must be the same text (key
      // order and JSON types included): what an agent of one kind writes, one of the other kind writes too.
      const values = await this.#nodeValues();
      const kvs = await this.#c.leaseKvs();
      const forms = new Map<string, string[]>();
      for (const [node, v] of values) {
        const kv = kvs.find((x) => x.key.endsWith(`/${v.subnet.replace("/", "-")}`));
        if (!kv) continue;
        const kind = this.#c.topo.nodes.find((x) => x.name === node)?.agent ?? "ours";
        const masked = maskLease(kv.value, v);
        forms.set(masked, [...(forms.get(masked) ?? []), `${node} (${kind})`]);
        details.push(`${node} (${kind}): ${kv.value}`);
      }
      if (forms.size > 1) {
        throw new Failed(
          `the lease values differ in form: ${forms.size} forms`,
          [...forms].map(([f, nodes]) => `${nodes.join(", ")}: ${f}`),
        );
      }
      form = `; every value has the form ${[...forms.keys()][0] ?? "(none)"}`;
    }
    return {
      message: `${leases.length} leases, distinct, each agent's subnet.env backed by its lease: ${
        leases.map((l) => `${l.subnet}@${l.publicIp}`).join(", ")
      }${form}`,
      details,
    };
  }

  /** Pings from a pod of `node` to a pod of every other reachable node until all answer. */
  async #probe(node: string | undefined, deadlineMs: number): Promise<number> {
    const started = performance.now();
    const pods = this.#c.pods.filter((p) => this.#c.agentRunning(p.node));
    const pairs: [Pod, Pod][] = [];
    for (const a of pods) {
      for (const b of pods) {
        if (a.node === b.node || (node && a.node !== node && b.node !== node)) continue;
        if (pairs.some(([x, y]) => x.node === a.node && y.node === b.node)) continue;
        const na = this.#c.topo.nodes.find((n) => n.name === a.node)!;
        const nb = this.#c.topo.nodes.find((n) => n.name === b.node)!;
        if (expectedReach(this.#sc, na, nb).pass) pairs.push([a, b]);
      }
    }
    const pending = new Set(pairs);
    while (pending.size) {
      for (const p of [...pending]) {
        if ((await this.#ping({ from: p[0].id, to: p[1].id, count: 1, dontFragment: false })).ok) {
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

  /** The pod pair the background probe uses for a fault: one that crosses the faulted node or link. */
  #probePair(f: Fault): [Pod, Pod] | undefined {
    const nodeOf = (p: Pod) => this.#c.topo.nodes.find((n) => n.name === p.node)!;
    const pods = this.#c.pods;
    const pairs: [Pod, Pod][] = [];
    for (const a of pods) {
      for (const b of pods) {
        if (a.node !== b.node && expectedReach(this.#sc, nodeOf(a), nodeOf(b)).pass) pairs.push([a, b]);
      }
    }
    const removed = f.kind === "lease-delete" ? f.node : undefined;
    const usable = pairs.filter(([a, b]) => a.node !== removed && b.node !== removed);
    if (f.kind === "delete" && f.peer) {
      return usable.find(([a, b]) => a.node === f.node && b.node === f.peer) ?? usable[0];
    }
    const focus = "node" in f ? f.node : undefined;
    return usable.find(([a, b]) => a.node !== focus && b.node === focus) ??
      usable.find(([a]) => a.node === focus) ?? usable[0];
  }

  /** Starts a 20 ms ping between two pods whose output (with timestamps) goes to a file in the lab dir. */
  async #startProbe(
    step: Step,
    pair: [Pod, Pod],
  ): Promise<{ file: string; proc: Process; pair: [Pod, Pod] }> {
    const c = this.#c;
    const [a, b] = pair;
    await Deno.mkdir(`${c.labDir}/probes`, { recursive: true });
    const file = `${c.labDir}/probes/step${step.index}-${a.id.replace("/", "_")}-${
      b.id.replace("/", "_")
    }.log`;
    await Deno.remove(file).catch(() => {});
    const proc = await c.runtime.spawn(c.topo, a.node, [
      "ip",
      "netns",
      "exec",
      a.netns,
      "ping",
      "-D",
      "-O",
      "-n",
      "-i",
      String(PROBE_INTERVAL_MS / 1000),
      "-W",
      "1",
      b.ip,
    ], { logFile: file, graceMs: 1000 });
    return { file, proc, pair };
  }

  async #samples(file: string): Promise<ProbeSample[]> {
    return parsePingLog(await Deno.readTextFile(file).catch(() => ""), PROBE_INTERVAL_MS);
  }

  /** The subnet, PublicIP and VtepMAC of a node's lease. */
  async #leaseOf(
    node: string,
  ): Promise<{ subnet: string; publicIp: string; mac?: string; revision?: number } | undefined> {
    const env = (await this.#c.subnetEnv(node))?.["FLANNEL_SUBNET"];
    if (!env) return undefined;
    const subnet = formatCidr(parseCidr(env));
    const l = (await this.#c.leases().catch(() => [])).find((x) => x.subnet === subnet);
    if (!l) return { subnet, publicIp: "" };
    const data = l.attrs.backendData as { VtepMAC?: string } | undefined;
    return {
      subnet,
      publicIp: l.publicIp,
      revision: l.modRevision,
      ...(data?.VtepMAC ? { mac: data.VtepMAC.toLowerCase() } : {}),
    };
  }

  /**
   * Waits for an agent started again after `since` to have done its own start-up: written subnet.env after
   * `since` and rewritten its lease in etcd (a new mod revision), both of which every agent does once it holds
   * its lease. Until then subnet.env and the lease are what the stopped process left behind, and checks that
   * read them would pass at once. Returns when.
   */
  async #restartedAgentReady(
    node: string,
    since: number,
    before: { readonly revision?: number } | undefined,
    deadline: number,
  ): Promise<number> {
    for (;;) {
      const st = await Deno.stat(`${this.#c.nodeDir(node)}/subnet.env`).catch(() => undefined);
      const wrote = (st?.mtime?.getTime() ?? 0) >= since;
      const now = wrote ? await this.#leaseOf(node) : undefined;
      const leased = now?.revision !== undefined &&
        (before?.revision === undefined || now.revision > before.revision);
      if (wrote && leased) return Date.now();
      if (Date.now() > deadline) {
        throw new Failed(
          `${node}'s restarted agent did not ${
            wrote ? "rewrite its lease in etcd" : "write subnet.env"
          } within the step's timeout: it is not up (see ${node}/agent.log)`,
        );
      }
      await sleep(100);
    }
  }

  /** Deletes a kernel entry by hand, as an operator (or another program) might. */
  async #deleteEntry(f: Extract<Fault, { kind: "delete" }>): Promise<string> {
    const c = this.#c;
    const dev = `flannel.${this.#sc.vni}`;
    let cmd: string[];
    let what: string;
    if (f.what === "vxlan-device") {
      cmd = ["ip", "link", "del", dev];
      what = `the vxlan device ${dev}`;
    } else {
      const peer = await this.#leaseOf(f.peer!);
      if (!peer) throw new Failed(`${f.peer} holds no lease: nothing to delete on ${f.node}`);
      const addr = peer.subnet.split("/")[0]!;
      if (f.what === "route") {
        cmd = ["ip", "route", "del", peer.subnet];
        what = `the route to ${peer.subnet}`;
      } else if (f.what === "neigh") {
        cmd = ["ip", "neigh", "del", addr, "dev", dev];
        what = `the neighbour ${addr} on ${dev}`;
      } else {
        if (!peer.mac) throw new Failed(`${f.peer}'s lease has no VtepMAC: no FDB entry to delete`);
        cmd = ["bridge", "fdb", "del", peer.mac, "dev", dev, "dst", peer.publicIp, "self"];
        what = `the FDB entry ${peer.mac} dst ${peer.publicIp}`;
      }
    }
    const r = await c.runtime.exec(c.topo, f.node, cmd, { check: false, timeoutMs: 10_000 });
    if (r.code !== 0) {
      throw new Failed(`could not delete ${what} on ${f.node}: ${(r.stderr || r.stdout).trim()}`);
    }
    return `deleted ${what} on ${f.node} (${cmd.join(" ")})`;
  }

  /** Applies a fault; returns what was done. */
  async #inject(f: Fault, mark: (what: string) => void): Promise<string> {
    const c = this.#c;
    switch (f.kind) {
      case "link":
        await c.runtime.impair(c.topo, f.node, f.iface, { kind: f.set });
        mark(`${f.node}:${f.iface} ${f.set}`);
        return `${f.node}:${f.iface} set ${f.set}`;
      case "link-mtu":
        await c.runtime.impair(c.topo, f.node, f.iface, { kind: "mtu", mtu: f.mtu });
        mark(`${f.node}:${f.iface} mtu ${f.mtu}`);
        return `${f.node}:${f.iface} mtu ${f.mtu}`;
      case "netem": {
        if (f.reset) {
          await c.runtime.impair(c.topo, f.node, f.iface, { kind: "reset" });
          mark(`${f.node}:${f.iface} impairments removed`);
          return `impairments removed from ${f.node}:${f.iface}`;
        }
        try {
          await c.runtime.impair(c.topo, f.node, f.iface, {
            kind: "netem",
            ...(f.delayMs !== undefined ? { delayMs: f.delayMs } : {}),
            ...(f.jitterMs !== undefined ? { jitterMs: f.jitterMs } : {}),
            ...(f.lossPct !== undefined ? { lossPct: f.lossPct } : {}),
            ...(f.rateKbit !== undefined ? { rateKbit: f.rateKbit } : {}),
          });
        } catch (error) {
          const hint = (error as { hint?: string }).hint;
          throw new Failed(`${(error as Error).message}${hint ? ` (${hint})` : ""}`);
        }
        const what = [
          f.lossPct !== undefined ? `loss ${f.lossPct}% (random-drop rule)` : "",
          f.rateKbit !== undefined ? `rate ${f.rateKbit} kbit/s (tbf)` : "",
          f.delayMs !== undefined ? `delay ${f.delayMs} ms` : "",
        ].filter(Boolean).join(", ");
        mark(`${f.node}:${f.iface} ${what}`);
        return `${f.node}:${f.iface} impaired: ${what}`;
      }
      case "agent": {
        if (f.action === "start") {
          await c.startAgent(f.node);
          mark(`${f.node}'s agent started`);
          return `started ${f.node}'s agent`;
        }
        await c.stopAgent(f.node, f.action === "kill" ? f.signal : "SIGTERM");
        mark(`${f.node}'s agent ${f.action === "kill" ? `killed (${f.signal})` : "stopped"}`);
        let message = `${f.action === "kill" ? `killed (${f.signal})` : "stopped"} ${f.node}'s agent`;
        if (f.action === "restart" || f.restartAfterMs !== undefined) {
          await sleep(f.restartAfterMs ?? 0);
          await c.startAgent(f.node);
          mark(`${f.node}'s agent restarted`);
          message += `, restarted after ${f.restartAfterMs ?? 0} ms`;
        }
        return message;
      }
      case "etcd":
        if (f.action === "stop") await c.stopEtcd();
        else await c.startEtcd();
        mark(`etcd ${f.action === "stop" ? "stopped" : "started"}`);
        return `etcd ${f.action === "stop" ? "stopped" : "started"}`;
      case "lease-delete": {
        const key = await c.deleteLease(f.node);
        mark(key ? `deleted ${key}` : `no lease of ${f.node}`);
        return key ? `deleted ${key}` : `${f.node} had no lease to delete`;
      }
      case "delete": {
        const m = await this.#deleteEntry(f);
        mark(m);
        return m;
      }
    }
  }

  /** Reverts a windowed fault at the end of its window. */
  async #revert(f: Fault, mark: (what: string) => void): Promise<string> {
    const c = this.#c;
    switch (f.kind) {
      case "link":
        await c.runtime.impair(c.topo, f.node, f.iface, { kind: f.set === "down" ? "up" : "down" });
        mark(`${f.node}:${f.iface} ${f.set === "down" ? "up" : "down"} again`);
        return `${f.node}:${f.iface} set ${f.set === "down" ? "up" : "down"} again`;
      case "link-mtu": {
        const link = c.topo.links.find((l) =>
          (l.a.node === f.node && l.a.iface === f.iface) || (l.b.node === f.node && l.b.iface === f.iface)
        );
        const mtu = link?.mtu ?? 1500;
        await c.runtime.impair(c.topo, f.node, f.iface, { kind: "mtu", mtu });
        mark(`${f.node}:${f.iface} mtu ${mtu} again`);
        return `mtu ${mtu} restored`;
      }
      case "netem":
        await c.runtime.impair(c.topo, f.node, f.iface, { kind: "reset" });
        mark(`${f.node}:${f.iface} impairments removed`);
        return "impairments removed";
      case "agent":
        if (f.action === "start") {
          await c.stopAgent(f.node);
          mark(`${f.node}'s agent stopped again`);
          return "agent stopped again";
        }
        await c.startAgent(f.node);
        mark(`${f.node}'s agent started again`);
        return "agent started again";
      case "etcd":
        if (f.action === "stop") await c.startEtcd();
        else await c.stopEtcd();
        mark(`etcd ${f.action === "stop" ? "started" : "stopped"} again`);
        return `etcd ${f.action === "stop" ? "started" : "stopped"} again`;
      case "lease-delete":
      case "delete":
        return "nothing to revert";
    }
  }

  async #fault(step: Step, f: Fault, e: Expect, timeoutMs: number): Promise<Outcome> {
    const c = this.#c;
    const timeline: TimelineEvent[] = [];
    const mark = (what: string) => timeline.push({ t: Date.now(), what });
    const metrics: Record<string, number> = {};
    const details: string[] = [];
    const artifacts: string[] = [];
    const fail = (msg: string, more: string[] = []) =>
      new Failed(msg, [...details, ...more], { timeline, metrics, artifacts });
    const wantsProbe = e.recoversWithinMs !== undefined || e.probeLoss !== undefined ||
      e.maxOutageMs !== undefined;
    const judgement = e.lateAfterMs === undefined ? {} : { lateMs: e.lateAfterMs };
    const pair = wantsProbe ? this.#probePair(f) : undefined;
    const node = "node" in f && f.kind !== "link" && f.kind !== "link-mtu" && f.kind !== "netem"
      ? f.node
      : undefined;
    const before = node ? await this.#leaseOf(node) : undefined;
    const probe = pair ? await this.#startProbe(step, pair) : undefined;
    if (probe) {
      artifacts.push(probe.file);
      mark(`probe ${pair![0].id} -> ${pair![1].id} every ${PROBE_INTERVAL_MS} ms`);
      await sleep(400); // a baseline before the fault
    }
    let messages: string[] = [];
    try {
      const injectedAt = Date.now();
      messages.push(await this.#inject(f, mark));
      if (f.forMs !== undefined) {
        await sleep(f.forMs);
        messages.push(`after ${f.forMs / 1000} s: ${await this.#revert(f, mark)}`);
      }
      // A restarted agent: the window lasts until the new process holds its lease, so the probe covers its
      // start-up reconcile and the lease checks below read what the new process wrote.
      const comesBack = f.kind === "agent" &&
        (f.action === "restart" || f.restartAfterMs !== undefined ||
          (f.action !== "start" && f.forMs !== undefined));
      if (comesBack) {
        const readyAt = await this.#restartedAgentReady(f.node, injectedAt, before, injectedAt + timeoutMs);
        metrics["agentReadyMs"] = readyAt - injectedAt;
        mark(`${f.node}'s new agent holds its lease`);
        messages.push(`the new agent held its lease ${readyAt - injectedAt} ms after the ${f.action}`);
      }
      const endAt = Date.now();
      const deadline = injectedAt + timeoutMs;

      if (e.restoredWithinMs !== undefined && f.kind === "delete") {
        let last: StateDiff | undefined;
        let restoredAt: number | undefined;
        while (Date.now() < Math.max(deadline, injectedAt + e.restoredWithinMs + 2000)) {
          last = (await this.#kernelDiff(f.node).catch(() => undefined))?.diff;
          if (last && diffEmpty(last)) {
            restoredAt = Date.now();
            break;
          }
          await sleep(50);
        }
        if (restoredAt === undefined) {
          throw fail(`${f.node}'s kernel state was not restored`, last ? formatDiff(last) : []);
        }
        metrics["restoredMs"] = restoredAt - injectedAt;
        mark(`${f.node}'s kernel state matches the leases again`);
        messages.push(`restored in ${restoredAt - injectedAt} ms`);
        if (restoredAt - injectedAt > e.restoredWithinMs) {
          throw fail(
            `${f.node}'s kernel state was restored after ${
              restoredAt - injectedAt
            } ms, later than ${e.restoredWithinMs} ms`,
          );
        }
      }

      if (node && (e.sameSubnet || e.sameVtepMac) && before) {
        // The restarted agent rewrites subnet.env; wait for its lease in etcd to carry the same subnet (and MAC).
        for (;;) {
          const now = await this.#leaseOf(node);
          const okSubnet = !e.sameSubnet || now?.subnet === before.subnet && now.publicIp !== "";
          const okMac = !e.sameVtepMac || (now?.mac !== undefined && now.mac === before.mac);
          if (okSubnet && okMac) break;
          if (Date.now() > deadline) {
            throw fail(
              `${node} did not keep its ${!okSubnet ? `subnet ${before.subnet} (now ${now?.subnet})` : ""}${
                !okSubnet && !okMac ? " and " : ""
              }${!okMac ? `VTEP MAC ${before.mac} (now ${now?.mac})` : ""}`,
            );
          }
          await sleep(250);
        }
        messages.push(
          [
            e.sameSubnet ? `kept subnet ${before.subnet}` : "",
            e.sameVtepMac ? `kept VTEP MAC ${before.mac}` : "",
          ]
            .filter(Boolean).join(" and "),
        );
      }

      if (e.goneFromPeersWithinMs !== undefined && node && before) {
        const peers = c.agentNodes.filter((n) => n.name !== node && c.agentRunning(n.name));
        const addr = before.subnet.split("/")[0]!;
        const refers = (x: Entry) =>
          x.key === before.subnet || x.key.startsWith(`${addr} `) ||
          (before.publicIp !== "" && x.value.includes(`dst ${before.publicIp} `));
        let left: string[] = [];
        let goneAt: number | undefined;
        while (Date.now() < injectedAt + Math.max(e.goneFromPeersWithinMs + 2000, timeoutMs)) {
          left = [];
          for (const p of peers) {
            const st = await this.#kernelState(p.name).catch(() => undefined);
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
        if (goneAt === undefined) throw fail(`${node}'s entries are still on its peers`, left);
        metrics["goneMs"] = goneAt - injectedAt;
        mark(`${node}'s entries gone from ${peers.map((p) => p.name).join(", ")}`);
        messages.push(`its entries left every peer after ${goneAt - injectedAt} ms`);
        if (goneAt - injectedAt > e.goneFromPeersWithinMs) {
          throw fail(
            `${node}'s entries left its peers after ${
              goneAt - injectedAt
            } ms, later than ${e.goneFromPeersWithinMs} ms`,
          );
        }
      }

      if (probe) {
        const limit = e.recoversWithinMs ?? Math.max(timeoutMs - (endAt - injectedAt), 5000);
        let samples: ProbeSample[] = [];
        let recovered: number | undefined;
        while (Date.now() < endAt + limit + 1000) {
          samples = await this.#samples(probe.file);
          recovered = recoveredAt(samples, endAt - 100, 5, judgement);
          if (recovered !== undefined) break;
          await sleep(100);
        }
        // A path that never broke "recovers" with its first probe after the fault: count from the fault's end.
        const recoveryMs = recovered === undefined ? undefined : Math.max(0, Math.round(recovered - endAt));
        const loss = probeWindow(samples, injectedAt, recovered ?? Date.now(), judgement);
        metrics["probeSent"] = loss.sent;
        metrics["probeLost"] = loss.lost;
        metrics["probeLate"] = loss.late;
        metrics["probeErrors"] = loss.errors;
        metrics["probeLossPct"] = loss.lossPct;
        metrics["probeOutageMs"] = loss.outageMs;
        metrics["probeMaxRttMs"] = loss.maxRttMs;
        if (recoveryMs !== undefined) metrics["recoveryMs"] = recoveryMs;
        const lostHow = [
          loss.late ? `${loss.late} answered later than ${e.lateAfterMs ?? 1000} ms` : "",
          loss.errors ? `${loss.errors} ICMP errors` : "",
        ].filter(Boolean).join(", ");
        details.push(
          `probe ${pair![0].id} -> ${pair![1].id}: ${loss.lost} of ${loss.sent} lost (${loss.lossPct}%${
            lostHow ? `; ${lostHow}` : ""
          }) from the fault to recovery, longest outage ${loss.outageMs} ms, max RTT ${loss.maxRttMs} ms; ${
            recoveryMs === undefined
              ? "not recovered"
              : `answers steadily ${recoveryMs} ms after the fault${
                f.forMs !== undefined ? " window" : ""
              } ended`
          }`,
        );
        if (recovered !== undefined) mark(`probe answers steadily again`);
        if (e.recoversWithinMs !== undefined) {
          if (recoveryMs === undefined || recoveryMs > e.recoversWithinMs) {
            throw fail(
              `the probe did not recover within ${e.recoversWithinMs} ms${
                recoveryMs !== undefined ? ` (took ${recoveryMs} ms)` : ""
              }`,
            );
          }
          // Every other cross-node pair must answer too.
          const rest = Math.max(e.recoversWithinMs - recoveryMs, 2000);
          await this.#probe(node, rest).catch((error) => {
            throw fail((error as Error).message);
          });
          messages.push(`pods reach each other again ${recoveryMs} ms after the fault`);
        }
        if (e.probeLoss && !withinBound(loss.lossPct, e.probeLoss)) {
          throw fail(`probe loss ${loss.lossPct}% is not ${e.probeLoss.op} ${e.probeLoss.pct}%`);
        }
        if (e.probeLoss) messages.push(`probe loss ${loss.lossPct}% (${e.probeLoss.op} ${e.probeLoss.pct}%)`);
        if (e.maxOutageMs !== undefined && loss.outageMs > e.maxOutageMs) {
          throw fail(
            `the probe saw an outage of ${loss.outageMs} ms, longer than max-outage ${e.maxOutageMs} ms`,
          );
        }
        if (e.maxOutageMs !== undefined) {
          messages.push(`longest outage ${loss.outageMs} ms (<= ${e.maxOutageMs} ms)`);
        }
      } else if (e.recoversWithinMs !== undefined) {
        const ms = await this.#probe(node, e.recoversWithinMs).catch((error) => {
          throw fail((error as Error).message);
        });
        metrics["recoveryMs"] = ms;
        messages.push(`pods reach each other again after ${ms} ms`);
      }
    } finally {
      await probe?.proc.stop("SIGINT");
    }
    messages = messages.filter(Boolean);
    return { message: messages.join("; "), details, metrics, timeline, artifacts };
  }

  /** iperf3 from a client namespace to a server address; returns Mbit/s. */
  async #iperf(
    server: { node: string; netns?: string; ip: string },
    client: { node: string; netns?: string },
    seconds: number,
    log: string,
  ): Promise<number> {
    const c = this.#c;
    const inNs = (x: { netns?: string }, cmd: string[]) =>
      x.netns ? ["ip", "netns", "exec", x.netns, ...cmd] : cmd;
    const srv = await c.runtime.spawn(
      c.topo,
      server.node,
      inNs(server, ["iperf3", "-s", "-1", "-p", "5201"]),
      {
        logFile: log,
        graceMs: 1000,
      },
    );
    try {
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

  /** The underlay address of a node's agent interface. */
  #underlayIp(node: string): string {
    const spec = this.#c.topo.nodes.find((n) => n.name === node)!;
    const cidr = spec.agentIface ? spec.addresses[spec.agentIface]?.[0] : undefined;
    if (!cidr) throw new Failed(`${node} has no address on its agent interface to measure the baseline with`);
    return cidr.split("/")[0]!;
  }

  async #throughput(from: string, to: string, seconds: number, repeats: number, e: Expect): Promise<Outcome> {
    const c = this.#c;
    const server = c.pod(to);
    const client = c.pod(from);
    const podRuns: number[] = [];
    const nodeRuns: number[] = [];
    const log = `${c.labDir}/${server.node}/iperf3-server.log`;
    for (let i = 0; i < repeats; i++) {
      // Interleaved, so that drift in the host's load hits both series alike.
      nodeRuns.push(
        await this.#iperf(
          { node: server.node, ip: this.#underlayIp(server.node) },
          { node: client.node },
          seconds,
          log,
        ),
      );
      podRuns.push(
        await this.#iperf({ node: server.node, netns: server.netns, ip: server.ip }, client, seconds, log),
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
    const band = e.ratio;
    if (band && !inBand(ratio, band)) {
      throw new Failed(`throughput ratio ${ratio} is outside ${bandText(band)}`, details, { metrics });
    }
    return {
      message: `pod-to-pod ${
        round(pod.mean, 0)
      } Mbit/s = ${ratio} × node-to-node (${repeats} repeats, ${seconds} s each; ${
        band ? `within ${bandText(band)}` : "recorded, not asserted"
      })`,
      details,
      metrics,
    };
  }

  async #pingRtts(from: { node: string; netns?: string }, ip: string, count: number): Promise<number[]> {
    const c = this.#c;
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

  async #latency(from: string, to: string, count: number, repeats: number, e: Expect): Promise<Outcome> {
    const c = this.#c;
    const a = c.pod(from);
    const b = c.pod(to);
    const pod = { p50: [] as number[], p99: [] as number[] };
    const node = { p50: [] as number[], p99: [] as number[] };
    for (let i = 0; i < repeats; i++) {
      const n = await this.#pingRtts({ node: a.node }, this.#underlayIp(b.node), count);
      const p = await this.#pingRtts(a, b.ip, count);
      if (!n.length || !p.length) throw new Failed(`no ping answers (${p.length} pod, ${n.length} node)`);
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
      throw new Failed(`p50 latency ratio ${r50} is outside ${bandText(e.ratio)}`, details, { metrics });
    }
    return {
      message: `pod-to-pod p50 ${round(s.pod50.mean, 3)} ms = ${r50} × node-to-node, p99 ${
        round(s.pod99.mean, 3)
      } ms = ${r99} × (${repeats} repeats; ${
        e.ratio ? `p50 ratio within ${bandText(e.ratio)}` : "recorded, not asserted"
      })`,
      details,
      metrics,
    };
  }
}

function bandText(b: { min?: number; max?: number }): string {
  return b.min !== undefined && b.max !== undefined
    ? `${b.min}..${b.max}`
    : b.min !== undefined
    ? `>= ${b.min}`
    : `<= ${b.max}`;
}
