/** Pure tests of the vxlan and host-gw plans. */
import assert from "node:assert/strict";
import { parseCidr, parseIp } from "../../ip.ts";
import type { Lease } from "../../subnet/lease.ts";
import { leaseKeyName } from "../../subnet/lease_codec.ts";
import type { PeerReach } from "./desired.ts";
import { normalizeMac } from "./desired.ts";
import { planHostGw } from "../hostgw/mod.ts";
import { planVxlan } from "../vxlan/mod.ts";

function lease(subnet: string, publicIp: string, type?: string, data?: unknown): Lease {
  return {
    subnet: parseCidr(subnet),
    attrs: {
      publicIp: parseIp(publicIp),
      ...(type ? { backendType: type } : {}),
      ...(data ? { backendData: data } : {}),
    },
    etcdLeaseId: "1",
    revision: 1n,
  };
}

function snapshot(...leases: Lease[]): Map<string, Lease> {
  return new Map(leases.map((l) => [leaseKeyName(l), l]));
}

const OWN = lease("10.244.1.0/24", "192.168.77.1", "vxlan", { VNI: 1, VtepMAC: "02:00:00:00:00:01" });
const B = lease("10.244.2.0/24", "192.168.77.2", "vxlan", { VNI: 1, VtepMAC: "02:00:00:00:00:02" });
const C = lease("10.244.3.0/24", "192.168.78.3", "vxlan", { VNI: 1, VtepMAC: "02-00-00-00-00-03" });
const CTX = { device: 7, extIndex: 2, directRouting: false, reach: () => undefined };

Deno.test("planVxlan: ARP, FDB and onlink route per remote vxlan lease, none for our own", () => {
  const d = planVxlan(snapshot(OWN, B, C), OWN, CTX);
  assert.deepEqual(d.neighs, [
    { index: 7, dst: "10.244.2.0", lladdr: "02:00:00:00:00:02", peer: "10.244.2.0-24" },
    { index: 7, dst: "10.244.3.0", lladdr: "02:00:00:00:00:03", peer: "10.244.3.0-24" },
  ]);
  assert.deepEqual(d.fdbs, [
    { index: 7, lladdr: "02:00:00:00:00:02", dst: "192.168.77.2", peer: "10.244.2.0-24" },
    { index: 7, lladdr: "02:00:00:00:00:03", dst: "192.168.78.3", peer: "10.244.3.0-24" },
  ]);
  assert.deepEqual(d.routes, [
    { dst: "10.244.2.0/24", gateway: "10.244.2.0", oif: 7, onlink: true, peer: "10.244.2.0-24" },
    { dst: "10.244.3.0/24", gateway: "10.244.3.0", oif: 7, onlink: true, peer: "10.244.3.0-24" },
  ]);
  assert.equal(d.peers.size, 2);
  assert.deepEqual(d.peers.get("10.244.2.0-24"), { state: "programmed", via: "tunnel" });
});

Deno.test("planVxlan: foreign backend types are ignored with a reason, a lease without VtepMAC is an error", () => {
  const hostgw = lease("10.244.4.0/24", "192.168.77.4", "host-gw");
  const udp = lease("10.244.5.0/24", "192.168.77.5");
  const broken = lease("10.244.6.0/24", "192.168.77.6", "vxlan", { VNI: 1 });
  const d = planVxlan(snapshot(OWN, hostgw, udp, broken), OWN, CTX);
  assert.deepEqual([d.routes, d.neighs, d.fdbs], [[], [], []]);
  assert.equal(d.peers.get("10.244.4.0-24")?.state, "ignored");
  assert.match((d.peers.get("10.244.4.0-24") as { reason: string }).reason, /"host-gw" is not vxlan/);
  assert.match((d.peers.get("10.244.5.0-24") as { reason: string }).reason, /"udp"/);
  assert.equal(d.peers.get("10.244.6.0-24")?.state, "error");
});

Deno.test("planVxlan: DirectRouting sends directly connected peers via their PublicIP, the others through the tunnel", () => {
  const reach = (ip: string): PeerReach | undefined =>
    ip === "192.168.77.2"
      ? { kind: "direct", oif: 2 }
      : ip === "192.168.78.3"
      ? { kind: "gateway", oif: 2, gateway: "192.168.77.254" }
      : undefined;
  const d = planVxlan(snapshot(OWN, B, C), OWN, { ...CTX, directRouting: true, reach });
  assert.deepEqual(d.routes, [
    { dst: "10.244.2.0/24", gateway: "192.168.77.2", oif: 2, onlink: false, peer: "10.244.2.0-24" },
    { dst: "10.244.3.0/24", gateway: "10.244.3.0", oif: 7, onlink: true, peer: "10.244.3.0-24" },
  ]);
  assert.deepEqual(d.neighs.map((n) => n.dst), ["10.244.3.0"]);
  assert.deepEqual(d.fdbs.map((f) => f.dst), ["192.168.78.3"]);
  assert.deepEqual(d.peers.get("10.244.2.0-24"), { state: "programmed", via: "direct" });
  // Directly connected, but on another interface than the external one: tunnel.
  const other = planVxlan(snapshot(OWN, B), OWN, {
    ...CTX,
    directRouting: true,
    reach: () => ({ kind: "direct", oif: 9 }),
  });
  assert.equal(other.routes[0]!.oif, 7);
});

