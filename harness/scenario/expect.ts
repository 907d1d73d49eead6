/**
 * Expected verdicts derived from the backend and the topology (pure): which pod pairs must reach each other
 * and the pod MTU. (The kernel entries a node must hold come from the agent's own plans: `checks/kernel_state.ts`.)
 *
 * @module
 */
import { backendMtu, type BackendType, UDP_OVERHEAD, VXLAN_OVERHEAD } from "../../agent/backend/mod.ts";
import { parseNetworkConfig } from "../../agent/config/mod.ts";
import { netContains, parseCidrWithIp } from "../../agent/ip.ts";
import type { NodeSpec, Topology } from "../topology/model.ts";
import type { Scenario } from "./model.ts";

/**
 * Encapsulation overhead per backend, the agent's own: vxlan {@linkcode VXLAN_OVERHEAD} (outer IPv4, UDP, VXLAN
 * and inner Ethernet), udp {@linkcode UDP_OVERHEAD} (outer IPv4 and UDP), host-gw none.
 */
export const OVERHEAD: Readonly<Record<string, number>> = {
  vxlan: VXLAN_OVERHEAD,
  udp: UDP_OVERHEAD,
  "host-gw": 0,
} satisfies Record<BackendType, number>;

/** The underlay address (CIDR) of a node's agent interface, from its exec lines. */
export function underlayOf(node: NodeSpec): string | undefined {
  return node.agentIface ? node.addresses[node.agentIface]?.[0] : undefined;
}

/**
 * Whether two nodes' agent interfaces share a subnet (L2 adjacency as host-gw needs it): `b`'s address is inside
 * the subnet of `a`'s (with `a`'s prefix length).
 */
export function sameSubnet(a: NodeSpec, b: NodeSpec): boolean {
  const x = underlayOf(a);
  const y = underlayOf(b);
  if (!x || !y) return false;
  try {
    return netContains(parseCidrWithIp(x).net, parseCidrWithIp(y).ip);
  } catch {
    return false;
  }
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

/**
 * The pod MTU a node's agent should announce: the agent's own {@linkcode backendMtu} for the scenario's network
 * config and the MTU of the link on the agent's interface (vxlan's `Backend.MTU`, when set, is the underlay MTU
 * the agent sizes from instead; the other backends have no such option).
 */
export function expectedPodMtu(topo: Topology, sc: Scenario, node: NodeSpec): number | undefined {
  const link = topo.links.find((l) =>
    (l.a.node === node.name && l.a.iface === node.agentIface) ||
    (l.b.node === node.name && l.b.iface === node.agentIface)
  );
  const backend = parseNetworkConfig(sc.network).backend;
  const ifaceMtu = link?.mtu ?? (backend.type === "vxlan" ? backend.mtu : undefined);
  return ifaceMtu ? backendMtu(backend, ifaceMtu) : undefined;
}
