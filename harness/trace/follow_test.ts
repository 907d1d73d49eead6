import assert from "node:assert/strict";
import { decodeFrame } from "./decode.ts";
import { follow, type InterfaceCapture } from "./follow.ts";
import { parsePcap } from "./pcap.ts";

// Packets built by hand, as the kernel would put them on the wire.
const ip = (s: string) => s.split(".").map(Number);

function ipv4(
  src: string,
  dst: string,
  proto: number,
  payload: number[],
  o: { id?: number; frag?: number; more?: boolean; df?: boolean } = {},
): number[] {
  const len = 20 + payload.length;
  const flags = (o.df ? 0x4000 : 0) | (o.more ? 0x2000 : 0) | ((o.frag ?? 0) / 8);
  return [
    0x45,
    0,
    len >> 8,
    len & 255,
    (o.id ?? 1) >> 8,
    (o.id ?? 1) & 255,
    flags >> 8,
    flags & 255,
    64,
    proto,
    0,
    0,
    ...ip(src),
    ...ip(dst),
    ...payload,
  ];
}
const icmp = (type: number, code: number, id: number, seq: number, data: number[]) => [
  type,
  code,
  0,
  0,
  id >> 8,
  id & 255,
  seq >> 8,
  seq & 255,
  ...data,
];
const udp = (sport: number, dport: number, data: number[]) => [
  sport >> 8,
  sport & 255,
  dport >> 8,
  dport & 255,
  (8 + data.length) >> 8,
  (8 + data.length) & 255,
  0,
  0,
  ...data,
];
const ether = (payload: number[]) => [...new Array(12).fill(2), 0x08, 0x00, ...payload];
const vxlan = (
  vni: number,
  inner: number[],
) => [0x08, 0, 0, 0, vni >> 16, (vni >> 8) & 255, vni & 255, 0, ...ether(inner)];

function pcap(linkType: number, frames: [number, number[]][]): Uint8Array {
  const out: number[] = [];
  const u32 = (v: number) => out.push(v & 255, (v >> 8) & 255, (v >> 16) & 255, (v >>> 24) & 255);
  u32(0xa1b23c4d); // nanosecond pcap, little endian
  out.push(2, 0, 4, 0);
  u32(0);
  u32(0);
  u32(65535);
  u32(linkType);
  for (const [ns, f] of frames) {
    u32(Math.floor(ns / 1e9));
    u32(ns % 1e9);
    u32(f.length);
    u32(f.length);
    out.push(...f);
  }
  return new Uint8Array(out);
}

const PATTERN = [0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4];
const DATA = [...new Array(16).fill(0), ...PATTERN, ...PATTERN];
const REQ = ipv4("10.244.1.2", "10.244.2.2", 1, icmp(8, 0, 77, 1, DATA));
const REP = ipv4("10.244.2.2", "10.244.1.2", 1, icmp(0, 0, 77, 1, DATA));
const T0 = 1_700_000_000_000_000; // ns, within exact integers

function cap(
  where: string,
  iface: string,
  linkType: number,
  frames: [number, number[]][],
  mtu = 1500,
): InterfaceCapture {
  return { where, iface, mtu, pcap: parsePcap(pcap(linkType, frames)) };
}

const probe = {
  proto: "icmp" as const,
  from: "n1/p1",
  to: "n2/p1",
  src: "10.244.1.2",
  dst: "10.244.2.2",
  pattern: new Uint8Array(PATTERN),
};

Deno.test("pcap: nanosecond files keep their precision; a truncated last record is dropped", () => {
  const bytes = pcap(1, [[T0 + 1500, ether(REQ)], [T0 + 2500, ether(REP)]]);
  const p = parsePcap(bytes.subarray(0, bytes.length - 3));
  assert.equal(p.linkType, 1);
  assert.equal(p.records.length, 1);
  assert.equal(p.records[0]!.tsUs, T0 / 1000 + 1.5);
  assert.throws(() => parsePcap(new Uint8Array(30)), /not a pcap file/);
});

Deno.test("decode: VXLAN and flannel-udp wrap an inner packet; an ICMP error quotes the packet it is about", () => {
  const outer = ipv4("192.168.61.1", "192.168.62.2", 17, udp(40000, 8472, vxlan(1, REQ)));
  const f = decodeFrame(1, new Uint8Array(ether(outer)), { vxlan: 8472, udp: 8285 })!;
  assert.equal(f.encap?.kind, "vxlan");
  assert.equal(f.encap?.kind === "vxlan" && f.encap.vni, 1);
  assert.deepEqual([f.encap!.inner.src, f.encap!.inner.dst, f.encap!.inner.icmp?.id], [
    "10.244.1.2",
    "10.244.2.2",
    77,
  ]);
  const u = decodeFrame(
    1,
    new Uint8Array(ether(ipv4("192.168.50.1", "192.168.50.2", 17, udp(8285, 8285, REQ)))),
    {
      vxlan: 8472,
      udp: 8285,
    },
  )!;
  assert.equal(u.encap?.kind, "udp");
  const err = ipv4("10.244.1.1", "10.244.1.2", 1, [3, 0, 0, 0, 0, 0, 0, 0, ...REQ.slice(0, 28)]);
  const e = decodeFrame(101, new Uint8Array(err), { vxlan: 8472, udp: 8285 })!;
  assert.equal(e.outer.icmp?.type, 3);
  assert.equal(e.outer.about?.icmp?.id, 77);
  assert.equal(decodeFrame(1, new Uint8Array([1, 2, 3]), { vxlan: 8472, udp: 8285 }), undefined, "garbage");
});

