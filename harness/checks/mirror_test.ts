import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { compareMirror, type KernelReadings, maskLease, mirrorView, type NodeValues } from "./mirror.ts";

const NET = "10.244.0.0/16";
const A: NodeValues = { subnet: "10.244.3.0/24", publicIp: "192.168.50.1", vtepMac: "aa:aa:aa:aa:aa:01" };
const B: NodeValues = { subnet: "10.244.7.0/24", publicIp: "192.168.50.2", vtepMac: "bb:bb:bb:bb:bb:02" };
const C: NodeValues = { subnet: "10.244.9.0/24", publicIp: "192.168.50.3", vtepMac: "cc:cc:cc:cc:cc:03" };

function readings(
  self: NodeValues,
  peers: NodeValues[],
  extra: Partial<KernelReadings> = {},
): KernelReadings {
  const base = (v: NodeValues) => v.subnet.split("/")[0]!;
  return {
    link: [{
      ifindex: 7,
      ifname: "flannel.1",
      mtu: 1450,
      address: self.vtepMac,
      linkinfo: {
        info_kind: "vxlan",
        info_data: { id: 1, local: self.publicIp, port: 8472, learning: false },
      },
      stats64: { rx: { bytes: 12 } },
    }],
    addrs: [{ ifname: "flannel.1", addr_info: [{ local: base(self), prefixlen: 32, valid_life_time: 1 }] }],
    routes: [
      { dst: "default", gateway: "172.20.20.1", dev: "eth0" },
      { dst: self.subnet, dev: "cni0", prefsrc: self.subnet.replace(".0/24", ".1") },
      ...peers.map((p) => ({ dst: p.subnet, gateway: base(p), dev: "flannel.1", flags: ["onlink"] })),
    ],
    neighs: [
      { dst: "192.168.50.250", lladdr: "11:22:33:44:55:66", dev: "eth1", state: ["REACHABLE"] },
      ...peers.map((p) => ({ dst: base(p), lladdr: p.vtepMac, dev: "flannel.1", state: ["PERMANENT"] })),
    ],
    fdbs: [
      { mac: "33:33:00:00:00:01", flags: ["self"], state: "permanent" },
      ...peers.map((p) => ({ mac: p.vtepMac, dst: p.publicIp, flags: ["self"], state: "permanent" })),
    ],
    ...extra,
  };
}

Deno.test("mirror: two nodes holding each other's entries mirror each other; third-node entries are left out", () => {
  const a = mirrorView(readings(A, [B, C]), A, B, [C], NET);
  const b = mirrorView(readings(B, [A, C]), B, A, [C], NET);
  assertEquals(compareMirror(a, b, ["n1", "n2"]), []);
  assertEquals(a.routes.length, 2, "own cni0 route and the peer's route; the third node's is left out");
  assertEquals(a.fdbs, ['{"dst":"<peer-ip>","flags":["self"],"mac":"<peer-vtep-mac>","state":"permanent"}']);
});

Deno.test("mirror: a differing device attribute, a missing neighbour and an extra route are reported", () => {
  const a = mirrorView(readings(A, [B]), A, B, [], NET);
  const rb = readings(B, [A]);
  const link = structuredClone(rb.link) as Record<string, unknown>[];
  (link[0]!["linkinfo"] as { info_data: Record<string, unknown> }).info_data["learning"] = true;
  const b = mirrorView(
    {
      ...rb,
      link,
      neighs: [],
      routes: [...rb.routes, { dst: "10.244.200.0/24", dev: "flannel.1" }],
    },
    B,
    A,
    [],
    NET,
  );
  const lines = compareMirror(a, b, ["n1", "n2"]);
  assertEquals(lines.length, 3, lines.join("\n"));
  assertEquals(lines[0], "link.0.linkinfo.info_data.learning: n1 false, n2 true");
  assertEquals(lines[1]!.startsWith('routes: only on n2: {"dev":"flannel.1","dst":"10.244.200.0/24"}'), true);
  assertEquals(lines[2]!.startsWith("neighs: only on n1:"), true);
});

Deno.test("mirror: a lease's own values are masked, key order and types kept", () => {
  const value = '{"PublicIP":"192.168.50.1","PublicIPv6":null,"BackendType":"vxlan",' +
    '"BackendData":{"VNI":1,"VtepMAC":"aa:aa:aa:aa:aa:01"}}';
  assertEquals(
    maskLease(value, A),
    '{"PublicIP":"<ip>","PublicIPv6":null,"BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"<vtep-mac>"}}',
  );
});
