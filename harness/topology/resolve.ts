/**
 * containerlab YAML → resolved {@linkcode Topology}: environment substitution as containerlab does it, YAML with
 * positions, containerlab's JSON schema, inheritance (defaults → kinds → groups → node), links in one form with
 * containerlab's default MTU, harness roles from labels, and refusal of everything the netns runtime cannot
 * honour — each problem with file, line and field. Pure: text in, model out.
 *
 * @module
 */
import { InputError, type Problem } from "./errors.ts";
import {
  type AgentKind,
  type Endpoint,
  LABELS,
  type Link,
  type NodeSpec,
  type Role,
  ROLES,
  type Topology,
} from "./model.ts";
import { netContains, parseCidrWithIp, parseIp } from "../../agent/ip.ts";
import { validateSchema } from "./schema.ts";
import { shellSplit } from "./shell_words.ts";
import { formatPath, parseSource, type SourceDoc } from "./source.ts";

/** containerlab's default link MTU (constants/containerlab.go). */
export const DEFAULT_LINK_MTU = 9500;

type Obj = Record<string, unknown>;

/** Why the netns runtime refuses a node key (keys not listed here and not handled are refused generically). */
const REFUSED_NODE_KEYS: Record<string, string> = {
  binds: "the netns runtime shares the host's file system and has no mount namespace to bind into",
  volumes: "the netns runtime has no mount namespace",
  ports: "the netns runtime has no management network to publish ports on",
  "env-files": "not supported by the netns runtime; use env",
  "mgmt-ipv4": "the netns runtime has no management network; address lab links with exec",
  "mgmt-ipv6": "the netns runtime has no management network; address lab links with exec",
  "network-mode": "every netns node is its own network namespace",
  hostname: "netns nodes share the host's UTS namespace",
  user: "exec lines run as the harness's user in the netns runtime",
  stages: "the netns runtime deploys nodes in one stage",
  healthcheck: "netns nodes have no main process to health-check",
  memory: "the netns runtime sets no resource limits",
  cpu: "the netns runtime sets no resource limits",
  "cpu-set": "the netns runtime sets no resource limits",
};
/** Node keys the netns runtime honours (or that have no meaning without containers, said in a note). */
const HANDLED_NODE_KEYS = new Set([
  "kind",
  "group",
  "image",
  "image-pull-policy",
  "restart-policy",
  "exec",
  "env",
  "labels",
  "sysctls",
  "cmd",
  "entrypoint",
  "privileged",
  "cap-add",
  "devices",
  "startup-delay",
]);
/** A `cmd` that only keeps a container alive: a netns node needs no main process. */
const KEEPALIVE = /^(sleep (infinity|\d+)|tail -f \/dev\/null|cat|sh|bash|\/bin\/sh|\/bin\/bash)$/;

/**
 * containerlab's environment substitution: `$VAR`/`${VAR}` replaced when set and non-empty, `${VAR:-d}` and
 * `${VAR:=d}` give the default, anything else stays as written.
 *
 * @param text the file text
 * @param env the environment
 * @returns the substituted text
 */
