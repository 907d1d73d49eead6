/**
 * The scenario model: what a `*.scenario.yml` says once parsed. Pure data.
 *
 * @module
 */

/** A step's action. */
export type Action =
  | { readonly kind: "wait"; readonly what: "agents-ready" }
  | { readonly kind: "sleep"; readonly ms: number }
  | {
    readonly kind: "connectivity";
    readonly scope: "all-pods";
    readonly overrides: Readonly<Record<string, boolean>>;
  }
  | { readonly kind: "mtu"; readonly scope: "all-pod-paths" }
  | { readonly kind: "ping"; readonly ping: PingSpec }
  | {
    readonly kind: "capture";
    readonly node: string;
    readonly iface: string;
    readonly during: PingSpec;
  }
  | { readonly kind: "kernel"; readonly node: string }
  | { readonly kind: "leases" }
  | { readonly kind: "agent-log"; readonly node: string; readonly pattern: string }
  | { readonly kind: "fault"; readonly fault: Fault }
  | { readonly kind: "throughput"; readonly from: string; readonly to: string; readonly seconds: number };

/** A ping between pods (`node/pN`) or from a node to a pod. */
export interface PingSpec {
  readonly from: string;
  readonly to: string;
  readonly count: number;
  /** ICMP payload size. */
  readonly size?: number;
  readonly dontFragment: boolean;
}

/** A fault injected on the lab. */
export type Fault =
  | { readonly kind: "link"; readonly node: string; readonly iface: string; readonly set: "down" | "up" }
  | { readonly kind: "link-mtu"; readonly node: string; readonly iface: string; readonly mtu: number }
  | {
    readonly kind: "netem";
    readonly node: string;
    readonly iface: string;
    readonly delayMs?: number;
    readonly lossPct?: number;
    readonly reset: boolean;
  }
  | {
    readonly kind: "agent";
    readonly node: string;
    readonly action: "kill" | "stop" | "start" | "restart";
    readonly signal: Deno.Signal;
    readonly restartAfterMs?: number;
  }
  | { readonly kind: "etcd"; readonly action: "stop" | "start" }
  | { readonly kind: "lease-delete"; readonly node: string };

/** What must hold after a step (all optional; each action has its own default). */
export interface Expect {
  /** ping: success or failure. */
  readonly success?: boolean;
  /** capture assertions. */
  readonly vxlan?: { readonly vni?: number; readonly port: number; readonly min: number };
  readonly udp?: { readonly port: number; readonly min: number };
  readonly plainPodTraffic?: { readonly min: number };
  readonly unencapsulatedPodTraffic?: number;
  /** leases. */
  readonly count?: number;
  readonly distinct?: boolean;
  /** fault recovery: a pod ping to every other node's pod succeeds within this time. */
  readonly recoversWithinMs?: number;
  /** after an agent restart, the node keeps its subnet. */
  readonly sameSubnet?: boolean;
  /** kernel: `desired` (from the leases). */
  readonly kernel?: "desired";
}

/** One step. */
export interface Step {
  readonly index: number;
  readonly name: string;
  readonly line?: number;
  readonly action: Action;
  readonly expect: Expect;
  readonly timeoutMs: number;
  readonly critical: boolean;
}

/** A parsed scenario. */
export interface Scenario {
  readonly file: string;
  readonly description: string;
  /** The network config (JSON text) written to etcd. */
  readonly network: string;
  readonly backend: string;
  readonly directRouting: boolean;
  readonly vni: number;
  readonly port: number;
  readonly podsPerNode: number;
  /** Nodes whose agents are not started before the first step (a fault step starts them). */
  readonly deferAgents: readonly string[];
  readonly steps: readonly Step[];
}
