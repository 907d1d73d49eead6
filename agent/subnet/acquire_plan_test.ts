import assert from "node:assert/strict";
import { parseNetworkConfig } from "../config/mod.ts";
import { formatCidr, parseCidr, parseIp } from "../ip.ts";
import { allocateLeaseSubnets, findOwnLeases, freePreviousSubnets, takenSubnets } from "./acquire_plan.ts";
import type { Lease, LeaseAttrs } from "./lease.ts";

const CONFIG = parseNetworkConfig('{"Network":"10.5.0.0/16","Backend":{"Type":"host-gw"}}');
const OURS: LeaseAttrs = { publicIp: parseIp("192.168.1.1"), backendType: "host-gw" };
const THEIRS: LeaseAttrs = { publicIp: parseIp("192.168.1.2"), backendType: "host-gw" };

function lease(cidr: string, attrs: LeaseAttrs): Lease {
  return { subnet: parseCidr(cidr), attrs, etcdLeaseId: "7", revision: 3n };
}

Deno.test("findOwnLeases: ours outside the pool are stale up to the first that fits; the walk stops there", () => {
  const own = findOwnLeases(
    [
      lease("10.5.1.0/24", THEIRS),
      lease("10.9.1.0/24", OURS),
      lease("10.5.2.0/24", OURS),
      lease("10.8.1.0/24", OURS),
    ],
    OURS,
    CONFIG,
  );
  assert.deepEqual(own.stale.map((l) => formatCidr(l.subnet!)), ["10.9.1.0/24"]);
  assert.equal(formatCidr(own.reuse!.subnet!), "10.5.2.0/24");
});

Deno.test("findOwnLeases: another node's lease is never ours", () => {
  const own = findOwnLeases([lease("10.5.1.0/24", THEIRS)], OURS, CONFIG);
  assert.deepEqual(own, { stale: [], reuse: undefined });
});

Deno.test("takenSubnets: keys with malformed values are occupied too", () => {
  const taken = takenSubnets({
    leases: [lease("10.5.1.0/24", THEIRS)],
    malformed: [{ key: "/coreos.com/network/subnets/10.5.2.0-24", revision: 4n, reason: "bad JSON" }],
  });
  assert.deepEqual(taken.map(formatCidr), ["10.5.1.0/24", "10.5.2.0/24"]);
});

Deno.test("freePreviousSubnets: refused when taken, outside the pool, or absent", () => {
  const previous = { subnet: parseCidr("10.5.4.0/24") };
  assert.equal(formatCidr(freePreviousSubnets(previous, CONFIG, [])!.subnet!), "10.5.4.0/24");
  assert.equal(freePreviousSubnets(previous, CONFIG, [parseCidr("10.5.4.0/24")]), undefined);
  assert.equal(freePreviousSubnets({ subnet: parseCidr("10.6.4.0/24") }, CONFIG, []), undefined);
  assert.equal(freePreviousSubnets(undefined, CONFIG, []), undefined);
  assert.equal(freePreviousSubnets({}, CONFIG, []), undefined);
});

Deno.test("allocateLeaseSubnets: one subnet per enabled family, none free of the taken ones", () => {
  const dual = parseNetworkConfig(
    '{"Network":"10.5.0.0/22","EnableIPv6":true,"IPv6Network":"fc00::/62","IPv6SubnetLen":64,' +
      '"Backend":{"Type":"host-gw"}}',
  );
  const subnets = allocateLeaseSubnets(
    dual,
    [parseCidr("10.5.1.0/24"), parseCidr("fc00:0:0:1::/64")],
    () => 0,
  );
  assert.equal(formatCidr(subnets!.subnet!), "10.5.2.0/24");
  assert.equal(formatCidr(subnets!.ipv6Subnet!), "fc00:0:0:2::/64");
});