export function expandEnv(text: string, env: Readonly<Record<string, string>>): string {
  return text.replace(
    /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::[-=]([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g,
    (whole, braced: string | undefined, dflt: string | undefined, bare: string | undefined) => {
      const name = braced ?? bare!;
      const value = env[name];
      if (value) return value;
      return dflt !== undefined ? dflt : whole;
    },
  );
}

/**
 * The interface of the default route the exec lines add (`ip route add default via GW [dev IF]`): the named
 * one, else the one whose address covers the gateway.
 */
function defaultRouteIface(
  exec: readonly (readonly string[])[],
  addresses: Readonly<Record<string, readonly string[]>>,
): string | undefined {
  for (const w of exec) {
    if (w[0] !== "ip" || !["route", "r", "ro"].includes(w[1] ?? "") || w[2] !== "add" || w[3] !== "default") {
      continue;
    }
    const dev = w.indexOf("dev");
    if (dev > 0 && w[dev + 1]) return w[dev + 1];
    const via = w.indexOf("via");
    const gw = via > 0 ? w[via + 1] : undefined;
    if (!gw) continue;
    for (const [iface, cidrs] of Object.entries(addresses)) {
      if (cidrs.some((c) => sameSubnet(c, gw))) return iface;
    }
  }
  return undefined;
}

/** Whether an address is inside the subnet of `cidr` (an interface address with its length). */
function sameSubnet(cidr: string, addr: string): boolean {
  try {
    return netContains(parseCidrWithIp(cidr).net, parseIp(addr));
  } catch {
    return false;
  }
}

function str(v: unknown): string {
  return typeof v === "string" ? v : String(v);
}

interface Layer {
  readonly path: (string | number)[];
  readonly value: Obj;
}

/** Options of {@linkcode resolveTopology}. */
export interface ResolveOptions {
  /** The environment used for `$VAR` substitution (containerlab uses its own). */
  readonly env?: Readonly<Record<string, string>>;
}

/**
 * Parses, validates and resolves a containerlab topology.
 *
 * @param file the topology file (absolute path; used in messages and for the lab directory)
 * @param text its contents
 * @param options environment for substitution
 * @returns the resolved topology
 * @throws {InputError} listing every problem with file, line and field
 */
export function resolveTopology(file: string, text: string, options: ResolveOptions = {}): Topology {
  const templ = text.indexOf("{{");
  if (templ >= 0) {
    const line = text.slice(0, templ).split("\n").length;
    throw new InputError("topology", [{
      file,
      line,
      field: "",
      message: "containerlab Go templates ({{ … }}) are not supported by flannel-lab; write the file out",
    }]);
  }
  const doc = parseSource(file, expandEnv(text, options.env ?? {}));
  if (doc.problems.length) throw new InputError("topology", doc.problems);
  if (typeof doc.value !== "object" || doc.value === null || Array.isArray(doc.value)) {
    throw new InputError("topology", [{ file, line: 1, field: "", message: "must be a YAML mapping" }]);
  }
  const schemaProblems = validateSchema(doc);
  if (schemaProblems.length) throw new InputError("topology (containerlab schema)", schemaProblems);
  const problems: Problem[] = [];
  const topo = resolveValid(doc, problems);
  if (problems.length) throw new InputError("topology", problems);
  return topo;
}

/**
 * Refuses a topology the netns runtime cannot honour (a node's binds, published ports, a management network):
 * containerlab runs such a file, so resolving it succeeds and only a netns deploy refuses it, naming each key.
 *
 * @throws {InputError} listing what the netns runtime cannot honour
 */
export function refuseNetnsLimits(topo: Topology): void {
  if (topo.netnsLimits.length) {
    throw new InputError("topology for the netns runtime (use --runtime containerlab)", topo.netnsLimits);
  }
}

function resolveValid(doc: SourceDoc, problems: Problem[]): Topology {
  const root = doc.value as Obj;
  const fail = (path: (string | number)[], message: string, key = false) =>
    problems.push(doc.problem(path, message, { key }));
  // What only the netns runtime refuses: containerlab honours it.
  const netnsLimits: Problem[] = [];
  const limit = (path: (string | number)[], message: string) =>
    netnsLimits.push(doc.problem(path, message, { key: true }));
  const notes = new Set<string>();
  for (const key of ["mgmt", "settings"]) {
    if (key in root) {
      limit([key], `"${key}" is not supported by the netns runtime (it has no management network)`);
    }
  }
  const topology = root["topology"] as Obj;
  const defaults = (topology["defaults"] ?? {}) as Obj;
  const kinds = (topology["kinds"] ?? {}) as Record<string, Obj>;
  const groups = (topology["groups"] ?? {}) as Record<string, Obj>;
  const rawNodes = topology["nodes"] as Record<string, Obj | null>;

  // Keys the runtime refuses, wherever they are written (defaults, kinds, groups, nodes).
  const checkKeys = (layer: Layer) => {
    for (const key of Object.keys(layer.value)) {
      if (HANDLED_NODE_KEYS.has(key)) continue;
      const why = REFUSED_NODE_KEYS[key] ?? "not supported by the netns runtime";
      limit([...layer.path, key], `"${key}" cannot be honoured: ${why}`);
    }
  };
  checkKeys({ path: ["topology", "defaults"], value: defaults });
  for (const [k, v] of Object.entries(kinds)) checkKeys({ path: ["topology", "kinds", k], value: v ?? {} });
  for (const [g, v] of Object.entries(groups)) checkKeys({ path: ["topology", "groups", g], value: v ?? {} });

  const nodes: NodeSpec[] = [];
  const interfaces = new Map<string, string[]>();
  for (const name of Object.keys(rawNodes)) interfaces.set(name, []);

  // Links first: nodes need to know their interfaces.
  const links: Link[] = [];
  const used = new Map<string, string>();
  const rawLinks = (topology["links"] ?? []) as Obj[];
  for (const [i, raw] of rawLinks.entries()) {
    const path = ["topology", "links", i];
    const type = raw["type"] === undefined ? undefined : str(raw["type"]);
    if (type !== undefined && type !== "veth") {
      fail([...path, "type"], `link type "${type}" is not supported by the netns runtime: use veth links`);
      continue;
    }
    for (const key of ["ipv4", "ipv6"]) {
      if (key in raw) {
        fail(
          [...path, key],
          `"${key}" on a link is not applied to linux nodes (by containerlab either): add addresses with exec`,
          true,
        );
      }
    }
    if ("vars" in raw) {
      fail([...path, "vars"], `link "vars" need containerlab templates, which are not supported`, true);
    }
    const ends: Endpoint[] = [];
    const rawEnds = (raw["endpoints"] ?? []) as unknown[];
    if (rawEnds.length !== 2) {
      fail([...path, "endpoints"], `a veth link needs exactly two endpoints, not ${rawEnds.length}`);
      continue;
    }
    for (const [j, e] of rawEnds.entries()) {
      const ep = [...path, "endpoints", j];
      let node: string;
      let iface: string;
      let mac: string | undefined;
      if (type === undefined) {
        const m = /^([^:\s]+):(\S+)$/.exec(str(e));
        if (!m) {
          fail(ep, `endpoint ${JSON.stringify(e)} must be "node:interface"`);
          continue;
        }
        [node, iface] = [m[1]!, m[2]!];
        if (["host", "mgmt-net", "macvlan"].includes(node) && !(node in rawNodes)) {
          fail(ep, `"${node}:" endpoints reach outside the lab, which the netns runtime never does`);
          continue;
        }
      } else {
        const o = e as Obj;
        if (o["node"] === undefined || o["interface"] === undefined) {
          fail(ep, `an endpoint needs "node" and "interface"`);
          continue;
        }
        node = str(o["node"]);
        iface = str(o["interface"]);
        if (o["mac"] !== undefined) mac = str(o["mac"]).replaceAll("-", ":").toLowerCase();
        for (const key of ["ipv4", "ipv6", "vars"]) {
          if (key in o) {
            fail([...ep, key], `"${key}" on an endpoint is not applied to linux nodes: use exec`, true);
          }
        }
      }
      if (!(node in rawNodes)) {
        fail(ep, `node "${node}" is not defined in topology.nodes`);
        continue;
      }
      if (iface === "eth0") {
        fail(ep, `"eth0" is containerlab's management interface: name lab links eth1, eth2, …`);
        continue;
      }
      if (iface.length > 15 || !/^[A-Za-z0-9_.-]+$/.test(iface)) {
        fail(
          ep,
          `interface name "${iface}" is not a valid Linux interface name (at most 15 of [A-Za-z0-9_.-])`,
        );
        continue;
      }
      const id = `${node}:${iface}`;
      const prev = used.get(id);
      if (prev) {
        fail(ep, `interface "${id}" is already used by ${prev}`);
        continue;
      }
      used.set(id, formatPath(ep));
      interfaces.get(node)!.push(iface);
      ends.push(mac ? { node, iface, mac } : { node, iface });
    }
    if (ends.length !== 2) continue;
    const mtu = raw["mtu"] === undefined ? DEFAULT_LINK_MTU : Number(raw["mtu"]);
    if (!Number.isInteger(mtu) || mtu < 68) {
      fail([...path, "mtu"], `MTU must be a whole number ≥ 68, not ${mtu}`);
    }
    links.push({
      a: ends[0]!,
      b: ends[1]!,
      mtu,
      label: `${ends[0]!.node}:${ends[0]!.iface} <-> ${ends[1]!.node}:${ends[1]!.iface}`,
    });
  }

  for (const [name, rawNode] of Object.entries(rawNodes)) {
    const nodePath = ["topology", "nodes", name];
    const own = rawNode ?? {};
    checkKeys({ path: nodePath, value: own });
    const layers: Layer[] = [{ path: ["topology", "defaults"], value: defaults }];
    const kind = str(
      own["kind"] ?? (own["group"] ? groups[str(own["group"])]?.["kind"] : undefined) ??
        defaults["kind"] ?? "",
    );
    if (!kind) {
      fail(nodePath, `node "${name}" has no kind (set kind: linux on it or in topology.defaults)`);
      continue;
    }
    if (kinds[kind]) layers.push({ path: ["topology", "kinds", kind], value: kinds[kind] });
    if (own["group"] !== undefined) {
      const g = str(own["group"]);
      if (!groups[g]) {
        fail([...nodePath, "group"], `group "${g}" is not defined in topology.groups`);
      } else {
        layers.push({ path: ["topology", "groups", g], value: groups[g] });
      }
    }
    layers.push({ path: nodePath, value: own });
    const scalar = (key: string): { value: unknown; path: (string | number)[] } | undefined => {
      for (let i = layers.length - 1; i >= 0; i--) {
        const l = layers[i]!;
        if (l.value[key] !== undefined) return { value: l.value[key], path: [...l.path, key] };
      }
      return undefined;
    };
    const list = (key: string): string[] => {
      const out: string[] = [];
      for (const l of layers) {
        for (const v of (l.value[key] ?? []) as unknown[]) if (!out.includes(str(v))) out.push(str(v));
      }
      return out;
    };
    const map = (key: string): Record<string, string> => {
      const out: Record<string, string> = {};
      for (const l of layers) {
        for (const [k, v] of Object.entries((l.value[key] ?? {}) as Obj)) out[k] = str(v);
      }
      return out;
    };
    const bridge = kind === "bridge";
    if (kind !== "linux" && !bridge) {
      const where = scalar("kind")?.path ?? nodePath;
      const why = kind === "ovs-bridge"
        ? `an Open vSwitch bridge lives in the host's namespace, which labs never touch: use kind: bridge ` +
          `(a Linux bridge in a lab-owned namespace) or a linux node with label ${LABELS.role}: switch and a ` +
          `bridge made by exec`
        : `only kinds "linux" and "bridge" run in the netns runtime`;
      fail(where, `kind "${kind}" is not supported: ${why}`);
      continue;
    }
    if (bridge) {
      if (name.length > 15 || !/^[A-Za-z0-9_.-]+$/.test(name)) {
        fail(
          nodePath,
          `bridge node "${name}" names its Linux bridge, and that is not a valid Linux interface name ` +
            `(at most 15 of [A-Za-z0-9_.-])`,
        );
        continue;
      }
      if ((interfaces.get(name) ?? []).includes(name)) {
        fail(nodePath, `bridge node "${name}" cannot have a link interface named like its bridge "${name}"`);
        continue;
      }
      notes.add(
        `bridge nodes are Linux bridges inside a lab-owned namespace (containerlab makes them in the host's ` +
          `namespace)`,
      );
    }
    const image = scalar("image");
    if (image && !bridge) {
      notes.add(`images are not used by the netns runtime: nodes run the host's own tools`);
    }
    for (const key of ["cmd", "entrypoint"]) {
      const c = scalar(key);
      if (c && !KEEPALIVE.test(str(c.value).trim())) {
        fail(
          c.path,
          `${key} "${
            str(c.value)
          }" cannot run: netns nodes have no main process (only keep-alive commands such as ` +
            `"sleep infinity" are accepted); put one-off commands in exec`,
        );
      }
    }
    const labels = map("labels");
    const env = map("env");
    const sysctls = map("sysctls");
    const execLines = list("exec");
    const exec: string[][] = [];
    for (const [i, line] of execLines.entries()) {
      try {
        const words = shellSplit(line);
        if (words.length) exec.push(words);
      } catch (error) {
        fail([...nodePath, "exec", i], (error as Error).message);
      }
    }
    const delay = scalar("startup-delay");
    const labelPath = (k: string) => {
      for (let i = layers.length - 1; i >= 0; i--) {
        const l = layers[i]!;
        if ((l.value["labels"] as Obj | undefined)?.[k] !== undefined) return [...l.path, "labels", k];
      }
      return [...nodePath, "labels"];
    };
    for (const k of Object.keys(labels)) {
      if (k.startsWith("flannel-lab.") && !(Object.values(LABELS) as string[]).includes(k)) {
        fail(
          labelPath(k),
          `unknown label "${k}"; flannel-lab reads ${Object.values(LABELS).join(", ")}`,
          true,
        );
      }
    }
    const roleText = labels[LABELS.role] ?? (bridge ? "switch" : "client");
    if (!(ROLES as readonly string[]).includes(roleText)) {
      fail(labelPath(LABELS.role), `role "${roleText}" is not one of ${ROLES.join(", ")}`);
      continue;
    }
    if (bridge && roleText !== "switch") {
      fail(labelPath(LABELS.role), `bridge node "${name}" is a switch: its role cannot be ${roleText}`);
      continue;
    }
    const role = roleText as Role;
    const agentText = labels[LABELS.agent];
    let agent: AgentKind | undefined;
    if (role === "node") {
      agent = (agentText ?? "ours") as AgentKind;
      if (agent !== "ours" && agent !== "upstream") {
        fail(labelPath(LABELS.agent), `agent "${agentText}" is not one of ours, upstream`);
      }
    } else if (agentText !== undefined) {
      fail(
        labelPath(LABELS.agent),
        `only nodes with ${LABELS.role}: node run an agent (this one is ${role})`,
      );
    }
    const addresses: Record<string, string[]> = {};
    for (const w of exec) {
      const i = w.indexOf("dev");
      if (
        w[0] === "ip" && ["addr", "address", "a"].includes(w[1] ?? "") && w[2] === "add" && i > 0 &&
        w[i + 1] && w[3]?.includes("/")
      ) {
        (addresses[w[i + 1]!] ??= []).push(w[3]);
      }
    }
    const ifaces = interfaces.get(name) ?? [];
    let agentIface: string | undefined;
    let agentFlags: string[] = [];
    let ifaceAuto = false;
    if (role === "node") {
      agentIface = labels[LABELS.iface] ?? ifaces[0];
      if (agentIface === "auto") {
        // No --iface: the agent picks the interface of the default route, as it does on a host nobody
        // configured (the multi-NIC trap). The harness reads that interface from the exec lines.
        ifaceAuto = true;
        agentIface = defaultRouteIface(exec, addresses);
        if (!agentIface) {
          fail(
            labelPath(LABELS.iface),
            `"auto" leaves the choice to the agent, which takes the default route's interface: add an exec ` +
              `line "ip route add default via GATEWAY dev ethN"`,
          );
        }
      } else if (!agentIface) fail(nodePath, `node "${name}" runs an agent but has no links`);
      else if (!ifaces.includes(agentIface)) {
        fail(
          labelPath(LABELS.iface),
          `interface "${agentIface}" is not one of ${name}'s links (${ifaces.join(", ")})`,
        );
      }
      try {
        agentFlags = shellSplit(labels[LABELS.agentFlags] ?? "");
      } catch (error) {
        fail(labelPath(LABELS.agentFlags), (error as Error).message);
      }
    }
    let etcdAddress: string | undefined;
    if (role === "etcd") {
      etcdAddress = labels[LABELS.etcdAddress] ?? Object.values(addresses).flat()[0]?.split("/")[0];
      if (!etcdAddress) {
        fail(
          nodePath,
          `etcd node "${name}" has no address: add an exec line "ip addr add ADDR/LEN dev ethN" or the label ` +
            `${LABELS.etcdAddress}`,
        );
      }
    }
    const internet = labels[LABELS.internet];
    if (internet !== undefined) {
      const configured = Object.values(addresses).flat().map((a) => a.split("/")[0]);
      if (role !== "router" && role !== "client") {
        fail(
          labelPath(LABELS.internet),
          `only a router or client can stand for the internet, not this ${role}`,
        );
      } else if (!configured.includes(internet)) {
        fail(
          labelPath(LABELS.internet),
          `"${internet}" is not an address ${name}'s exec lines add (${configured.join(", ") || "none"}): ` +
            `add "ip addr add ${internet}/32 dev lo"`,
        );
      }
    }
    if (role === "router" && sysctls["net.ipv4.ip_forward"] !== "1") {
      fail(nodePath, `router "${name}" does not forward: add sysctls: {net.ipv4.ip_forward: 1}`);
    }
    nodes.push({
      name,
      ...(bridge ? { bridge: true as const } : {}),
      role,
      ...(agent ? { agent } : {}),
      ...(own["group"] !== undefined ? { group: str(own["group"]) } : {}),
      ...(image ? { image: str(image.value) } : {}),
      execLines,
      exec,
      env,
      labels,
      sysctls,
      startupDelaySec: delay ? Number(delay.value) : 0,
      interfaces: ifaces,
      ...(agentIface ? { agentIface } : {}),
      ...(ifaceAuto ? { ifaceAuto: true as const } : {}),
      agentFlags,
      ...(etcdAddress ? { etcdAddress } : {}),
      ...(internet !== undefined ? { internet } : {}),
      addresses,
    });
  }
  const internets = nodes.filter((n) => n.internet !== undefined);
  if (internets.length > 1) {
    fail(
      ["topology", "nodes"],
      `only one node stands for the internet, found ${LABELS.internet} on ${
        internets.map((n) => n.name).join(", ")
      }`,
      true,
    );
  }
  const etcds = nodes.filter((n) => n.role === "etcd");
  if (nodes.some((n) => n.role === "node") && etcds.length !== 1) {
    fail(
      ["topology", "nodes"],
      etcds.length === 0
        ? `nodes run agents but no node has label ${LABELS.role}: etcd`
        : `only one etcd node is supported, found ${etcds.map((n) => n.name).join(", ")}`,
      true,
    );
  }
  return {
    name: str(root["name"]),
    prefix: root["prefix"] === undefined ? "clab" : str(root["prefix"]),
    file: doc.file,
    nodes,
    links,
    notes: [...notes],
    netnsLimits,
  };
}
