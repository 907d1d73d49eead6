/**
 * `*.scenario.yml` → {@linkcode Scenario}. Every key is checked: an unknown one is an error naming the file, the
 * line and the keys allowed there; node, pod and link names are checked against the topology. Pure.
 *
 * @module
 */
import { InputError, type Problem } from "../topology/errors.ts";
import { parseSource, type SourceDoc } from "../topology/source.ts";
import type { Topology } from "../topology/model.ts";
import type {
  Action,
  DeletableEntry,
  Expect,
  Fault,
  PercentBound,
  PingSpec,
  RatioBand,
  Scenario,
  Step,
} from "./model.ts";

type Obj = Record<string, unknown>;
type Path = (string | number)[];

const DEFAULT_TIMEOUT_MS = 30_000;
const STEP_KINDS = [
  "wait",
  "sleep",
  "connectivity",
  "mtu",
  "ping",
  "capture",
  "kernel",
  "mirror",
  "leases",
  "agent-log",
  "fault",
  "throughput",
  "latency",
] as const;
const STEP_COMMON = ["name", "timeout", "critical", "expect", "fails-with"];

/**
 * Parses a duration: `500ms`, `30s`, `2m`, or a number of seconds.
 *
 * @param v the value
 * @returns milliseconds, or undefined when it is not a duration
 */
export function parseDuration(v: unknown): number | undefined {
  if (typeof v === "number" && v >= 0) return v * 1000;
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)$/.exec(String(v).trim());
  if (!m) return undefined;
  const n = Number(m[1]);
  return m[2] === "ms" ? n : m[2] === "s" ? n * 1000 : n * 60_000;
}

class Reader {
  readonly problems: Problem[] = [];
  constructor(readonly doc: SourceDoc, readonly topo: Topology) {}

  fail(path: Path, message: string, key = false): undefined {
    this.problems.push(this.doc.problem(path, message, { key }));
    return undefined;
  }

  obj(v: unknown, path: Path, allowed: readonly string[], required: readonly string[] = []): Obj | undefined {
    if (typeof v !== "object" || v === null || Array.isArray(v)) {
      return this.fail(path, `must be a mapping with keys ${allowed.join(", ")}`);
    }
    const o = v as Obj;
    for (const k of Object.keys(o)) {
      if (!allowed.includes(k)) {
        this.fail([...path, k], `unknown key "${k}"; allowed here: ${allowed.join(", ")}`, true);
      }
    }
    for (const k of required) if (!(k in o)) this.fail(path, `missing key "${k}"`);
    return o;
  }

  /**
   * Rejects keys of `o` that the form it turned out to be does not use (a fault's kind, an action), so a key
   * that would be silently ignored is an error naming the keys that apply there.
   */
  only(o: Obj, path: Path, allowed: readonly string[], what: string): boolean {
    let ok = true;
    for (const k of Object.keys(o)) {
      if (allowed.includes(k)) continue;
      ok = false;
      this.fail([...path, k], `"${k}" does not apply to ${what}; allowed there: ${allowed.join(", ")}`, true);
    }
    return ok;
  }

  int(v: unknown, path: Path, min = 0): number | undefined {
    if (typeof v !== "number" || !Number.isInteger(v) || v < min) {
      return this.fail(path, `must be a whole number ≥ ${min}`);
    }
    return v;
  }

  duration(v: unknown, path: Path): number | undefined {
    const d = parseDuration(v);
    if (d === undefined) {
      return this.fail(path, `must be a duration like 500ms, 30s or 2m, not ${JSON.stringify(v)}`);
    }
    return d;
  }

  node(v: unknown, path: Path, role?: string): string | undefined {
    const name = String(v);
    const n = this.topo.nodes.find((x) => x.name === name);
    if (!n) {
      return this.fail(
        path,
        `node "${name}" is not in the topology (${this.topo.nodes.map((x) => x.name).join(", ")})`,
      );
    }
    if (role && n.role !== role) return this.fail(path, `node "${name}" is a ${n.role}, not a ${role}`);
    return name;
  }

  link(v: unknown, path: Path): { node: string; iface: string } | undefined {
    const m = /^([^:]+):(.+)$/.exec(String(v));
    if (!m) return this.fail(path, `must be "node:interface", not ${JSON.stringify(v)}`);
    const node = this.node(m[1], path);
    if (!node) return undefined;
    const spec = this.topo.nodes.find((x) => x.name === node)!;
    if (!spec.interfaces.includes(m[2]!)) {
      return this.fail(
        path,
        `${node} has no link interface "${m[2]}" (it has ${spec.interfaces.join(", ")})`,
      );
    }
    return { node, iface: m[2]! };
  }

