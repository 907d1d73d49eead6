/**
 * Follows one probe through the captures taken on every interface of a lab: which interfaces saw it, in time
 * order (every namespace shares the kernel's clock), encapsulated or not, whole or in fragments, and the answer
 * or ICMP error that came back. Pure: captures in, a {@linkcode Trace} out.
 *
 * @module
 */
import { decodeFrame, type Ip4 } from "./decode.ts";
import type { Pcap } from "./pcap.ts";

/** What the probe is: how to tell its packets from the rest. */
export interface Probe {
  readonly proto: "icmp" | "udp" | "tcp";
  /** The namespaces it is sent from and to, as captures name them (`n1/p1`). */
  readonly from: string;
  readonly to: string;
  readonly src: string;
  readonly dst: string;
  /** icmp: the pattern ping puts in the payload (`ping -p`), as bytes. */
  readonly pattern?: Uint8Array;
  /** udp/tcp: the destination port, chosen unique for the probe. */
  readonly port?: number;
}

/** The captures of one interface. */
export interface InterfaceCapture {
  /** The namespace's name in the trace: a node (`n1`) or a pod (`n1/p1`). */
  readonly where: string;
  readonly iface: string;
  readonly mtu?: number;
  readonly pcap: Pcap;
}

/** One interface that saw a packet of the probe. */
export interface Hop {
  readonly tUs: number;
  readonly where: string;
  readonly iface: string;
  /** The request, the answer, or an ICMP error about the request. */
  readonly kind: "request" | "reply" | "error";
  /** The probe's own packet (the inner one when encapsulated). */
  readonly packet: {
    readonly src: string;
    readonly dst: string;
    readonly len: number;
    readonly ttl: number;
    readonly df: boolean;
  };
  /** The outer header, when it is encapsulated here. */
  readonly encap?: {
    readonly kind: "vxlan" | "udp";
    readonly vni?: number;
    readonly src: string;
    readonly dst: string;
    readonly sport: number;
    readonly dport: number;
    readonly len: number;
    readonly ttl: number;
    readonly df: boolean;
  };
  /** Seen in this many pieces here (the outer packet when encapsulated), when it was fragmented. */
  readonly fragments?: number;
  /** The interface's MTU, when known. */
  readonly mtu?: number;
  /** For an error: who sent it, and what it says. */
  readonly error?: { readonly from: string; readonly text: string; readonly mtu?: number };
}

/** What the captures show of a probe. */
export interface Trace {
  readonly probe: Probe;
  readonly request: readonly Hop[];
  readonly reply: readonly Hop[];
  readonly errors: readonly Hop[];
  /** The request was seen in the destination's namespace. */
  readonly reached: boolean;
  /** An answer came back to the source's namespace. */
  readonly answered: boolean;
}

/**
 * Orders hops the kernel stamped with the same time. A frame entering a bridge port is stamped once and seen
 * by the port and then the bridge (a pod's veth, then cni0), and the other way round on its way to a pod, so
 * within one namespace the order follows the direction: from a pod, veth before cni0 before the rest; towards
 * a pod, the reverse.
 */
function untie(list: Hop[]): Hop[] {
  const rank = (h: Hop) => (/^veth/.test(h.iface) ? 0 : /^cni/.test(h.iface) ? 1 : 2);
  const out = [...list];
  for (let i = 0; i < out.length;) {
    let j = i;
    while (
      j + 1 < out.length && out[j + 1]!.where === out[i]!.where && out[j + 1]!.kind === out[i]!.kind &&
      Math.abs(out[j + 1]!.tUs - out[i]!.tUs) < 1
    ) j++;
    if (j > i) {
      const towardsPod = out[j + 1]?.where.includes("/") ?? false;
      const run = out.slice(i, j + 1).sort((a, b) => towardsPod ? rank(b) - rank(a) : rank(a) - rank(b));
      out.splice(i, run.length, ...run);
    }
    i = j + 1;
  }
  return out;
}

const UNREACH: Readonly<Record<number, string>> = {
  0: "destination net unreachable",
  1: "destination host unreachable",
  2: "protocol unreachable",
  3: "port unreachable",
  4: "fragmentation needed",
  9: "network administratively prohibited",
  10: "host administratively prohibited",
  13: "communication administratively prohibited",
};

function contains(hay: Uint8Array, needle: Uint8Array): boolean {
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}

