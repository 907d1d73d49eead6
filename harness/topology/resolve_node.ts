/**
 * One node, resolved (pure): containerlab's inheritance (topology defaults → its kind → its group → the node;
 * scalars from the nearest layer, lists and maps merged), its kind (`linux`, or `bridge`: a Linux bridge named as
 * the node), its image and keep-alive command (not used by the netns runtime), its exec lines split into words
 * and the addresses they add, and its harness labels (`node_labels.ts`). Each problem with file, line and field.
 *
 * @module
 */
import { LABELS, type NodeSpec } from "./model.ts";
import { limitNodeKeys } from "./netns_limits.ts";
import { resolveLabels } from "./node_labels.ts";
import { type Layer, type Obj, type Path, type ResolveContext, str } from "./resolve_context.ts";
import { shellSplit } from "./shell_words.ts";

/** A `cmd` that only keeps a container alive: a netns node needs no main process. */
const KEEPALIVE = /^(sleep (infinity|\d+)|tail -f \/dev\/null|cat|sh|bash|\/bin\/sh|\/bin\/bash)$/;

/** The layers a node inherits from: `topology.defaults`, `topology.kinds`, `topology.groups`. */
export interface NodeSections {
  readonly defaults: Obj;
  readonly kinds: Readonly<Record<string, Obj>>;
  readonly groups: Readonly<Record<string, Obj>>;
}

/** One node as written, with what it inherits from and the interfaces its links give it. */
export interface RawNode {
  readonly name: string;
  /** The node's own mapping (`null` in the file: empty). */
  readonly own: Obj;
  readonly sections: NodeSections;
  readonly interfaces: readonly string[];
}

/**
 * Resolves one node.
 *
 * @param ctx the resolution (problems and limits go to it)
 * @param raw the node as written
 * @returns the node, or `undefined` when it is too wrong to describe (its kind, its role)
 */
export function resolveNode(ctx: ResolveContext, raw: RawNode): NodeSpec | undefined {
  const { name, own } = raw;
  const { defaults, kinds, groups } = raw.sections;
  const fail = ctx.fail;
  const nodePath = ["topology", "nodes", name];
  limitNodeKeys(ctx, { path: nodePath, value: own });
  const layers: Layer[] = [{ path: ["topology", "defaults"], value: defaults }];
  const kind = str(
    own["kind"] ?? (own["group"] ? groups[str(own["group"])]?.["kind"] : undefined) ??
      defaults["kind"] ?? "",
  );
  if (!kind) {
    fail(nodePath, `node "${name}" has no kind (set kind: linux on it or in topology.defaults)`);
    return undefined;
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
  const scalar = (key: string): { value: unknown; path: Path } | undefined => {
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
    return undefined;
  }
  if (bridge) {
    if (name.length > 15 || !/^[A-Za-z0-9_.-]+$/.test(name)) {
      fail(
        nodePath,
        `bridge node "${name}" names its Linux bridge, and that is not a valid Linux interface name ` +
          `(at most 15 of [A-Za-z0-9_.-])`,
      );
      return undefined;
    }
    if (raw.interfaces.includes(name)) {
      fail(nodePath, `bridge node "${name}" cannot have a link interface named like its bridge "${name}"`);
      return undefined;
    }
    ctx.notes.add(
      `bridge nodes are Linux bridges inside a lab-owned namespace (containerlab makes them in the host's ` +
        `namespace)`,
    );
  }
  const image = scalar("image");
  if (image && !bridge) {
    ctx.notes.add(`images are not used by the netns runtime: nodes run the host's own tools`);
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
  const addresses = execAddresses(exec);
  const ifaces = [...raw.interfaces];
  const fields = resolveLabels(ctx, {
    name,
    nodePath,
    bridge,
    labels,
    labelPath,
    exec,
    addresses,
    interfaces: ifaces,
    sysctls,
  });
  if (!fields) return undefined;
  return {
    name,
    ...(bridge ? { bridge: true as const } : {}),
    role: fields.role,
    ...(fields.agent ? { agent: fields.agent } : {}),
    ...(own["group"] !== undefined ? { group: str(own["group"]) } : {}),
    ...(image ? { image: str(image.value) } : {}),
    execLines,
    exec,
    env,
    labels,
    sysctls,
    startupDelaySec: delay ? Number(delay.value) : 0,
    interfaces: ifaces,
    ...(fields.agentIface ? { agentIface: fields.agentIface } : {}),
    ...(fields.ifaceAuto ? { ifaceAuto: true as const } : {}),
    agentFlags: fields.agentFlags,
    ...(fields.etcdAddress ? { etcdAddress: fields.etcdAddress } : {}),
    ...(fields.internet !== undefined ? { internet: fields.internet } : {}),
    addresses,
  };
}

/**
 * The addresses exec lines add (`ip addr add ADDR/LEN dev IF`), by interface, in the order written. Pure.
 *
 * @param exec the exec lines, split into words
 * @returns CIDRs by interface
 * @example
 * ```ts
 * import { execAddresses } from "./resolve_node.ts";
 * const a = execAddresses([["ip", "addr", "add", "10.0.0.1/24", "dev", "eth1"], ["ip", "link", "set", "lo", "up"]]);
 * console.assert(a["eth1"]?.[0] === "10.0.0.1/24" && Object.keys(a).length === 1);
 * ```
 */
export function execAddresses(exec: readonly (readonly string[])[]): Record<string, string[]> {
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
  return addresses;
}