  /** A pod `node/pN` (checked against pods per node) or a node name (a node as ping source). */
  endpoint(v: unknown, path: Path, pods: number, allowNode: boolean): string | undefined {
    const s = String(v);
    const m = /^([^/]+)\/p(\d+)$/.exec(s);
    if (m) {
      const node = this.node(m[1], path, "node");
      if (!node) return undefined;
      if (Number(m[2]) < 1 || Number(m[2]) > pods) {
        return this.fail(path, `pod "${s}" does not exist: nodes have ${pods} pods`);
      }
      return s;
    }
    if (allowNode && this.node(s, path)) return s;
    return allowNode ? undefined : this.fail(path, `must be a pod "node/pN", not ${JSON.stringify(v)}`);
  }

  ping(v: unknown, path: Path, pods: number): PingSpec | undefined {
    const o = this.obj(v, path, ["from", "to", "count", "size", "dont-fragment"], ["from", "to"]);
    if (!o) return undefined;
    const from = this.endpoint(o["from"], [...path, "from"], pods, true);
    const to = this.endpoint(o["to"], [...path, "to"], pods, false);
    const count = o["count"] === undefined ? 3 : this.int(o["count"], [...path, "count"], 1);
    const size = o["size"] === undefined ? undefined : this.int(o["size"], [...path, "size"], 0);
    if (!from || !to || count === undefined) return undefined;
    return {
      from,
      to,
      count,
      ...(size !== undefined ? { size } : {}),
      dontFragment: o["dont-fragment"] === true,
    };
  }
}

const DELETABLE = ["route", "neigh", "fdb", "vxlan-device", "masquerade"] as const;
/** What can be deleted without naming a peer. */
const PEERLESS: readonly string[] = ["vxlan-device", "masquerade"];

/**
 * Parses a bound like `<= 5%`, `< 1%`, `0%` (meaning `<= 0%`).
 *
 * @param v the value
 * @returns the bound, or undefined when it is not one
 */
export function parsePercentBound(v: unknown): PercentBound | undefined {
  const m = /^\s*(<=|<|>=|>|==)?\s*(\d+(?:\.\d+)?)\s*%\s*$/.exec(String(v));
  if (!m || Number(m[2]) > 100) return undefined;
  return { op: (m[1] ?? "<=") as PercentBound["op"], pct: Number(m[2]) };
}

/**
 * Parses a ratio band: `">= 0.5"`, `"0.5..1.2"`, or `{min, max}`.
 *
 * @param v the value
 * @returns the band, or undefined when it is not one
 */
export function parseRatioBand(v: unknown): RatioBand | undefined {
  if (typeof v === "object" && v !== null && !Array.isArray(v)) {
    const o = v as Obj;
    const min = o["min"] === undefined ? undefined : Number(o["min"]);
    const max = o["max"] === undefined ? undefined : Number(o["max"]);
    if ((min !== undefined && !Number.isFinite(min)) || (max !== undefined && !Number.isFinite(max))) {
      return undefined;
    }
    return { ...(min !== undefined ? { min } : {}), ...(max !== undefined ? { max } : {}) };
  }
  const s = String(v).trim();
  const range = /^(\d+(?:\.\d+)?)\s*\.\.\s*(\d+(?:\.\d+)?)$/.exec(s);
  if (range) return { min: Number(range[1]), max: Number(range[2]) };
  const m = /^(>=|<=)\s*(\d+(?:\.\d+)?)$/.exec(s);
  if (!m) return undefined;
  return m[1] === ">=" ? { min: Number(m[2]) } : { max: Number(m[2]) };
}

/** Expectations the background probe answers; every fault kind takes them. */
const PROBE_EXPECT = ["recovers-within", "probe-loss", "max-outage", "late-after"] as const;

/**
 * The expectations each fault kind honours. Keyed by every kind, so a new kind does not compile until it says
 * what it checks.
 */
const FAULT_EXPECT: Readonly<Record<Fault["kind"], readonly string[]>> = {
  link: PROBE_EXPECT,
  "link-mtu": PROBE_EXPECT,
  netem: PROBE_EXPECT,
  delete: [...PROBE_EXPECT, "restored-within"],
  agent: [...PROBE_EXPECT, "same-subnet", "same-vtep-mac", "gone-from-peers-within"],
  etcd: PROBE_EXPECT,
  firewall: PROBE_EXPECT,
  "lease-delete": [...PROBE_EXPECT, "gone-from-peers-within"],
  "lease-take": [],
};