/** Classifies a packet as the probe's request, its answer, an error about it, or none of these. */
function classify(p: Ip4, probe: Probe, icmpIds: Set<number>): Hop["kind"] | undefined {
  const fwd = p.src === probe.src && p.dst === probe.dst;
  const back = p.src === probe.dst && p.dst === probe.src;
  if (probe.proto === "icmp" && p.icmp) {
    if (fwd && p.icmp.type === 8) {
      if (icmpIds.has(p.icmp.id) || (probe.pattern && contains(p.payload, probe.pattern))) {
        icmpIds.add(p.icmp.id);
        return "request";
      }
    }
    if (back && p.icmp.type === 0 && icmpIds.has(p.icmp.id)) return "reply";
  }
  if (probe.proto === "udp" && fwd && p.udp?.dport === probe.port) return "request";
  if (probe.proto === "tcp") {
    if (fwd && p.tcp?.dport === probe.port) return "request";
    if (back && p.tcp?.sport === probe.port) return "reply";
  }
  const a = p.about;
  if (p.icmp && a && p.dst === probe.src && a.src === probe.src && a.dst === probe.dst) {
    const ours = probe.proto === "icmp"
      ? a.icmp !== undefined && icmpIds.has(a.icmp.id)
      : probe.proto === "udp"
      ? a.udp?.dport === probe.port
      : a.tcp?.dport === probe.port;
    // A UDP probe's port-unreachable from the destination is its answer: it arrived, nobody listens.
    if (ours) return probe.proto === "udp" && p.src === probe.dst && p.icmp.type === 3 ? "reply" : "error";
  }
  return undefined;
}

/**
 * Follows a probe through captures.
 *
 * @param probe what the probe is
 * @param captures every interface's capture
 * @param ports the VXLAN and flannel-udp ports, to look inside encapsulated packets
 */
export function follow(
  probe: Probe,
  captures: readonly InterfaceCapture[],
  ports: { readonly vxlan: number; readonly udp: number },
): Trace {
  // ICMP ids are learnt from requests (found by their payload pattern) before answers and errors refer to them.
  const icmpIds = new Set<number>();
  type Seen = { c: InterfaceCapture; tUs: number; p: Ip4; outer: Ip4; frame: ReturnType<typeof decodeFrame> };
  const all: Seen[] = [];
  for (const c of captures) {
    for (const r of c.pcap.records) {
      const frame = decodeFrame(c.pcap.linkType, r.data, ports);
      if (!frame) continue;
      all.push({ c, tUs: r.tsUs, p: frame.encap?.inner ?? frame.outer, outer: frame.outer, frame });
    }
  }
  all.sort((a, b) => a.tUs - b.tUs);
  const kinds = all.map((s) => classify(s.p, probe, icmpIds));
  // A second pass for answers and errors seen before a request was recognised elsewhere.
  all.forEach((s, i) => kinds[i] ??= classify(s.p, probe, icmpIds));
  // Later fragments carry no transport header: they belong to a packet whose first piece matched.
  const firstPieces = new Map<string, Hop["kind"]>();
  const key = (ip: Ip4) => `${ip.src}>${ip.dst}#${ip.id}`;
  all.forEach((s, i) => {
    if (kinds[i] && s.outer.frag) firstPieces.set(key(s.outer), kinds[i]);
    if (kinds[i] && s.p !== s.outer && s.p.frag) firstPieces.set(key(s.p), kinds[i]);
  });
  const hops = new Map<string, Hop>();
  const order: string[] = [];
  all.forEach((s, i) => {
    const piece = s.outer.frag && s.outer.frag.offset > 0 ? firstPieces.get(key(s.outer)) : undefined;
    const kind = kinds[i] ?? piece;
    if (!kind) return;
    const id = `${kind}@${s.c.where}:${s.c.iface}`;
    const prev = hops.get(id);
    if (prev) {
      // A second piece of the same packet on the same interface: count it.
      if (s.outer.frag) hops.set(id, { ...prev, fragments: (prev.fragments ?? 1) + 1 });
      return;
    }
    if (piece) return; // a later piece before its first: nothing to say on its own
    const enc = s.frame?.encap;
    const error = kind === "error" && s.p.icmp
      ? {
        from: s.p.src,
        text: s.p.icmp.type === 11
          ? "time exceeded"
          : UNREACH[s.p.icmp.code] ?? `ICMP ${s.p.icmp.type}/${s.p.icmp.code}`,
        ...(s.p.mtu ? { mtu: s.p.mtu } : {}),
      }
      : undefined;
    hops.set(id, {
      tUs: s.tUs,
      where: s.c.where,
      iface: s.c.iface,
      kind,
      packet: { src: s.p.src, dst: s.p.dst, len: s.p.len, ttl: s.p.ttl, df: s.p.dontFragment },
      ...(enc
        ? {
          encap: {
            kind: enc.kind,
            ...(enc.kind === "vxlan" ? { vni: enc.vni } : {}),
            src: s.outer.src,
            dst: s.outer.dst,
            sport: s.outer.udp?.sport ?? 0,
            dport: s.outer.udp?.dport ?? 0,
            len: s.outer.len,
            ttl: s.outer.ttl,
            df: s.outer.dontFragment,
          },
        }
        : {}),
      ...(s.outer.frag ? { fragments: 1 } : {}),
      ...(s.c.mtu !== undefined ? { mtu: s.c.mtu } : {}),
      ...(error ? { error } : {}),
    });
    order.push(id);
  });
  const list = untie(order.map((id) => hops.get(id)!));
  const request = list.filter((h) => h.kind === "request");
  const reply = list.filter((h) => h.kind === "reply");
  const errors = list.filter((h) => h.kind === "error");
  const reached = request.some((h) => h.where === probe.to);
  const answered = reply.some((h) => h.where === probe.from);
  return { probe, request, reply, errors, reached, answered };
}