Deno.test("planVxlan: a changed VtepMAC or PublicIP changes the entries; a removed lease leaves none", () => {
  const moved = lease("10.244.2.0/24", "192.168.77.22", "vxlan", { VNI: 1, VtepMAC: "02:00:00:00:00:22" });
  const d = planVxlan(snapshot(OWN, moved), OWN, CTX);
  assert.deepEqual(d.fdbs.map((f) => [f.lladdr, f.dst]), [["02:00:00:00:00:22", "192.168.77.22"]]);
  assert.deepEqual(d.neighs.map((n) => n.lladdr), ["02:00:00:00:00:22"]);
  const empty = planVxlan(snapshot(OWN), OWN, CTX);
  assert.deepEqual([empty.routes, empty.neighs, empty.fdbs, empty.peers.size], [[], [], [], 0]);
});

Deno.test("planVxlan: a VtepMAC two hosts claim goes to the lowest lease key, whatever the snapshot order", () => {
  const taken = lease("10.244.9.0/24", "192.0.2.1", "vxlan", { VNI: 1, VtepMAC: "02:00:00:00:00:02" });
  const second = lease("10.244.8.0/24", "192.168.77.2", "vxlan", { VNI: 1, VtepMAC: "02:00:00:00:00:02" });
  const mine = lease("10.244.7.0/24", "192.168.77.7", "vxlan", { VNI: 1, VtepMAC: "02:00:00:00:00:01" });
  for (const order of [[OWN, B, taken, second, mine], [OWN, mine, second, taken, B]]) {
    const d = planVxlan(snapshot(...order), OWN, CTX);
    // B and its second lease share one host, so one FDB entry; the stranger's claim is refused.
    assert.deepEqual(d.fdbs.map((f) => [f.lladdr, f.dst]), [["02:00:00:00:00:02", "192.168.77.2"]]);
    assert.deepEqual(d.neighs.map((n) => n.dst).sort(), ["10.244.2.0", "10.244.8.0"]);
    const refused = d.peers.get("10.244.9.0-24") as { state: string; reason: string };
    assert.equal(refused.state, "error");
    assert.match(
      refused.reason,
      /VtepMAC 02:00:00:00:00:02 is also claimed by lease 10.244.2.0-24 \(PublicIP 192.168.77.2\)/,
    );
    assert.match((d.peers.get("10.244.7.0-24") as { reason: string }).reason, /this node's own VTEP/);
    assert.equal(d.peers.get("10.244.8.0-24")?.state, "programmed");
  }
});

Deno.test("planHostGw: a route via each directly reachable host-gw peer, a named error for the others", () => {
  const own = lease("10.244.1.0/24", "192.168.77.1", "host-gw");
  const near = lease("10.244.2.0/24", "192.168.77.2", "host-gw");
  const far = lease("10.244.3.0/24", "192.168.78.3", "host-gw");
  const gone = lease("10.244.4.0/24", "10.9.9.9", "host-gw");
  const vx = lease("10.244.5.0/24", "192.168.77.5", "vxlan", { VNI: 1, VtepMAC: "02:00:00:00:00:05" });
  const reach = (ip: string): PeerReach =>
    ip === "192.168.77.2"
      ? { kind: "direct", oif: 2 }
      : ip === "192.168.78.3"
      ? { kind: "gateway", oif: 2, gateway: "192.168.77.254" }
      : { kind: "unreachable", reason: "ENETUNREACH" };
  const d = planHostGw(snapshot(own, near, far, gone, vx), own, { extIndex: 2, extName: "eth1", reach });
  assert.deepEqual(d.routes, [
    { dst: "10.244.2.0/24", gateway: "192.168.77.2", oif: 2, onlink: false, peer: "10.244.2.0-24" },
  ]);
  assert.deepEqual(d.peers.get("10.244.3.0-24"), {
    state: "error",
    reason: "host-gw needs peer 10.244.3.0/24 (192.168.78.3) on a directly connected subnet of eth1: the " +
      "kernel reaches 192.168.78.3 through the gateway 192.168.77.254; use vxlan or DirectRouting",
  });
  assert.match(
    (d.peers.get("10.244.4.0-24") as { reason: string }).reason,
    /no route to 10\.9\.9\.9 \(ENETUNREACH\)/,
  );
  assert.equal(d.peers.get("10.244.5.0-24")?.state, "ignored");
});

Deno.test("normalizeMac: Go's accepted 6-byte forms, lower-cased; anything else undefined", () => {
  assert.equal(normalizeMac("72:24:08:C1:71:25"), "72:24:08:c1:71:25");
  assert.equal(normalizeMac("72-24-08-c1-71-25"), "72:24:08:c1:71:25");
  assert.equal(normalizeMac("7224.08c1.7125"), "72:24:08:c1:71:25");
  for (const bad of ["72:24:08:c1:71", "72:24-08:c1:71:25", 7, undefined, "zz:24:08:c1:71:25"]) {
    assert.equal(normalizeMac(bad), undefined);
  }
});