/** The expectation keys a fault takes; an agent's subnet and MAC can be compared only when it comes back. */
export function faultExpectKeys(f: Fault): readonly string[] {
  // The kernel check that judges restored-within does not read iptables.
  if (f.kind === "delete" && f.what === "masquerade") return PROBE_EXPECT;
  if (f.kind !== "agent") return FAULT_EXPECT[f.kind];
  const comesBack = f.action === "restart" || f.restartAfterMs !== undefined || f.forMs !== undefined;
  return FAULT_EXPECT.agent.filter((k) =>
    comesBack ? k !== "gone-from-peers-within" : k !== "same-subnet" && k !== "same-vtep-mac"
  );
}

function describeFaultKind(f: Fault): string {
  switch (f.kind) {
    case "link":
      return `a link set ${f.set}`;
    case "link-mtu":
      return "a link MTU change";
    case "netem":
      return "a link impairment";
    case "delete":
      return `deleting a ${f.what}`;
    case "agent":
      return `agent action ${f.action}${f.restartAfterMs !== undefined ? " with restart-after" : ""}`;
    case "etcd":
      return `etcd ${f.action}`;
    case "firewall":
      return f.rule === "drop" ? "a firewall drop" : "lifting a firewall drop";
    case "lease-delete":
      return "a lease deletion";
    case "lease-take":
      return "a lease given away";
  }
}

