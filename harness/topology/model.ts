/**
 * The resolved topology: what a runtime deploys. Defaults, kinds and groups are already applied, links are in
 * one form, and harness roles are read from the node labels.
 *
 * @module
 */
import type { Problem } from "./errors.ts";

/** What a node is for in the lab (label `flannel-lab.role`). */
export type Role = "etcd" | "node" | "router" | "switch" | "client";
/** Every role, for messages. */
export const ROLES: readonly Role[] = ["etcd", "node", "router", "switch", "client"];
/** Which agent a `node` runs (label `flannel-lab.agent`). */
export type AgentKind = "ours" | "upstream";

/** Label keys the harness reads. */
export const LABELS = {
  role: "flannel-lab.role",
  agent: "flannel-lab.agent",
  /** The agent's `--iface` (default: the node's first link interface; `auto`: no `--iface`). */
  iface: "flannel-lab.iface",
  /** Extra agent flags, split shell-like. */
  agentFlags: "flannel-lab.agent-flags",
  /** The address etcd listens on (default: the first `ip addr add` in the etcd node's exec lines). */
  etcdAddress: "flannel-lab.etcd-address",
  /**
   * An address on this node (a router or client, configured by its exec lines) that stands for the internet:
   * the connectivity matrix's `outside` column. At most one node has it; without it, the etcd host stands in.
   */
  internet: "flannel-lab.internet",
} as const;

/** One end of a link. */
export interface Endpoint {
  readonly node: string;
  readonly iface: string;
  readonly mac?: string;
}

/** A point-to-point veth link. */
export interface Link {
  readonly a: Endpoint;
  readonly b: Endpoint;
  /** containerlab's default is 9500. */
  readonly mtu: number;
  /** `node:iface` of both ends, for messages. */
  readonly label: string;
}

/** A resolved `kind: linux` or `kind: bridge` node. */
export interface NodeSpec {
  readonly name: string;
  /**
   * `kind: bridge`: in the netns runtime a lab-owned namespace holding a Linux bridge named as the node, with
   * every link end of the node enslaved to it (containerlab would make the bridge in the host's namespace,
   * which labs never touch, so the containerlab runtime refuses it). Its role is always `switch`.
   */
  readonly bridge?: true;
  readonly role: Role;
  readonly agent?: AgentKind;
  readonly group?: string;
  readonly image?: string;
  /** The exec lines as written, and split shell-like. */
  readonly execLines: readonly string[];
  readonly exec: readonly (readonly string[])[];
  readonly env: Readonly<Record<string, string>>;
  readonly labels: Readonly<Record<string, string>>;
  readonly sysctls: Readonly<Record<string, string>>;
  readonly startupDelaySec: number;
  /** The node's link interfaces in the order the links list them. */
  readonly interfaces: readonly string[];
  /** For `node`: the underlay interface the agent uses. */
  readonly agentIface?: string;
  /**
   * `flannel-lab.iface: auto`: the agent is started without `--iface` and picks the default route's interface
   * itself ({@linkcode agentIface} is the one it will pick).
   */
  readonly ifaceAuto?: true;
  readonly agentFlags: readonly string[];
  /** For `etcd`: the address it listens on. */
  readonly etcdAddress?: string;
  /** For the node labelled `flannel-lab.internet`: the address that stands for the internet. */
  readonly internet?: string;
  /** Addresses the exec lines configure (`ip addr add CIDR dev IF`), by interface. */
  readonly addresses: Readonly<Record<string, readonly string[]>>;
}

/** A resolved topology. */
export interface Topology {
  readonly name: string;
  /** containerlab's `prefix` (default `clab`). */
  readonly prefix: string;
  /** The topology file (absolute). */
  readonly file: string;
  readonly nodes: readonly NodeSpec[];
  readonly links: readonly Link[];
  /** Things the runtime does differently from containerlab that a user should know (printed on deploy). */
  readonly notes: readonly string[];
  /** What the netns runtime cannot honour (it refuses to deploy); containerlab runs it. */
  readonly netnsLimits: readonly Problem[];
}

/**
 * The long name of a node, as containerlab names its container: `<prefix>-<lab>-<node>`, `<node>` for an empty
 * prefix, `<lab>-<node>` for `__lab-name`. The netns runtime names the node's namespace the same way.
 *
 * @param topo the topology
 * @param node the node name
 * @returns the long name
 */
export function longName(topo: Pick<Topology, "prefix" | "name">, node: string): string {
  if (topo.prefix === "") return node;
  if (topo.prefix === "__lab-name") return `${topo.name}-${node}`;
  return `${topo.prefix}-${topo.name}-${node}`;
}

/**
 * The lab directory: `clab-<lab>` beside the topology file, or under `base` (containerlab's CLAB_LABDIR_BASE).
 *
 * @param topo the topology
 * @param base an explicit base directory
 * @returns the absolute lab directory
 */
export function labDir(topo: Pick<Topology, "name" | "file">, base?: string): string {
  const dir = base ?? (topo.file.slice(0, topo.file.lastIndexOf("/")) || "/");
  return `${dir.replace(/\/$/, "")}/clab-${topo.name}`;
}

/** Finds a node by name. */
export function nodeOf(topo: Topology, name: string): NodeSpec | undefined {
  return topo.nodes.find((n) => n.name === name);
}
