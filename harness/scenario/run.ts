/**
 * The scenario engine: runs a scenario's steps in order on a cluster, each retried until it holds or its
 * timeout passes, with every attempt recorded. A failed step does not stop the run unless it is `critical`.
 *
 * @module
 */
import { spawn } from "../process.ts";
import type { Cluster, Pod } from "../cluster.ts";
import type { Action, Expect, Fault, PingSpec, Scenario, Step } from "./model.ts";
import {
  diffRoutes,
  expectedPodMtu,
  expectedReach,
  expectedRoutes,
  formatRoute,
  type RouteEntry,
} from "./expect.ts";

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
}

/** Called as steps start and finish. */
export interface Progress {
  stepStarted(step: Step): void;
  stepFinished(result: StepResult): void;
}

class Failed extends Error {
  constructor(message: string, readonly details: string[] = []) {
    super(message);
  }
}

interface Outcome {
  message: string;
  details?: string[];
  artifacts?: string[];
  metrics?: Record<string, number>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

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

  constructor(cluster: Cluster, scenario: Scenario) {
    this.#c = cluster;
    this.#sc = scenario;
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
        };
        results.push(r);
        progress.stepFinished(r);
        continue;
      }
      const started = performance.now();
      let attempts = 0;
      let result: StepResult;
      try {
        const o = await this.#step(step, () => attempts++);
        result = {
          step,
          status: "pass",
          attempts,
          durationMs: Math.round(performance.now() - started),
          message: o.message,
          details: o.details ?? [],
          artifacts: o.artifacts ?? [],
          metrics: o.metrics ?? {},
        };
      } catch (error) {
        result = {
          step,
          status: "fail",
          attempts,
          durationMs: Math.round(performance.now() - started),
          message: error instanceof Error ? error.message : String(error),
          details: error instanceof Failed ? error.details : [],
          artifacts: [],
          metrics: {},
        };
        if (step.critical) stop = true;
      }
      results.push(result);
      progress.stepFinished(result);
    }
    return results;
  }

  #step(step: Step, count: () => void): Promise<Outcome> {
    const a: Action = step.action;
    const e: Expect = step.expect;
    const t = step.timeoutMs;
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
      case "leases":
        return retry(t, () => this.#leases(e), count);
      case "agent-log":
        return retry(t, async () => {
          const log = await this.#c.agentLog(a.node);
          const m = new RegExp(a.pattern).exec(log);
          if (!m) throw new Failed(`${a.node}'s agent log has no line matching /${a.pattern}/`);
          const line = log.slice(log.lastIndexOf("\n", m.index) + 1).split("\n")[0] ?? "";
          return { message: `found: ${line.slice(0, 300)}` };
        }, count);
      case "fault":
        count();
        return this.#fault(a.fault, e, t);
      case "throughput":
        count();
        return this.#throughput(a.from, a.to, a.seconds);
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
    for (const n of nodes) {
      const have = this.#c.pods.filter((p) => p.node === n.name).length;
      if (have < this.#sc.podsPerNode) await this.#c.addPods(n.name, this.#sc.podsPerNode - have);
    }
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
    for (const a of nodes) {
      const env = await this.#c.subnetEnv(a.name);
      const mtu = Number(env?.["FLANNEL_MTU"]);
      const want = expectedPodMtu(this.#c.topo, this.#sc, a);
      if (want !== undefined && mtu !== want) {
        problems.push(`${a.name}: FLANNEL_MTU ${mtu}, expected ${want}`);
      }
      for (const b of nodes) {
        if (a === b || !expectedReach(this.#sc, a, b).pass) continue;
        const from = this.#c.pods.find((p) => p.node === a.name)!;
        const to = this.#c.pods.find((p) => p.node === b.name)!;
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
        if (!at.ok) problems.push(`${from.id} -> ${to.id}: DF ping at pod MTU ${mtu} failed`);
        if (over.ok || !local) problems.push(`${from.id} -> ${to.id}: pod MTU + 1 did not fail locally`);
      }
    }
    if (problems.length) throw new Failed(problems.join("; "), details);
    return { message: `DF at pod MTU passes and +1 fails locally on ${details.length} paths`, details };
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

  async #kernel(node: string): Promise<Outcome> {
    const c = this.#c;
    const self = c.topo.nodes.find((n) => n.name === node)!;
    const own = (await c.subnetEnv(node))?.["FLANNEL_SUBNET"];
    const leases = await c.leases();
    const peers = leases
      .filter((l) => !own || !sameNet(l.subnet, own))
      .map((l) => ({
        subnet: l.subnet,
        publicIp: l.publicIp,
        ...(c.topo.nodes.find((n) =>
            n.agentIface && n.addresses[n.agentIface]?.[0]?.startsWith(`${l.publicIp}/`)
          )
          ? {
            node: c.topo.nodes.find((n) =>
              n.agentIface && n.addresses[n.agentIface]?.[0]?.startsWith(`${l.publicIp}/`)
            )!,
          }
          : {}),
      }));
    const expected = expectedRoutes(this.#sc, self, peers);
    const r = await c.runtime.exec(c.topo, node, ["ip", "-j", "-4", "route", "show"], { check: false });
    const net = JSON.parse(this.#sc.network)["Network"] as string;
    const actual: RouteEntry[] = (JSON.parse(r.stdout || "[]") as {
      dst: string;
      gateway?: string;
      dev: string;
      flags?: string[];
    }[])
      .filter((x) =>
        x.dst !== "default" && x.dst.includes("/") && inNet(x.dst, net) && !(own && sameNet(x.dst, own))
      )
      .map((x) => ({
        dst: x.dst,
        ...(x.gateway ? { gateway: x.gateway } : {}),
        dev: x.dev,
        onlink: (x.flags ?? []).includes("onlink"),
      }));
    const d = diffRoutes(expected, actual);
    const lines = [
      ...d.missing.map((m) => `missing:   ${formatRoute(m)}`),
      ...d.extra.map((m) => `extra:     ${formatRoute(m)}`),
      ...d.different.map((m) => `different: ${formatRoute(m.actual)} (expected ${formatRoute(m.expected)})`),
    ];
    if (lines.length) {
      throw new Failed(`${node}'s routes differ from the leases (${lines.length} entries)`, lines);
    }
    return {
      message: `${node} holds the ${expected.length} routes its ${peers.length} peers' leases call for`,
      details: expected.map(formatRoute),
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
    return {
      message: `${leases.length} leases: ${leases.map((l) => `${l.subnet}@${l.publicIp}`).join(", ")}`,
    };
  }

  /** Pings from a pod of `node` to a pod of every other reachable node until all answer. */
  async #probe(node: string | undefined, deadlineMs: number): Promise<number> {
    const started = performance.now();
    const pods = this.#c.pods;
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

  async #fault(f: Fault, e: Expect, timeoutMs: number): Promise<Outcome> {
    const c = this.#c;
    let message = "";
    let node: string | undefined;
    switch (f.kind) {
      case "link":
        await c.runtime.impair(c.topo, f.node, f.iface, { kind: f.set });
        message = `${f.node}:${f.iface} set ${f.set}`;
        break;
      case "link-mtu":
        await c.runtime.impair(c.topo, f.node, f.iface, { kind: "mtu", mtu: f.mtu });
        message = `${f.node}:${f.iface} mtu ${f.mtu}`;
        break;
      case "netem":
        await c.runtime.impair(
          c.topo,
          f.node,
          f.iface,
          f.reset ? { kind: "reset" } : {
            kind: "netem",
            ...(f.delayMs !== undefined ? { delayMs: f.delayMs } : {}),
            ...(f.lossPct !== undefined ? { lossPct: f.lossPct } : {}),
          },
        );
        message = `netem ${f.reset ? "reset" : "applied"} on ${f.node}:${f.iface}`;
        break;
      case "agent": {
        node = f.node;
        const before = (await c.subnetEnv(f.node))?.["FLANNEL_SUBNET"];
        if (f.action === "start") {
          await c.startAgent(f.node);
          message = `started ${f.node}'s agent`;
        } else {
          await c.stopAgent(f.node, f.action === "kill" ? f.signal : "SIGTERM");
          message = `${f.action === "kill" ? `killed (${f.signal})` : "stopped"} ${f.node}'s agent`;
          if (f.action === "restart" || f.restartAfterMs !== undefined) {
            await sleep(f.restartAfterMs ?? 0);
            await c.startAgent(f.node);
            message += `, restarted after ${f.restartAfterMs ?? 0} ms`;
          }
        }
        if (e.sameSubnet) {
          // The restarted agent rewrites subnet.env; wait for its lease in etcd to carry the same subnet.
          const deadline = Date.now() + timeoutMs;
          for (;;) {
            const leases = await c.leases().catch(() => []);
            const env = (await c.subnetEnv(f.node))?.["FLANNEL_SUBNET"];
            if (before && env && sameNet(env, before) && leases.some((l) => sameNet(l.subnet, before))) break;
            if (Date.now() > deadline) {
              throw new Failed(`${f.node} did not keep subnet ${before} (subnet.env: ${env})`);
            }
            await sleep(250);
          }
          message += `; kept subnet ${before}`;
        }
        break;
      }
      case "etcd":
        if (f.action === "stop") await c.stopEtcd();
        else await c.startEtcd();
        message = `etcd ${f.action === "stop" ? "stopped" : "started"}`;
        break;
      case "lease-delete": {
        const key = await c.deleteLease(f.node);
        message = key ? `deleted ${key}` : `${f.node} had no lease to delete`;
        break;
      }
    }
    if (e.recoversWithinMs !== undefined) {
      const ms = await this.#probe(node, e.recoversWithinMs);
      return {
        message: `${message}; pods reach each other again after ${ms} ms`,
        metrics: { recoveryMs: ms },
      };
    }
    return { message };
  }

  async #throughput(from: string, to: string, seconds: number): Promise<Outcome> {
    const c = this.#c;
    const server = c.pod(to);
    const client = c.pod(from);
    const srv = await spawn(["ip", "netns", "exec", server.netns, "iperf3", "-s", "-1", "-p", "5201"], {
      logFile: `${c.labDir}/${server.node}/iperf3-server.log`,
    });
    try {
      let r = { code: 1, stdout: "", stderr: "" };
      for (let i = 0; i < 20 && r.code !== 0; i++) {
        await sleep(150);
        r = await c.podExec(client, ["iperf3", "-c", server.ip, "-p", "5201", "-t", String(seconds), "-J"], {
          timeoutMs: (seconds + 15) * 1000,
        });
      }
      if (r.code !== 0) throw new Failed(`iperf3 failed: ${(r.stderr || r.stdout).slice(-300)}`);
      const j = JSON.parse(r.stdout) as { end: { sum_received: { bits_per_second: number } } };
      const mbps = Math.round(j.end.sum_received.bits_per_second / 1e6);
      return {
        message: `${from} -> ${to}: ${mbps} Mbit/s over ${seconds} s (recorded, not asserted)`,
        metrics: { mbps },
      };
    } finally {
      await srv.stop();
    }
  }
}

function toInt(ip: string): number {
  return ip.split(".").reduce((a, b) => (a << 8) + Number(b), 0) >>> 0;
}
function inNet(cidr: string, net: string): boolean {
  const [ip] = cidr.split("/");
  const [nip, nlen] = net.split("/");
  const mask = Number(nlen) === 0 ? 0 : (~0 << (32 - Number(nlen))) >>> 0;
  return ((toInt(ip!) & mask) >>> 0) === ((toInt(nip!) & mask) >>> 0);
}
function sameNet(a: string, b: string): boolean {
  return a.split("/")[1] === b.split("/")[1] && inNet(a, b);
}