function parseFault(r: Reader, v: unknown, path: Path): Fault | undefined {
  const o = r.obj(v, path, [
    "link",
    "set",
    "mtu",
    "netem",
    "loss",
    "rate",
    "agent",
    "action",
    "signal",
    "restart-after",
    "etcd",
    "lease",
    "node",
    "delete",
    "peer",
    "firewall",
    "drop",
    "allow",
    "for",
  ]);
  if (!o) return undefined;
  const forMs = o["for"] === undefined ? undefined : r.duration(o["for"], [...path, "for"]);
  const win = forMs !== undefined ? { forMs } : {};
  if ("delete" in o) {
    const what = String(o["delete"]);
    if (!(DELETABLE as readonly string[]).includes(what)) {
      return r.fail([...path, "delete"], `must be one of ${DELETABLE.join(", ")}`);
    }
    const keys = PEERLESS.includes(what) ? ["delete", "node"] : ["delete", "node", "peer"];
    // Nothing is reverted after a deletion (the agent must restore it), so a window means nothing here.
    if (!r.only(o, path, keys, `deleting a ${what}`)) return undefined;
    const node = r.node(o["node"], [...path, "node"], "node");
    let peer: string | undefined;
    if (!PEERLESS.includes(what)) {
      if (o["peer"] === undefined) return r.fail(path, `deleting a ${what} needs peer: <node>`);
      peer = r.node(o["peer"], [...path, "peer"], "node");
      if (!peer) return undefined;
    }
    return node
      ? { kind: "delete", what: what as DeletableEntry, node, ...(peer ? { peer } : {}), ...win }
      : undefined;
  }
  if ("link" in o) {
    const l = r.link(o["link"], [...path, "link"]);
    if (!l) return undefined;
    if (o["set"] !== undefined) {
      if (!r.only(o, path, ["link", "set", "for"], "a link set down/up")) return undefined;
      if (o["set"] === "down" || o["set"] === "up") return { kind: "link", ...l, set: o["set"], ...win };
      return r.fail([...path, "set"], "must be down or up");
    }
    if (o["mtu"] !== undefined) {
      if (!r.only(o, path, ["link", "mtu", "for"], "a link MTU change")) return undefined;
      const mtu = r.int(o["mtu"], [...path, "mtu"], 68);
      return mtu === undefined ? undefined : { kind: "link-mtu", ...l, mtu, ...win };
    }
    if (o["loss"] !== undefined || o["rate"] !== undefined) {
      if (!r.only(o, path, ["link", "loss", "rate", "for"], "a link loss/rate impairment")) return undefined;
      o["netem"] = {
        ...(o["loss"] !== undefined ? { loss: o["loss"] } : {}),
        ...(o["rate"] !== undefined ? { rate: o["rate"] } : {}),
      };
    }
    if (o["netem"] !== undefined) {
      if (o["netem"] === "reset") {
        return r.only(o, path, ["link", "netem"], "netem: reset")
          ? { kind: "netem", ...l, reset: true }
          : undefined;
      }
      if (!("loss" in o || "rate" in o) && !r.only(o, path, ["link", "netem", "for"], "a netem impairment")) {
        return undefined;
      }
      const n = r.obj(o["netem"], [...path, "netem"], ["delay", "jitter", "loss", "rate"]);
      if (!n) return undefined;
      const delayMs = n["delay"] === undefined
        ? undefined
        : r.duration(n["delay"], [...path, "netem", "delay"]);
      const jitterMs = n["jitter"] === undefined
        ? undefined
        : r.duration(n["jitter"], [...path, "netem", "jitter"]);
      let lossPct: number | undefined;
      if (n["loss"] !== undefined) {
        lossPct = parseFloat(String(n["loss"]));
        if (!(lossPct >= 0 && lossPct <= 100)) {
          return r.fail([...path, "netem", "loss"], `must be a percentage 0–100 like 10%`);
        }
      }
      let rateKbit: number | undefined;
      if (n["rate"] !== undefined) {
        const m = /^(\d+(?:\.\d+)?)\s*(kbit|mbit|gbit)$/i.exec(String(n["rate"]).trim());
        if (!m) return r.fail([...path, "netem", "rate"], `must be a rate like 500kbit, 10mbit or 1gbit`);
        rateKbit = Number(m[1]) * ({ kbit: 1, mbit: 1000, gbit: 1_000_000 }[m[2]!.toLowerCase()] ?? 1);
      }
      if (jitterMs !== undefined && delayMs === undefined) {
        return r.fail([...path, "netem", "jitter"], `jitter needs delay`);
      }
      return {
        kind: "netem",
        ...l,
        reset: false,
        ...(delayMs !== undefined ? { delayMs } : {}),
        ...(jitterMs !== undefined ? { jitterMs } : {}),
        ...(lossPct !== undefined ? { lossPct } : {}),
        ...(rateKbit !== undefined ? { rateKbit } : {}),
        ...win,
      };
    }
    return r.fail(
      path,
      `a link fault needs one of set: down|up, mtu: N, loss: P%, rate: R, netem: {delay, jitter, loss, rate} | reset`,
    );
  }
  if ("agent" in o) {
    const node = r.node(o["agent"], [...path, "agent"], "node");
    const action = String(o["action"] ?? "restart");
    if (!["kill", "stop", "start", "restart"].includes(action)) {
      return r.fail([...path, "action"], `must be kill, stop, start or restart`);
    }
    const keys = {
      kill: ["agent", "action", "signal", "restart-after", "for"],
      stop: ["agent", "action", "restart-after", "for"],
      start: ["agent", "action", "for"],
      restart: ["agent", "action"],
    }[action as "kill"];
    if (!r.only(o, path, keys, `agent action ${action}`)) return undefined;
    if (o["restart-after"] !== undefined && o["for"] !== undefined) {
      return r.fail(path, `restart-after and for both bring the agent back; give one of them`);
    }
    const signal = `SIG${String(o["signal"] ?? (action === "kill" ? "KILL" : "TERM")).replace(/^SIG/, "")}`;
    const restartAfterMs = o["restart-after"] === undefined
      ? undefined
      : r.duration(o["restart-after"], [...path, "restart-after"]);
    if (!node) return undefined;
    return {
      kind: "agent",
      node,
      action: action as "kill",
      signal: signal as Deno.Signal,
      ...(restartAfterMs !== undefined ? { restartAfterMs } : {}),
      ...win,
    };
  }
  if ("etcd" in o) {
    if (o["etcd"] !== "stop" && o["etcd"] !== "start") {
      return r.fail([...path, "etcd"], "must be stop or start");
    }
    if (!r.only(o, path, ["etcd", "for"], `etcd ${o["etcd"]}`)) return undefined;
    return { kind: "etcd", action: o["etcd"], ...win };
  }
  if ("lease" in o) {
    if (o["lease"] !== "delete" && o["lease"] !== "take") {
      return r.fail([...path, "lease"], "must be delete or take");
    }
    const take = o["lease"] === "take";
    if (!r.only(o, path, ["lease", "node"], take ? "a lease given away" : "a lease deletion")) {
      return undefined;
    }
    const node = r.node(o["node"], [...path, "node"], "node");
    return node ? { kind: take ? "lease-take" : "lease-delete", node } : undefined;
  }
  if ("firewall" in o) {
    const rule = "allow" in o ? "allow" : "drop";
    if ("allow" in o && "drop" in o) {
      return r.fail(path, "a firewall step either drops a port or allows it again, not both");
    }
    const allowed = rule === "drop" ? ["firewall", "drop", "for"] : ["firewall", "allow"];
    if (!r.only(o, path, allowed, rule === "drop" ? "a firewall drop" : "lifting a firewall drop")) {
      return undefined;
    }
    // Any node: a drop of tcp/2379 on the etcd node cuts every agent off from etcd.
    const node = r.node(o["firewall"], [...path, "firewall"]);
    const m = /^(udp|tcp)\/(\d{1,5})$/.exec(String(o[rule] ?? "").trim());
    const port = m ? Number(m[2]) : 0;
    if (!m || port < 1 || port > 65535) {
      return r.fail([...path, rule], `must be a protocol and port like udp/8472 or tcp/2379`);
    }
    return node ? { kind: "firewall", node, rule, proto: m[1] as "udp" | "tcp", port, ...win } : undefined;
  }
  return r.fail(path, "a fault needs one of link, agent, etcd, lease, delete, firewall");
}

