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
  /**
   * Two nodes' flannel kernel state compared as mirror images: each node's own values (subnet, addresses, VTEP
   * MAC) and its peer's replaced by placeholders, so an agent's state can be held against the state another agent
   * (upstream flanneld) builds on its node for the same leases.
   */
  | { readonly kind: "mirror"; readonly a: string; readonly b: string }
  | {
    readonly kind: "latency";
    readonly from: string;
    readonly to: string;
    readonly count: number;
    readonly repeats: number;
  }
  | { readonly kind: "leases" }
  | {
    readonly kind: "agent-log";
    readonly node: string;
    readonly pattern: string;
    /** Match lines written since the step began (default), or anywhere since the agent first started. */
    readonly since: "step" | "start";
  }
  | { readonly kind: "fault"; readonly fault: Fault }
  /** One marked probe followed through every interface of the lab (`harness/trace/`). */
  | {
    readonly kind: "trace";
    readonly from: string;
    readonly to: string;
    readonly proto: "icmp" | "udp" | "tcp";
    readonly size?: number;
    readonly dontFragment: boolean;
  }
  | {
    readonly kind: "throughput";
    readonly from: string;
    readonly to: string;
    readonly seconds: number;
    readonly repeats: number;
  };

/** A ping between pods (`node/pN`) or from a node to a pod. */
export interface PingSpec {
  readonly from: string;
  readonly to: string;
  readonly count: number;
  /** ICMP payload size. */
  readonly size?: number;
  readonly dontFragment: boolean;
}

/**
 * What a fault can delete by hand: a kernel entry the agent owns, or its masquerade rules (the FLANNEL-POSTRTG
 * chain, which upstream flanneld names the same).
 */
export type DeletableEntry = "route" | "neigh" | "fdb" | "vxlan-device" | "masquerade";

