/**
 * Expected verdicts derived from the backend and the topology (pure): which pod pairs must reach each other,
 * which kernel routes a node must hold for a set of leases, and the pod MTU.
 *
 * @module
 */
import type { NodeSpec, Topology } from "../topology/model.ts";
import type { Scenario } from "./model.ts";

/** Encapsulation overhead per backend (SCENARIOS.md: vxlan 50, udp 28, host-gw 0). */
export const OVERHEAD: Readonly<Record<string, number>> = { vxlan: 50, udp: 28, "host-gw": 0 };

function ipToInt(ip: string): number {
  return ip.split(".").reduce((a, b) => (a << 8) + Number(b), 0) >>> 0;
}

/** The underlay address (CIDR) of a node's agent interface, from its exec lines. */
export function underlayOf(node: NodeSpec): string | undefined {
  return node.agentIface ? node.addresses[node.agentIface]?.[0] : undefined;
}

/** Whether two nodes' agent interfaces share a subnet (L2 adjacency as host-gw needs it). */
export function sameSubnet(a: NodeSpec, b: NodeSpec): boolean {
  const x = underlayOf(a);
  const y = underlayOf(b);
  if (!x || !y) return false;
  const [ia, la] = x.split("/");
  const [ib] = y.split("/");
  const len = Number(la);
  const mask = len === 0 ? 0 : (~0 << (32 - len)) >>> 0;
  return ((ipToInt(ia!) & mask) >>> 0) === ((ipToInt(ib!) & mask) >>> 0);
}

/** The expected verdict of traffic from node `a`'s pods to node `b`'s pods, with the reason. */
export function expectedReach(sc: Scenario, a: NodeSpec, b: NodeSpec): { pass: boolean; why: string } {
  if (a.name === b.name) return { pass: true, why: "same node: the cni0 bridge" };
  if (sc.backend === "host-gw" && !sameSubnet(a, b)) {
    return {
      pass: false,
      why: `host-gw needs L2 adjacency: ${a.name} (${underlayOf(a)}) and ${b.name} (${
        underlayOf(b)
      }) are on different subnets`,
    };
  }
  return { pass: true, why: `${sc.backend}${sc.directRouting && sameSubnet(a, b) ? " (direct route)" : ""}` };
}

/** The pod MTU a node's agent should announce: underlay link MTU minus the backend's overhead. */
export function expectedPodMtu(topo: Topology, sc: Scenario, node: NodeSpec): number | undefined {
  const link = topo.links.find((l) =>
    (l.a.node === node.name && l.a.iface === node.agentIface) ||
    (l.b.node === node.name && l.b.iface === node.agentIface)
  );
  return link ? link.mtu - (OVERHEAD[sc.backend] ?? 0) : undefined;
}

/** One route as compared. */
export interface RouteEntry {
  readonly dst: string;
  readonly gateway?: string;
  readonly dev: string;
  readonly onlink: boolean;
}

/** A lease as the kernel check needs it. */
export interface PeerLease {
  readonly subnet: string;
  readonly publicIp: string;
  readonly node?: NodeSpec;
}

/**
 * The routes a node must hold to its peers' subnets (upstream's observed form): vxlan `via <subnet .0> dev
 * flannel.<VNI> onlink`; host-gw and DirectRouting to an adjacent peer `via <PublicIP> dev <ext>`; host-gw to a
 * non-adjacent peer none (the agent reports an error instead). udp: none per peer (one route to the network).
 */
export function expectedRoutes(sc: Scenario, self: NodeSpec, peers: readonly PeerLease[]): RouteEntry[] {
  const out: RouteEntry[] = [];
  for (const p of peers) {
    const adjacent = p.node ? sameSubnet(self, p.node) : false;
    if (sc.backend === "udp") continue;
    if (sc.backend === "host-gw" || (sc.directRouting && adjacent)) {
      if (sc.backend === "host-gw" && !adjacent) continue;
      out.push({ dst: p.subnet, gateway: p.publicIp, dev: self.agentIface!, onlink: false });
    } else {
      out.push({ dst: p.subnet, gateway: p.subnet.split("/")[0]!, dev: `flannel.${sc.vni}`, onlink: true });
    }
  }
  return out.sort((a, b) => a.dst.localeCompare(b.dst));
}

/** A structured difference between expected and actual routes. */
export interface RouteDiff {
  readonly missing: RouteEntry[];
  readonly extra: RouteEntry[];
  readonly different: { expected: RouteEntry; actual: RouteEntry }[];
}

/** Compares routes by destination. */
export function diffRoutes(expected: readonly RouteEntry[], actual: readonly RouteEntry[]): RouteDiff {
  const act = new Map(actual.map((r) => [r.dst, r]));
  const exp = new Map(expected.map((r) => [r.dst, r]));
  const missing: RouteEntry[] = [];
  const different: { expected: RouteEntry; actual: RouteEntry }[] = [];
  for (const e of expected) {
    const a = act.get(e.dst);
    if (!a) missing.push(e);
    else if (a.gateway !== e.gateway || a.dev !== e.dev || a.onlink !== e.onlink) {
      different.push({ expected: e, actual: a });
    }
  }
  const extra = actual.filter((a) => !exp.has(a.dst));
  return { missing, extra, different };
}

/** Formats a route like `ip route`. */
export function formatRoute(r: RouteEntry): string {
  return `${r.dst}${r.gateway ? ` via ${r.gateway}` : ""} dev ${r.dev}${r.onlink ? " onlink" : ""}`;
}
