import assert from "node:assert/strict";
import { parseCidr, parseIp } from "../../ip.ts";
import type { Lease } from "../../subnet/lease.ts";
import { ipv4ToU32 } from "./packet.ts";
import { parsePeerRoute, routesFromLeases, UdpRouteTable } from "./routes.ts";

function lease(subnet: string | undefined, publicIp: string, extra: Partial<Lease> = {}): Lease {
  return {
    ...(subnet ? { subnet: parseCidr(subnet) } : { ipv6Subnet: parseCidr("fc00:0:0:9::/64") }),
    attrs: { publicIp: parseIp(publicIp) },
    etcdLeaseId: "1",
    revision: 1n,
    ...extra,
  } as Lease;
}

Deno.test("routesFromLeases: every IPv4 lease but ours, any BackendType; none without a PublicIP", () => {
  const own = lease("10.5.1.0/24", "192.168.60.1");
  const snapshot = new Map<string, Lease>([
    ["10.5.1.0-24", own],
    ["10.5.2.0-24", lease("10.5.2.0/24", "192.168.60.2")],
    ["10.5.3.0-24", {
      ...lease("10.5.3.0/24", "192.168.60.3"),
      attrs: { publicIp: parseIp("192.168.60.3"), backendType: "vxlan" },
    }],
    ["10.5.4.0-24", lease("10.5.4.0/24", "0.0.0.0")],
    ["v6only", lease(undefined, "0.0.0.0")],
  ]);
  assert.deepEqual(routesFromLeases(snapshot, own).map((r) => `${r.subnet}=${r.publicIp}`), [
    "10.5.2.0/24=192.168.60.2",
    "10.5.3.0/24=192.168.60.3",
  ]);
  // A copy of our own lease (another object, same subnet) is still ours.
  assert.equal(routesFromLeases(snapshot, lease("10.5.2.0/24", "192.168.60.2")).length, 2);
});

Deno.test("UdpRouteTable.lookup: longest prefix first, misses outside every subnet", () => {
  const t = new UdpRouteTable([
    parsePeerRoute("10.5.0.0/16=192.168.60.9"),
    parsePeerRoute("10.5.2.0/24=192.168.60.2"),
    parsePeerRoute("10.5.2.128/25=192.168.60.3"),
  ]);
  assert.equal(t.lookup(ipv4ToU32("10.5.2.7"))?.publicIp, "192.168.60.2");
  assert.equal(t.lookup(ipv4ToU32("10.5.2.200"))?.publicIp, "192.168.60.3");
  assert.equal(t.lookup(ipv4ToU32("10.5.77.1"))?.publicIp, "192.168.60.9");
  assert.equal(t.lookup(ipv4ToU32("10.6.0.1")), undefined);
  assert.equal(new UdpRouteTable([]).lookup(1), undefined);
});

Deno.test("UdpRouteTable: duplicates keep the first (upstream's first match); a /0 matches everything", () => {
  const t = new UdpRouteTable([parsePeerRoute("10.5.2.0/24=1.1.1.1"), parsePeerRoute("10.5.2.0/24=2.2.2.2")]);
  assert.equal(t.lookup(ipv4ToU32("10.5.2.1"))?.publicIp, "1.1.1.1");
  assert.equal(
    new UdpRouteTable([parsePeerRoute("0.0.0.0/0=3.3.3.3")]).lookup(0xffffffff)?.publicIp,
    "3.3.3.3",
  );
});

Deno.test("UdpRouteTable.isPeer: only the PublicIPs of current routes", () => {
  const t = new UdpRouteTable([parsePeerRoute("10.5.2.0/24=192.168.60.2")]);
  assert.equal(t.isPeer("192.168.60.2"), true);
  assert.equal(t.isPeer("192.168.60.3"), false);
});

Deno.test("parsePeerRoute: masks host bits; refuses malformed input", () => {
  assert.equal(parsePeerRoute("10.5.2.9/24=192.168.60.2").net, ipv4ToU32("10.5.2.0"));
  assert.throws(() => parsePeerRoute("10.5.2.0/33=1.1.1.1"), SyntaxError);
  assert.throws(() => parsePeerRoute("10.5.2.0/24"), SyntaxError);
  assert.throws(() => parsePeerRoute("10.5.2.0/24=1.1.1"), SyntaxError);
});
