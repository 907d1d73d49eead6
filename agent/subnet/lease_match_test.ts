import assert from "node:assert/strict";
import { parseNetworkConfig } from "../config/mod.ts";
import { parseCidr, parseIp } from "../ip.ts";
import { leaseFitsConfig, sameAttrs, sameOwner } from "./lease_match.ts";

Deno.test("sameOwner: IPv4 PublicIP decides; two 0.0.0.0 nodes are told apart by their IPv6 address", () => {
  const v4 = { publicIp: parseIp("192.168.1.1") };
  assert.ok(sameOwner(v4, { publicIp: parseIp("192.168.1.1"), backendType: "vxlan" }));
  assert.ok(!sameOwner(v4, { publicIp: parseIp("192.168.1.2") }));
  const zero = parseIp("0.0.0.0");
  assert.ok(!sameOwner({ publicIp: zero }, { publicIp: zero }), "no IPv6 address: not the same node");
  assert.ok(sameOwner({ publicIp: zero, publicIpv6: parseIp("fd00::1") }, {
    publicIp: zero,
    publicIpv6: parseIp("fd00::1"),
  }));
});

Deno.test("sameAttrs: backend type, data and the IPv6 PublicIP all count", () => {
  const a = { publicIp: parseIp("192.168.1.1"), backendType: "vxlan", backendData: { VNI: 1 } };
  assert.ok(sameAttrs(a, { ...a }));
  assert.ok(!sameAttrs(a, { ...a, backendType: "host-gw" }));
  assert.ok(!sameAttrs(a, { ...a, backendV6Data: { VNI: 1 } }));
  assert.ok(!sameAttrs(a, { ...a, publicIpv6: parseIp("fd00::1") }));
});

Deno.test("leaseFitsConfig: a subnet of a disabled family does not fit, nor does a missing one", () => {
  const v4 = parseNetworkConfig('{"Network":"10.5.0.0/16","Backend":{"Type":"host-gw"}}');
  assert.ok(leaseFitsConfig(v4, { subnet: parseCidr("10.5.3.0/24") }));
  assert.ok(!leaseFitsConfig(v4, { subnet: parseCidr("10.5.3.0/25") }), "not the SubnetLen");
  assert.ok(!leaseFitsConfig(v4, { subnet: parseCidr("10.5.3.0/24"), ipv6Subnet: parseCidr("fc00::/64") }));
  assert.ok(!leaseFitsConfig(v4, { ipv6Subnet: parseCidr("fc00::/64") }));
});
