/**
 * Expected verdicts derived from the backend and the topology (pure): which pod pairs must reach each other
 * and the pod MTU. (The kernel entries a node must hold come from the agent's own plans: `checks/kernel_state.ts`.)
 *
 * @module
 */
import type { NodeSpec, Topology } from "../topology/model.ts";
import type { Scenario } from "./model.ts";

/** Encapsulation overhead per backend (vxlan 50: outer IPv4, UDP, VXLAN and inner Ethernet; udp 28: outer IPv4 and UDP; host-gw 0). */
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

/**
 * The expected verdict of traffic from node `a`'s pods to an address of the lab that is not a pod: node `b`'s
 * own address, or a host outside the cluster. Both get through on every backend: the agent's ip-masq rules (or,
 * with `--ip-masq=false`, the CNI bridge's) rewrite the pod's source to its node's address, which the underlay
 * routes back, and for a node the packet needs no pod route at all.
 */
export function expectedReachHost(sc: Scenario, a: NodeSpec, b: NodeSpec | "outside"): {
  pass: boolean;
  why: string;
} {
  if (b !== "outside" && a.name === b.name) return { pass: true, why: "the pod's own node, through cni0" };
  return {
    pass: true,
    why: `${sc.backend}: masqueraded to ${a.name}'s address, which the underlay routes back`,
  };
}

/** The pod MTU a node's agent should announce: underlay link MTU minus the backend's overhead. */
export function expectedPodMtu(topo: Topology, sc: Scenario, node: NodeSpec): number | undefined {
  const link = topo.links.find((l) =>
    (l.a.node === node.name && l.a.iface === node.agentIface) ||
    (l.b.node === node.name && l.b.iface === node.agentIface)
  );
  // Backend.MTU, when set, is the underlay MTU the agent sizes from instead of its interface's.
  const configured = (JSON.parse(sc.network) as { Backend?: { MTU?: number } }).Backend?.MTU;
  const underlay = configured || link?.mtu;
  return underlay ? underlay - (OVERHEAD[sc.backend] ?? 0) : undefined;
}
