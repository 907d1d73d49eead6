/**
 * Underlay path MTU (pure): what a don't-fragment ping said, which hop is the narrowest, and what that means
 * for each backend's encapsulated traffic. The `mtu` step probes the pod path and, beside it, the underlay
 * path between the two nodes' public addresses at the size the backend's outer packets have; a pinch that the
 * pod probe cannot see (vxlan's outer packets carry no DF, so routers fragment them silently) shows here.
 *
 * @module
 */
import type { Link, NodeSpec, Topology } from "../topology/model.ts";

/** What `ping -M do -s N` reported. */
export type DfProbe =
  | { readonly kind: "passed" }
  /** A router answered "Frag needed and DF set (mtu = M)". */
  | { readonly kind: "frag-needed"; readonly from: string; readonly mtu: number }
  /** The sender refused (its own link, or a path MTU it already learned). */
  | { readonly kind: "local"; readonly mtu?: number }
  /** Nothing came back: a blackhole. */
  | { readonly kind: "lost" };

/**
 * Classifies ping's output.
 *
 * @example
 * ```ts
 * import { classifyDfPing } from "./path_mtu.ts";
 * classifyDfPing(false, "From 10.0.1.254 icmp_seq=1 Frag needed and DF set (mtu = 1400)");
 * // { kind: "frag-needed", from: "10.0.1.254", mtu: 1400 }
 * ```
 */
export function classifyDfPing(ok: boolean, out: string): DfProbe {
  if (ok) return { kind: "passed" };
  const frag = /From (\S+) icmp_seq=\d+ Frag needed and DF set \(mtu = (\d+)\)/.exec(out);
  if (frag) return { kind: "frag-needed", from: frag[1]!, mtu: Number(frag[2]) };
  const local = /message too long(?:, mtu=(\d+))?/i.exec(out);
  if (local) return local[1] ? { kind: "local", mtu: Number(local[1]) } : { kind: "local" };
  return { kind: "lost" };
}

/** Where an address lives in the topology: the node and interface configured with it. */
export function ownerOf(topo: Topology, ip: string): { node: NodeSpec; iface: string } | undefined {
  for (const node of topo.nodes) {
    for (const [iface, cidrs] of Object.entries(node.addresses)) {
      if (cidrs.some((c) => c.split("/")[0] === ip)) return { node, iface };
    }
  }
  return undefined;
}

/** Links of a node with exactly this MTU: the candidates for the narrow hop a router reported. */
export function linksWithMtu(topo: Topology, node: string, mtu: number): Link[] {
  return topo.links.filter((l) => l.mtu === mtu && (l.a.node === node || l.b.node === node));
}

/** What a too-small underlay does to each backend's traffic. */
export function pinchSymptom(backend: string): string {
  switch (backend) {
    case "vxlan":
      return "underlay fragmentation: vxlan's outer packets carry no DF, so the routers fragment every " +
        "full-size packet and pod-to-pod throughput collapses while pings still pass";
    case "udp":
      return "a blackhole for full-size packets: the udp backend's datagrams carry DF, so they are dropped " +
        "with fragmentation-needed at the narrow hop";
    default:
      return "fragmentation-needed: pod packets cross the underlay as they are, and full-size ones with DF " +
        "are refused at the narrow hop";
  }
}