Deno.test("follow: the hops of a VXLAN request and its reply, in time order, ties ordered by direction", () => {
  const wire = (src: string, dst: string, inner: number[]) =>
    ether(ipv4(src, dst, 17, udp(40000, 8472, vxlan(1, inner))));
  const other = ether(ipv4("10.244.1.2", "10.244.2.2", 1, icmp(8, 0, 99, 1, new Array(40).fill(0))));
  const t = follow(probe, [
    cap("n1/p1", "eth0", 1, [[T0, ether(REQ)], [T0 + 9000, ether(REP)], [T0 + 20000, other]]),
    // The bridge and its port stamped with the same time: from the pod, the port comes first.
    cap("n1", "cni0", 1, [[T0 + 1000, ether(REQ)], [T0 + 8000, ether(REP)]]),
    cap("n1", "veth1", 1, [[T0 + 1000, ether(REQ)], [T0 + 8500, ether(REP)]]),
    cap("n1", "eth1", 1, [[T0 + 2000, wire("192.168.61.1", "192.168.62.2", REQ)], [
      T0 + 7000,
      wire("192.168.62.2", "192.168.61.1", REP),
    ]]),
    cap("n2", "eth1", 1, [[T0 + 3000, wire("192.168.61.1", "192.168.62.2", REQ)], [
      T0 + 6000,
      wire("192.168.62.2", "192.168.61.1", REP),
    ]]),
    cap("n2/p1", "eth0", 1, [[T0 + 4000, ether(REQ)], [T0 + 5000, ether(REP)]]),
  ], { vxlan: 8472, udp: 8285 });
  assert.deepEqual(t.request.map((h) => `${h.where}:${h.iface}`), [
    "n1/p1:eth0",
    "n1:veth1",
    "n1:cni0",
    "n1:eth1",
    "n2:eth1",
    "n2/p1:eth0",
  ]);
  assert.deepEqual(t.reply.map((h) => `${h.where}:${h.iface}`), [
    "n2/p1:eth0",
    "n2:eth1",
    "n1:eth1",
    "n1:cni0",
    "n1:veth1",
    "n1/p1:eth0",
  ]);
  assert.deepEqual(t.request[3]!.encap, {
    kind: "vxlan",
    vni: 1,
    src: "192.168.61.1",
    dst: "192.168.62.2",
    sport: 40000,
    dport: 8472,
    len: 20 + 8 + 8 + 14 + REQ.length,
    ttl: 64,
    df: false,
  });
  assert.deepEqual(t.request[0]!.packet, {
    src: "10.244.1.2",
    dst: "10.244.2.2",
    len: REQ.length,
    ttl: 64,
    df: false,
  });
  assert.ok(t.reached && t.answered);
  assert.equal(t.errors.length, 0, "another ping's packets are not the probe's");
});

Deno.test("follow: a fragmented outer packet is counted in pieces, and an ICMP error is the probe's error", () => {
  const inner = ipv4("10.244.1.2", "10.244.2.2", 1, icmp(8, 0, 77, 1, DATA));
  const whole = ipv4("192.168.71.1", "192.168.72.2", 17, udp(40000, 8472, vxlan(1, inner)), { id: 500 });
  // r1 splits it: the first piece keeps the headers, the second is the rest of the payload.
  const first = ipv4("192.168.71.1", "192.168.72.2", 17, udp(40000, 8472, vxlan(1, inner)).slice(0, 64), {
    id: 500,
    more: true,
  });
  const second = ipv4("192.168.71.1", "192.168.72.2", 17, new Array(40).fill(0), { id: 500, frag: 64 });
  const unreach = ipv4("10.244.1.1", "10.244.1.2", 1, [3, 0, 0, 0, 0, 0, 0, 0, ...inner.slice(0, 28)]);
  const t = follow(probe, [
    cap("n1/p1", "eth0", 1, [[T0, ether(inner)], [T0 + 9000, ether(unreach)]]),
    cap("r1", "eth1", 1, [[T0 + 1000, ether(whole)]]),
    cap("r1", "eth2", 1, [[T0 + 2000, ether(first)], [T0 + 2001, ether(second)]], 1400),
  ], { vxlan: 8472, udp: 8285 });
  const split = t.request.find((h) => h.iface === "eth2" && h.where === "r1")!;
  assert.equal(split.fragments, 2);
  assert.equal(split.mtu, 1400);
  assert.equal(t.errors.length, 1);
  assert.deepEqual(t.errors[0]!.error, { from: "10.244.1.1", text: "destination net unreachable" });
  assert.ok(!t.reached && !t.answered);
});
