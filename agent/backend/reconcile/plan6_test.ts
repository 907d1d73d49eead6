/** Pure tests of the IPv6 and dual-stack plans, their merged peer states, and the IPv6 reconcile scope. */
import assert from "node:assert/strict";
import { parseCidr, parseIp } from "../../ip.ts";
import {
  AF_BRIDGE,
  AF_INET,
  AF_INET6,
  type Neigh,
  NTF_SELF,
  NUD_PERMANENT,
  type Route,
  RTPROT_BOOT,
} from "../../netlink/mod.ts";
import type { Lease } from "../../subnet/lease.ts";
import { leaseKeyName } from "../../subnet/lease_codec.ts";
import { indexPlan, leaseFamilyPart, mergePeerStates, routeKey } from "./desired.ts";
import { planHostGw } from "../hostgw/mod.ts";
import { diffState } from "./changes.ts";
import { planVxlan } from "../vxlan/mod.ts";

function lease(
  v4: string | undefined,
  v6: string | undefined,
  ips: { v4?: string; v6?: string },
  type = "vxlan",
  macs: { v4?: string; v6?: string } = {},
): Lease {
  const attrs = {
    publicIp: parseIp(ips.v4 ?? "0.0.0.0"),
    ...(ips.v6 ? { publicIpv6: parseIp(ips.v6) } : {}),
    backendType: type,
    ...(macs.v4 ? { backendData: { VNI: 1, VtepMAC: macs.v4 } } : {}),
    ...(macs.v6 ? { backendV6Data: { VNI: 1, VtepMAC: macs.v6 } } : {}),
  };
  const base = { attrs, etcdLeaseId: "1", revision: 1n };
  return v4
    ? { ...base, subnet: parseCidr(v4), ...(v6 ? { ipv6Subnet: parseCidr(v6) } : {}) }
    : { ...base, ipv6Subnet: parseCidr(v6!) };
}

const snapshot = (...ls: Lease[]) => new Map(ls.map((l) => [leaseKeyName(l), l]));
const OWN = lease("10.244.1.0/24", "fd44:0:0:1::/64", { v4: "192.168.77.1", v6: "fd00:77::1" }, "vxlan", {
  v4: "02:00:00:00:04:01",
  v6: "02:00:00:00:06:01",
});
const B = lease("10.244.2.0/24", "fd44:0:0:2::/64", { v4: "192.168.77.2", v6: "fd00:77::2" }, "vxlan", {
  v4: "02:00:00:00:04:02",
  v6: "02:00:00:00:06:02",
});
const V4ONLY = lease("10.244.3.0/24", undefined, { v4: "192.168.77.3" }, "vxlan", {
  v4: "02:00:00:00:04:03",
});
const CTX6 = { device: 8, extIndex: 2, directRouting: false, reach: () => undefined, family: 6 as const };

Deno.test("planVxlan IPv6: NDP, FDB and onlink route from the v6 subnet, PublicIPv6 and BackendV6Data", () => {
  const d = planVxlan(snapshot(OWN, B), OWN, CTX6);
  const key = leaseKeyName(B);
  assert.equal(key, "10.244.2.0-24&fd44:0:0:2::-64");
  assert.deepEqual(d.neighs, [{ index: 8, dst: "fd44:0:0:2::", lladdr: "02:00:00:00:06:02", peer: key }]);
  assert.deepEqual(d.fdbs, [{ index: 8, lladdr: "02:00:00:00:06:02", dst: "fd00:77::2", peer: key }]);
  assert.deepEqual(d.routes, [
    { dst: "fd44:0:0:2::/64", gateway: "fd44:0:0:2::", oif: 8, onlink: true, peer: key },
  ]);
  // The same snapshot planned for IPv4 uses BackendData and PublicIP.
  const d4 = planVxlan(snapshot(OWN, B), OWN, { ...CTX6, device: 7, family: 4 });
  assert.deepEqual(d4.fdbs.map((f) => [f.lladdr, f.dst]), [["02:00:00:00:04:02", "192.168.77.2"]]);
});

Deno.test("planVxlan IPv6: a v4-only lease is ignored, a v6 part without PublicIPv6 or BackendV6Data is an error", () => {
  const noIp = lease("10.244.4.0/24", "fd44:0:0:4::/64", { v4: "192.168.77.4" }, "vxlan", {
    v4: "02:00:00:00:04:04",
    v6: "02:00:00:00:06:04",
  });
  const noMac = lease("10.244.5.0/24", "fd44:0:0:5::/64", { v4: "192.168.77.5", v6: "fd00:77::5" }, "vxlan", {
    v4: "02:00:00:00:04:05",
  });
  const d = planVxlan(snapshot(OWN, V4ONLY, noIp, noMac), OWN, CTX6);
  assert.deepEqual([d.routes, d.neighs, d.fdbs], [[], [], []]);
  assert.equal(d.peers.get("10.244.3.0-24")?.state, "ignored");
  assert.match((d.peers.get(leaseKeyName(noIp)) as { reason: string }).reason, /no PublicIPv6/);
  assert.match(
    (d.peers.get(leaseKeyName(noMac)) as { reason: string }).reason,
    /BackendV6Data has no valid VtepMAC/,
  );
});