function parseExpect(r: Reader, kind: string, v: unknown, path: Path): Expect | undefined {
  if (v === undefined) return {};
  if (kind === "ping") {
    if (v !== "success" && v !== "failure") return r.fail(path, `must be success or failure`);
    return { success: v === "success" };
  }
  if (kind === "kernel") {
    if (v !== "desired") return r.fail(path, `must be desired (the routes the leases call for)`);
    return { kernel: "desired" };
  }
  const allowed: Record<string, string[]> = {
    capture: ["vxlan", "udp", "plain-pod-traffic", "unencapsulated-pod-traffic", "fragments"],
    leases: ["count", "distinct", "same-form"],
    fault: [
      "recovers-within",
      "same-subnet",
      "same-vtep-mac",
      "restored-within",
      "probe-loss",
      "max-outage",
      "late-after",
      "gone-from-peers-within",
    ],
    throughput: ["ratio"],
    latency: ["ratio"],
  };
  const o = r.obj(v, path, allowed[kind] ?? []);
  if (!o) return undefined;
  const out: Record<string, unknown> = {};
  if (o["vxlan"] !== undefined) {
    const x = r.obj(o["vxlan"], [...path, "vxlan"], ["vni", "port", "min"]);
    if (x) {
      out["vxlan"] = {
        ...(x["vni"] !== undefined ? { vni: Number(x["vni"]) } : {}),
        port: Number(x["port"] ?? 8472),
        min: Number(x["min"] ?? 1),
      };
    }
  }
  if (o["udp"] !== undefined) {
    const x = r.obj(o["udp"], [...path, "udp"], ["port", "min"]);
    if (x) out["udp"] = { port: Number(x["port"] ?? 8285), min: Number(x["min"] ?? 1) };
  }
  if (o["plain-pod-traffic"] !== undefined) {
    const x = r.obj(o["plain-pod-traffic"], [...path, "plain-pod-traffic"], ["min"]);
    if (x) out["plainPodTraffic"] = { min: Number(x["min"] ?? 1) };
  }
  if (o["unencapsulated-pod-traffic"] !== undefined) {
    out["unencapsulatedPodTraffic"] = r.int(o["unencapsulated-pod-traffic"], [
      ...path,
      "unencapsulated-pod-traffic",
    ]);
  }
  if (o["fragments"] !== undefined) out["fragments"] = r.int(o["fragments"], [...path, "fragments"]);
  if (o["count"] !== undefined) out["count"] = r.int(o["count"], [...path, "count"]);
  if (o["distinct"] !== undefined) out["distinct"] = o["distinct"] === true;
  if (o["same-form"] !== undefined) out["sameForm"] = o["same-form"] === true;
  if (o["recovers-within"] !== undefined) {
    out["recoversWithinMs"] = r.duration(o["recovers-within"], [...path, "recovers-within"]);
  }
  if (o["same-subnet"] !== undefined) out["sameSubnet"] = o["same-subnet"] === true;
  if (o["same-vtep-mac"] !== undefined) out["sameVtepMac"] = o["same-vtep-mac"] === true;
  if (o["restored-within"] !== undefined) {
    out["restoredWithinMs"] = r.duration(o["restored-within"], [...path, "restored-within"]);
  }
  if (o["gone-from-peers-within"] !== undefined) {
    out["goneFromPeersWithinMs"] = r.duration(o["gone-from-peers-within"], [
      ...path,
      "gone-from-peers-within",
    ]);
  }
  if (o["probe-loss"] !== undefined) {
    const b = parsePercentBound(o["probe-loss"]);
    if (!b) r.fail([...path, "probe-loss"], `must be a bound like "<= 5%"`);
    else out["probeLoss"] = b;
  }
  if (o["max-outage"] !== undefined) {
    out["maxOutageMs"] = r.duration(o["max-outage"], [...path, "max-outage"]);
  }
  if (o["late-after"] !== undefined) {
    out["lateAfterMs"] = r.duration(o["late-after"], [...path, "late-after"]);
  }
  if (o["ratio"] !== undefined) {
    const b = parseRatioBand(o["ratio"]);
    if (!b) r.fail([...path, "ratio"], `must be a band like ">= 0.5", "0.5..1.2" or {min, max}`);
    else out["ratio"] = b;
  }
  return out as Expect;
}