/** A fault injected on the lab. `forMs` makes it a window: it is reverted after that long. */
export type Fault =
  & (
    | { readonly kind: "link"; readonly node: string; readonly iface: string; readonly set: "down" | "up" }
    | { readonly kind: "link-mtu"; readonly node: string; readonly iface: string; readonly mtu: number }
    /**
     * The link deleted and made again with its addresses and routes, as a network restart, a NIC driver reset
     * or a VLAN/bond rebuild does: every device stacked on it (the VXLAN device) goes with it.
     */
    | { readonly kind: "link-recreate"; readonly node: string; readonly iface: string }
    /** A shell command run on a node; `undo` is run at the end of a window. */
    | { readonly kind: "exec"; readonly on: string; readonly command: string; readonly undo?: string }
    /**
     * Another network config written to etcd (the scenario's, with these top-level keys replaced), and every
     * running agent restarted to read it: the fix a user applies (`Backend.MTU`, `Backend.Port`).
     */
    | { readonly kind: "network"; readonly config: string }
    | {
      readonly kind: "netem";
      readonly node: string;
      readonly iface: string;
      readonly delayMs?: number;
      readonly jitterMs?: number;
      /** Percent, 0–100. Emulated with an nftables `numgen random` drop rule on the interface (runtime/netns.ts). */
      readonly lossPct?: number;
      /** kbit/s, with tbf. */
      readonly rateKbit?: number;
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
    /**
     * The node's firewall drops a port (in to it and out from it), or (`allow`) lets it through again: a drop
     * without a window lasts until an `allow` of the same port.
     */
    | {
      readonly kind: "firewall";
      readonly node: string;
      readonly rule: "drop" | "allow";
      readonly proto: "udp" | "tcp";
      readonly port: number;
    }
    | { readonly kind: "lease-delete"; readonly node: string }
    /** The node's subnet given to another host (a stand-in address), as a new node would take an expired lease. */
    | { readonly kind: "lease-take"; readonly node: string }
    | {
      readonly kind: "delete";
      readonly what: DeletableEntry;
      readonly node: string;
      /** The peer whose entry is deleted (not needed for the vxlan device or the masquerade rules). */
      readonly peer?: string;
    }
  )
  & { readonly forMs?: number };

/** A bound on a percentage: `<= 5%`. */
export interface PercentBound {
  readonly op: "<=" | "<" | ">=" | ">" | "==";
  readonly pct: number;
}

/** A band a ratio must fall in (both ends optional). */
export interface RatioBand {
  readonly min?: number;
  readonly max?: number;
}

/** What must hold after a step (all optional; each action has its own default). */
export interface Expect {
  /** ping: success or failure. */
  readonly success?: boolean;
  /** capture assertions. */
  readonly vxlan?: { readonly vni?: number; readonly port: number; readonly min: number };
  readonly udp?: { readonly port: number; readonly min: number };
  readonly plainPodTraffic?: { readonly min: number };
  readonly unencapsulatedPodTraffic?: number;
  /** capture: at most this many IP fragments (first or later pieces of a fragmented packet) on the wire. */
  readonly fragments?: number;
  /** leases. */
  readonly count?: number;
  readonly distinct?: boolean;
  /** leases: this many are held by addresses that are no node of the lab (default 0). */
  readonly foreign?: number;
  /** leases: every lease value has the same form (same keys, order, types) once node values are masked. */
  readonly sameForm?: boolean;
  /** fault recovery: a pod ping to every other node's pod succeeds within this time. */
  readonly recoversWithinMs?: number;
  /** after an agent restart, the node keeps its subnet. */
  readonly sameSubnet?: boolean;
  /** kernel: `desired` (from the leases). */
  readonly kernel?: "desired";
  /** fault delete: the deleted entry is back within this time. */
  readonly restoredWithinMs?: number;
  /**
   * fault: the background probe's loss from the fault until recovery, by send time; lost = no answer, an
   * ICMP error, or an answer later than {@linkcode lateAfterMs}.
   */
  readonly probeLoss?: PercentBound;
  /** fault: the longest time without a timely probe answer, from the fault until recovery, at most this. */
  readonly maxOutageMs?: number;
  /** fault: a probe answer slower than this counts as lost (default 1 s). */
  readonly lateAfterMs?: number;
  /** agent restart: the VTEP MAC published in the lease is unchanged. */
  readonly sameVtepMac?: boolean;
  /** lease-delete / agent stop: the node's entries are gone from every peer's kernel within this time. */
  readonly goneFromPeersWithinMs?: number;
  /** throughput / latency: pod-to-pod over node-to-node must fall in this band. */
  readonly ratio?: RatioBand;
  /** trace: the probe reaches its pod (default true). */
  readonly reaches?: boolean;
  /** trace: the namespace that saw the request last (where it was lost). */
  readonly lostAt?: string;
  /** trace: one of its findings (where it was lost or split, and why) matches this regular expression. */
  readonly finds?: string;
  /** trace: these `node:iface` (or `node/pN:iface`) saw the request, in this order (others may come between). */
  readonly crosses?: readonly string[];
  /** trace: the request passes exactly these namespaces, in order. */
  readonly path?: readonly string[];
  /** trace: how the request crosses the underlay between the nodes (and on which UDP port). */
  readonly encap?: { readonly kind: "vxlan" | "udp" | "none"; readonly port?: number };
  /** trace: the probe is split on this link (`node:iface <-> node:iface`, a regular expression) of this MTU. */
  readonly narrowLink?: { readonly link?: string; readonly mtu?: number };
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
  /**
   * The step is expected to fail with a message matching this regular expression (a reproduction of a broken
   * lab): it passes when it does, and fails when the check passes or fails for another reason.
   */
  readonly failsWith?: string;
}

/** What a reproduction shows for one agent. */
export type ReproVerdict = "reproduced" | "handled" | "not-applicable";
/** Every verdict, for messages. */
export const REPRO_VERDICTS: readonly ReproVerdict[] = ["reproduced", "handled", "not-applicable"];
/** The agents a reproduction is judged for. */
export const REPRO_AGENTS = ["ours", "upstream"] as const;
/** One of {@linkcode REPRO_AGENTS}. */
export type ReproAgent = typeof REPRO_AGENTS[number];

/**
 * A scenario that reproduces a known failure (its `repro:` block): what a user sees, why, what fixes it, and
 * what each agent does. The verdicts are claims the steps prove: a step that shows the failure is expected to
 * fail (`fails-with`) for an agent whose verdict is `reproduced`, and to pass for one that handles it.
 */
export interface Repro {
  readonly title: string;
  readonly symptom: string;
  readonly cause: string;
  readonly fix: string;
  /** Upstream threads (`flannel-io/flannel#1155`), or empty. */
  readonly upstream: readonly string[];
  /** The catalogue entry it reproduces (`S1`), when there is one. */
  readonly id?: string;
  readonly verdict: Readonly<Record<ReproAgent, ReproVerdict>>;
  /** Why, per agent, in a few words (shown beside the verdict). */
  readonly why: Readonly<Partial<Record<ReproAgent, string>>>;
}

/** A parsed scenario. */
export interface Scenario {
  readonly file: string;
  readonly description: string;
  /** Present when the scenario reproduces a known failure. */
  readonly repro?: Repro;
  /**
   * The agent every node runs, or `mixed`: the agent `fails-with` and `agents` on a step are resolved for. Steps
   * written for the other agent only are left out of {@linkcode steps}.
   */
  readonly agent: "ours" | "upstream" | "mixed";
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

/** One point on a step's timeline (faults: injected, reverted, recovered). */
export interface TimelineEvent {
  /** Epoch ms. */
  readonly t: number;
  readonly what: string;
}

/**
 * Pictures a step can offer the HTML report, as data: the connectivity matrix, the background probe's answers
 * over time, or an SVG the step drew itself (a trace's sequence diagram).
 */
export interface Figures {
  readonly matrix?: {
    readonly cols: readonly string[];
    readonly rows: readonly {
      readonly from: string;
      /** null: not probed (the source itself, or node to node). */
      readonly cells: readonly ({ readonly ok: boolean; readonly want: boolean } | null)[];
    }[];
  };
  /** Probe samples: send time (epoch ms) and RTT, no RTT when lost. */
  readonly probe?: readonly { readonly t: number; readonly rttMs?: number }[];
  readonly svg?: string;
}

/** What a step kind reports when its check holds. */
export interface Outcome {
  /** One line: what held. */
  readonly message: string;
  /** Further lines (a matrix, a diff). */
  readonly details?: readonly string[];
  /** Files kept in the lab directory (pcaps, probe logs). */
  readonly artifacts?: readonly string[];
  /** Numbers worth reporting (throughput, recovery time). */
  readonly metrics?: Readonly<Record<string, number>>;
  readonly timeline?: readonly TimelineEvent[];
  readonly figures?: Figures;
}

/** The outcome of one step as the run records it. */
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
  readonly figures?: Figures;
}