Deno.test("planVxlan IPv6-only: leases keyed 0.0.0.0-0&…, PublicIP 0.0.0.0 is fine for the v6 plan", () => {
  const own = lease(undefined, "fd44:0:0:1::/64", { v6: "fd00:77::1" }, "vxlan", { v6: "02:00:00:00:06:01" });
  const peer = lease(undefined, "fd44:0:0:2::/64", { v6: "fd00:77::2" }, "vxlan", {
    v6: "02:00:00:00:06:02",
  });
  assert.equal(leaseKeyName(peer), "0.0.0.0-0&fd44:0:0:2::-64");
  assert.equal(leaseFamilyPart(peer, 4), undefined);
  const d = planVxlan(snapshot(own, peer), own, CTX6);
  assert.deepEqual(d.peers.get(leaseKeyName(peer)), { state: "programmed", via: "tunnel" });
  assert.equal(d.routes.length, 1);
});

Deno.test("planVxlan IPv6 DirectRouting: a directly reached PublicIPv6 gets `v6subnet via PublicIPv6 dev ext`", () => {
  const d = planVxlan(snapshot(OWN, B), OWN, {
    ...CTX6,
    directRouting: true,
    reach: (ip) => ip === "fd00:77::2" ? { kind: "direct", oif: 2 } : undefined,
  });
  assert.deepEqual(d.routes, [
    { dst: "fd44:0:0:2::/64", gateway: "fd00:77::2", oif: 2, onlink: false, peer: leaseKeyName(B) },
  ]);
  assert.deepEqual([d.neighs, d.fdbs], [[], []]);
});

Deno.test("planHostGw IPv6: `v6subnet via PublicIPv6 dev ext` for directly reachable peers", () => {
  const own = lease("10.244.1.0/24", "fd44:0:0:1::/64", { v4: "192.168.77.1", v6: "fd00:77::1" }, "host-gw");
  const peer = lease("10.244.2.0/24", "fd44:0:0:2::/64", { v4: "192.168.77.2", v6: "fd00:77::2" }, "host-gw");
  const d = planHostGw(snapshot(own, peer), own, {
    extIndex: 2,
    extName: "eth1",
    reach: (ip) => ip === "fd00:77::2" ? { kind: "direct", oif: 2 } : { kind: "unreachable", reason: "x" },
    family: 6,
  });
  assert.deepEqual(d.routes, [
    { dst: "fd44:0:0:2::/64", gateway: "fd00:77::2", oif: 2, onlink: false, peer: leaseKeyName(peer) },
  ]);
});

Deno.test("mergePeerStates: an error in either family wins and names it; programmed beats ignored", () => {
  const v4 = new Map([
    ["a", { state: "programmed", via: "tunnel" } as const],
    ["b", { state: "programmed", via: "tunnel" } as const],
    ["c", { state: "ignored", reason: "x" } as const],
  ]);
  const v6 = new Map([
    ["a", { state: "error", reason: "no PublicIPv6" } as const],
    ["b", { state: "ignored", reason: "IPv4-only lease" } as const],
    ["c", { state: "ignored", reason: "y" } as const],
  ]);
  const m = mergePeerStates([[4, v4], [6, v6]]);
  assert.deepEqual(m.get("a"), { state: "error", reason: "IPv6: no PublicIPv6" });
  assert.deepEqual(m.get("b"), { state: "programmed", via: "tunnel" });
  assert.equal(m.get("c")?.state, "ignored");
});

function route6(dst: string, gateway: string, oif: number, family = AF_INET6): Route {
  return {
    family,
    dst,
    gateway,
    oif,
    table: 254,
    scope: 0,
    protocol: RTPROT_BOOT,
    type: 1,
    priority: family === AF_INET6 ? 1024 : undefined,
    prefsrc: undefined,
    onlink: true,
    flags: 0,
    mtu: undefined,
  };
}

function neigh(family: number, index: number, dst: string, lladdr: string): Neigh {
  return {
    family,
    index,
    state: NUD_PERMANENT,
    flags: family === AF_BRIDGE ? NTF_SELF : 0,
    type: 1,
    dst,
    lladdr,
    vlan: undefined,
    vni: undefined,
    port: undefined,
    master: undefined,
  };
}

Deno.test("diffState IPv6 scope: converged v6 entries (metric 1024) need no change; IPv4 entries are not ours", () => {
  assert.equal(routeKey({ dst: "fd44:0:0:2::/64" }), routeKey({ dst: "fd44:0:0:2::/64", priority: 1024 }));
  const scope = { device: 8, extIndex: 2, networks: [parseCidr("fd44::/48")], family: 6 as const };
  const desired = planVxlan(snapshot(OWN, B), OWN, CTX6);
  const observed = {
    routes: [
      route6("fd44:0:0:2::/64", "fd44:0:0:2::", 8),
      // A stale v6 route on our device goes; an IPv4 route on the same index is outside the v6 scope.
      route6("fd44:0:0:9::/64", "fd44:0:0:9::", 8),
      route6("10.244.2.0/24", "10.244.2.0", 8, AF_INET),
    ],
    neighs: [
      neigh(AF_INET6, 8, "fd44:0:0:2::", "02:00:00:00:06:02"),
      neigh(AF_INET, 8, "10.244.9.0", "02:00:00:00:00:09"),
    ],
    fdbs: [neigh(AF_BRIDGE, 8, "fd00:77::2", "02:00:00:00:06:02")],
  };
  const changes = diffState(indexPlan(desired), observed, scope);
  assert.deepEqual(changes.map((c) => `${c.op} ${c.kind} ${c.entry.dst}`), ["del route fd44:0:0:9::/64"]);
});