/**
 * Parses a scenario file against its topology.
 *
 * @param file the scenario file (for messages)
 * @param text its contents
 * @param topo the resolved topology it runs on
 * @returns the scenario
 * @throws {InputError} listing every problem with file, line and field
 */
export function parseScenario(file: string, text: string, topo: Topology): Scenario {
  const doc = parseSource(file, text);
  if (doc.problems.length) throw new InputError("scenario", doc.problems);
  const r = new Reader(doc, topo);
  const root = r.obj(doc.value, [], ["description", "network", "pods", "defer-agents", "defaults", "steps"], [
    "network",
    "steps",
  ]);
  if (!root) throw new InputError("scenario", r.problems);
  const net = r.obj(root["network"], ["network"], [
    "Network",
    "SubnetLen",
    "SubnetMin",
    "SubnetMax",
    "EnableIPv4",
    "EnableIPv6",
    "IPv6Network",
    "Backend",
  ], ["Network"]);
  const backendObj = (net?.["Backend"] ?? { Type: "vxlan" }) as Obj;
  const backend = String(backendObj["Type"] ?? "vxlan");
  if (!["vxlan", "host-gw", "udp"].includes(backend)) {
    r.fail(["network", "Backend", "Type"], `must be vxlan, host-gw or udp`);
  }
  const pods = root["pods"] === undefined ? { "per-node": 2 } : r.obj(root["pods"], ["pods"], ["per-node"]);
  const podsPerNode = r.int(pods?.["per-node"] ?? 2, ["pods", "per-node"], 0) ?? 2;
  const defaults = root["defaults"] === undefined
    ? {}
    : r.obj(root["defaults"], ["defaults"], ["timeout"]) ?? {};
  const defaultTimeout = defaults["timeout"] === undefined
    ? DEFAULT_TIMEOUT_MS
    : r.duration(defaults["timeout"], ["defaults", "timeout"]) ?? DEFAULT_TIMEOUT_MS;
  const deferAgents: string[] = [];
  for (const [i, n] of ((root["defer-agents"] ?? []) as unknown[]).entries()) {
    const node = r.node(n, ["defer-agents", i], "node");
    if (node) deferAgents.push(node);
  }
  const steps: Step[] = [];
  const rawSteps = root["steps"];
  if (!Array.isArray(rawSteps)) r.fail(["steps"], "must be a list of steps");
  for (const [i, raw] of (Array.isArray(rawSteps) ? rawSteps : []).entries()) {
    const path: Path = ["steps", i];
    const o = r.obj(raw, path, [...STEP_KINDS, ...STEP_COMMON]);
    if (!o) continue;
    const kinds = STEP_KINDS.filter((k) => k in o);
    if (kinds.length !== 1) {
      r.fail(
        path,
        kinds.length
          ? `a step does one thing; found ${kinds.join(" and ")}`
          : `a step needs one of ${STEP_KINDS.join(", ")}`,
      );
      continue;
    }
    const kind = kinds[0]!;
    const v = o[kind];
    const p: Path = [...path, kind];
    let action: Action | undefined;
    switch (kind) {
      case "wait":
        action = v === "agents-ready"
          ? { kind: "wait", what: "agents-ready" }
          : r.fail(p, `must be agents-ready`);
        break;
      case "sleep": {
        const ms = r.duration(v, p);
        action = ms === undefined ? undefined : { kind: "sleep", ms };
        break;
      }
      case "connectivity": {
        if (v === "all-pods") action = { kind: "connectivity", scope: "all-pods", overrides: {} };
        else {
          const c = r.obj(v, p, ["scope", "override"]);
          const overrides: Record<string, boolean> = {};
          for (const [cell, verdict] of Object.entries((c?.["override"] ?? {}) as Obj)) {
            const at = [...p, "override", cell];
            if (verdict !== "pass" && verdict !== "fail") r.fail(at, "must be pass or fail");
            // A cell that is not in the matrix would be an override that silently never applies.
            const m = /^\s*(\S+)\s*->\s*(\S+)\s*$/.exec(cell);
            if (!m) {
              r.fail(
                at,
                `must name a cell as "<pod or node> -> <pod, node or outside>", like "n1/p1 -> n2/p1"`,
                true,
              );
              continue;
            }
            const from = r.endpoint(m[1], at, podsPerNode, true);
            const to = m[2] === "outside" ? "outside" : r.endpoint(m[2], at, podsPerNode, true);
            if (from && to && !from.includes("/") && !to.includes("/")) {
              r.fail(
                at,
                `the matrix probes only from pods to nodes and outside: "${cell}" is not one of its cells`,
                true,
              );
            }
            overrides[`${from} -> ${to}`] = verdict === "pass";
          }
          action = c ? { kind: "connectivity", scope: "all-pods", overrides } : undefined;
        }
        break;
      }
      case "mtu":
        action = v === "all-pod-paths"
          ? { kind: "mtu", scope: "all-pod-paths" }
          : r.fail(p, `must be all-pod-paths`);
        break;
      case "ping": {
        const ping = r.ping(v, p, podsPerNode);
        action = ping ? { kind: "ping", ping } : undefined;
        break;
      }
      case "capture": {
        const c = r.obj(v, p, ["link", "during"], ["link", "during"]);
        const l = c ? r.link(c["link"], [...p, "link"]) : undefined;
        const d = c ? r.obj(c["during"], [...p, "during"], ["ping"], ["ping"]) : undefined;
        const ping = d ? r.ping(d["ping"], [...p, "during", "ping"], podsPerNode) : undefined;
        action = l && ping ? { kind: "capture", node: l.node, iface: l.iface, during: ping } : undefined;
        break;
      }
      case "kernel": {
        const k = r.obj(v, p, ["node"], ["node"]);
        const node = k ? r.node(k["node"], [...p, "node"], "node") : undefined;
        action = node ? { kind: "kernel", node } : undefined;
        break;
      }
      case "mirror": {
        const m = r.obj(v, p, ["nodes"], ["nodes"]);
        const list = m?.["nodes"] as unknown[] | undefined;
        if (m && (!Array.isArray(list) || list.length !== 2)) {
          r.fail([...p, "nodes"], "needs exactly two agent nodes, e.g. [n1, n2]");
        } else if (m) {
          const a = r.node(list![0], [...p, "nodes", 0], "node");
          const b = r.node(list![1], [...p, "nodes", 1], "node");
          if (a && b && a === b) r.fail([...p, "nodes"], "needs two different nodes");
          else if (a && b) action = { kind: "mirror", a, b };
        }
        break;
      }
      case "leases":
        action = { kind: "leases" };
        break;
      case "agent-log": {
        const a = r.obj(v, p, ["node", "matches", "since"], ["node", "matches"]);
        const since = a?.["since"] ?? "step";
        if (since !== "step" && since !== "start") r.fail([...p, "since"], "must be step or start");
        const node = a ? r.node(a["node"], [...p, "node"], "node") : undefined;
        try {
          if (a) new RegExp(String(a["matches"]));
        } catch (error) {
          r.fail([...p, "matches"], `not a valid regular expression: ${(error as Error).message}`);
        }
        action = node && a && (since === "step" || since === "start")
          ? { kind: "agent-log", node, pattern: String(a["matches"]), since }
          : undefined;
        break;
      }
      case "fault": {
        const fault = parseFault(r, v, p);
        action = fault ? { kind: "fault", fault } : undefined;
        break;
      }
      case "throughput": {
        const t = r.obj(v, p, ["from", "to", "seconds", "repeats"], ["from", "to"]);
        const from = t ? r.endpoint(t["from"], [...p, "from"], podsPerNode, false) : undefined;
        const to = t ? r.endpoint(t["to"], [...p, "to"], podsPerNode, false) : undefined;
        const repeats = t?.["repeats"] === undefined ? 3 : r.int(t["repeats"], [...p, "repeats"], 1);
        action = from && to && repeats !== undefined
          ? { kind: "throughput", from, to, seconds: Number(t?.["seconds"] ?? 2), repeats }
          : undefined;
        break;
      }
      case "latency": {
        const t = r.obj(v, p, ["from", "to", "count", "repeats"], ["from", "to"]);
        const from = t ? r.endpoint(t["from"], [...p, "from"], podsPerNode, false) : undefined;
        const to = t ? r.endpoint(t["to"], [...p, "to"], podsPerNode, false) : undefined;
        const count = t?.["count"] === undefined ? 100 : r.int(t["count"], [...p, "count"], 10);
        const repeats = t?.["repeats"] === undefined ? 3 : r.int(t["repeats"], [...p, "repeats"], 1);
        action = from && to && count !== undefined && repeats !== undefined
          ? { kind: "latency", from, to, count, repeats }
          : undefined;
        break;
      }
    }
    const expect = parseExpect(r, kind, o["expect"], [...path, "expect"]);
    if (action?.kind === "fault" && expect && typeof o["expect"] === "object" && o["expect"] !== null) {
      const f = action.fault;
      r.only(o["expect"] as Obj, [...path, "expect"], faultExpectKeys(f), describeFaultKind(f));
    }
    const timeoutMs = o["timeout"] === undefined
      ? defaultTimeout
      : r.duration(o["timeout"], [...path, "timeout"]);
    let failsWith: string | undefined;
    if (o["fails-with"] !== undefined) {
      failsWith = String(o["fails-with"]);
      try {
        new RegExp(failsWith);
      } catch (error) {
        r.fail([...path, "fails-with"], `not a valid regular expression: ${(error as Error).message}`);
      }
    }
    if (!action || !expect || timeoutMs === undefined) continue;
    steps.push({
      index: i + 1,
      name: o["name"] === undefined ? describeAction(action) : String(o["name"]),
      ...doc.locate(path),
      action,
      expect,
      timeoutMs,
      critical: o["critical"] === true,
      ...(failsWith !== undefined ? { failsWith } : {}),
    });
  }
  if (r.problems.length) throw new InputError("scenario", r.problems);
  return {
    file,
    description: String(root["description"] ?? ""),
    network: JSON.stringify(net),
    backend,
    directRouting: backendObj["DirectRouting"] === true,
    vni: Number(backendObj["VNI"] ?? 1),
    port: Number(backendObj["Port"] ?? (backend === "udp" ? 8285 : 8472)),
    podsPerNode,
    deferAgents,
    steps,
  };
}

