/**
 * The Runtime seam: everything the cluster and scenario layers ask of "where the lab runs". The netns runtime
 * (`netns.ts`) implements it with plain network namespaces; a containerlab runtime drives the containerlab CLI.
 * Kept small on purpose (seven methods) so that a second runtime is a small file.
 *
 * @module
 */
import type { Process, RunOptions, RunResult, SpawnOptions } from "../../cli/process/mod.ts";
import type { Topology } from "../topology/model.ts";

/** A change to one interface of a node, applied by {@linkcode Runtime.impair}. */
export type Impairment =
  | { readonly kind: "down" }
  | { readonly kind: "up" }
  | { readonly kind: "mtu"; readonly mtu: number }
  | {
    readonly kind: "netem";
    readonly delayMs?: number;
    readonly jitterMs?: number;
    /** Percent, 0–100. */
    readonly lossPct?: number;
    readonly rateKbit?: number;
  }
  | { readonly kind: "reset" }
  /** The link deleted and made again, its ends configured as the nodes' exec lines configure them. */
  | { readonly kind: "recreate" };

/** What deploy did. */
export interface DeployResult {
  readonly labDir: string;
  /** Nodes created now, and nodes that already ran (deploy is idempotent). */
  readonly created: readonly string[];
  readonly existing: readonly string[];
  readonly durationMs: number;
}

/** One node of a deployed lab, as `inspect` shows it. */
export interface NodeStatus {
  readonly lab: string;
  readonly node: string;
  /** The container or namespace name. */
  readonly longName: string;
  readonly kind: string;
  readonly role: string;
  readonly state: "running" | "missing";
  /** Interface addresses, `eth1=192.168.50.1/24`. */
  readonly addresses: readonly string[];
  readonly labDir?: string;
}

/** What destroy removed. */
export interface DestroyResult {
  readonly removed: readonly string[];
  readonly durationMs: number;
}

/** Which labs destroy or inspect look at. */
export type LabSelector = { readonly topology: Topology } | { readonly lab: string } | { readonly all: true };

/** Where a lab runs. */
export interface Runtime {
  readonly name: "netns" | "containerlab";
  /** Creates what is missing of the lab (idempotent), runs new nodes' exec lines. */
  deploy(topo: Topology, options: { readonly labDir: string }): Promise<DeployResult>;
  /** Removes a lab's nodes (and a crashed run's leftovers of it); `all` removes every lab of this runtime. */
  destroy(which: LabSelector): Promise<DestroyResult>;
  /** The nodes of the selected labs. */
  inspect(which: LabSelector): Promise<NodeStatus[]>;
  /** Runs a command inside a node, like `containerlab exec` (argument array, no shell). */
  exec(topo: Topology, node: string, command: readonly string[], options?: RunOptions): Promise<RunResult>;
  /** Starts a long-running command inside a node. */
  spawn(topo: Topology, node: string, command: readonly string[], options?: SpawnOptions): Promise<Process>;
  /**
   * Creates an empty network namespace for a pod on a node (with `lo` up and the lab's ownership marker) and
   * returns its path as the node sees it, for CNI_NETNS.
   */
  addPodNetns(
    topo: Topology,
    node: string,
    pod: { readonly id: string; readonly name: string },
  ): Promise<string>;
  /**
   * The argument array that runs `command` inside a node, for processes the cluster starts detached (they
   * must outlive the command that started them).
   */
  wrap(topo: Topology, node: string, command: readonly string[]): string[];
  /** Impairs (or restores) one interface of a node: down/up, MTU, loss, rate, delay. */
  impair(topo: Topology, node: string, iface: string, impairment: Impairment): Promise<void>;
}