/** A short name for a step without one. */
export function describeAction(a: Action): string {
  switch (a.kind) {
    case "wait":
      return `wait ${a.what}`;
    case "sleep":
      return `sleep ${a.ms} ms`;
    case "connectivity":
      return "connectivity matrix (all pods)";
    case "mtu":
      return "MTU on every cross-node pod path";
    case "ping":
      return `ping ${a.ping.from} -> ${a.ping.to}${a.ping.size !== undefined ? ` size ${a.ping.size}` : ""}${
        a.ping.dontFragment ? " DF" : ""
      }`;
    case "capture":
      return `capture on ${a.node}:${a.iface} during ping ${a.during.from} -> ${a.during.to}`;
    case "kernel":
      return `kernel state on ${a.node}`;
    case "mirror":
      return `kernel state on ${a.a} mirrors ${a.b}'s`;
    case "leases":
      return "leases in etcd";
    case "agent-log":
      return `${a.node}'s agent log matches /${a.pattern}/`;
    case "throughput":
      return `throughput ${a.from} -> ${a.to} (ratio to node-to-node)`;
    case "latency":
      return `latency ${a.from} -> ${a.to} (ratio to node-to-node)`;
    case "fault": {
      const f = a.fault;
      switch (f.kind) {
        case "link":
          return `link ${f.node}:${f.iface} ${f.set}`;
        case "link-mtu":
          return `link ${f.node}:${f.iface} mtu ${f.mtu}`;
        case "netem":
          return f.reset
            ? `impairment reset on ${f.node}:${f.iface}`
            : `impair ${f.node}:${f.iface}${f.lossPct !== undefined ? ` loss ${f.lossPct}%` : ""}${
              f.rateKbit !== undefined ? ` rate ${f.rateKbit}kbit` : ""
            }${f.delayMs !== undefined ? ` delay ${f.delayMs}ms` : ""}${
              f.forMs !== undefined ? ` for ${f.forMs / 1000} s` : ""
            }`;
        case "agent":
          return `${f.action} ${f.node}'s agent${f.action === "kill" ? ` (${f.signal})` : ""}`;
        case "etcd":
          return `etcd ${f.action}`;
        case "firewall":
          return `${f.node}'s firewall ${f.rule === "drop" ? "drops" : "lets in"} ${f.proto}/${f.port}${
            f.forMs !== undefined ? ` for ${f.forMs / 1000} s` : ""
          }`;
        case "lease-delete":
          return `delete ${f.node}'s lease`;
        case "lease-take":
          return `give ${f.node}'s subnet to another host`;
        case "delete":
          return `delete ${f.what}${f.peer ? ` to ${f.peer}` : ""} on ${f.node} by hand`;
      }
    }
  }
}
