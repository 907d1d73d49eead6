/** Pure tests of the lease scope rule: only subnets of our own network, of SubnetLen, not overlapping ours. */
import assert from "node:assert/strict";
import { parseCidr, parseIp } from "../../ip.ts";
import type { Lease } from "../../subnet/lease.ts";
import { leaseKeyName } from "../../subnet/lease_codec.ts";
import { type LeaseScope, screenSnapshot } from "./lease_scope.ts";

function lease(subnet: string | undefined, ipv6Subnet?: string): Lease {
  const attrs = { publicIp: parseIp("192.168.77.9"), backendType: "vxlan" };
  const v6 = ipv6Subnet ? { ipv6Subnet: parseCidr(ipv6Subnet) } : {};
  const subnets = subnet ? { subnet: parseCidr(subnet), ...v6 } : { ipv6Subnet: parseCidr(ipv6Subnet!) };
  return { ...subnets, attrs, etcdLeaseId: "1", revision: 1n };
}

function snapshot(...leases: Lease[]): Map<string, Lease> {
  return new Map(leases.map((l) => [leaseKeyName(l), l]));
}

const pool = (network: string, subnetLen: number) => ({
  network: parseCidr(network),
  subnetLen,
  subnetMin: parseCidr(network).addr,
  subnetMax: parseCidr(network).addr,
});
const V4: LeaseScope = { ipv4: pool("10.94.0.0/16", 24), ipv6: undefined };
const DUAL: LeaseScope = { ipv4: pool("10.94.0.0/16", 24), ipv6: pool("fd00:94::/56", 64) };
const OWN = lease("10.94.1.0/24");
const PEER = lease("10.94.2.0/24");

Deno.test("lease scope: a snapshot of valid peers is passed through as it is", () => {
  const snap = snapshot(OWN, PEER, lease("10.94.255.0/24"));
  const out = screenSnapshot(snap, OWN, V4);
  assert.equal(out.snapshot, snap);
  assert.equal(out.rejected.size, 0);
});

Deno.test("lease scope: out-of-network, wrong-length and overlapping leases are rejected beside a valid one", () => {
  const snap = snapshot(
    OWN,
    PEER,
    lease("10.95.1.0/24"), // another network
    lease("10.94.0.0/15"), // wider than the network
    lease("10.94.7.0/25"), // SubnetLen 24
    lease("10.94.0.0/23"), // overlaps 10.94.1.0/24
    lease("0.0.0.0/0"), // everything
  );
  const out = screenSnapshot(snap, OWN, V4);
  assert.deepEqual([...out.snapshot.keys()], ["10.94.1.0-24", "10.94.2.0-24"]);
  const reasons = Object.fromEntries([...out.rejected].map(([k, s]) => [k, s.reason.split(":")[0]]));
  assert.deepEqual(reasons, {
    "10.95.1.0-24": "subnet 10.95.1.0/24 is outside Network 10.94.0.0/16",
    "10.94.0.0-15": "subnet 10.94.0.0/15 is outside Network 10.94.0.0/16",
    "10.94.7.0-25": "subnet 10.94.7.0/25 is a /25, but SubnetLen is 24",
    "10.94.0.0-23": "subnet 10.94.0.0/23 overlaps our own subnet 10.94.1.0/24",
    "0.0.0.0-0": "subnet 0.0.0.0/0 is outside Network 10.94.0.0/16",
  });
  for (const s of out.rejected.values()) {
    assert.equal(s.state, "error");
    assert.match(s.reason, /an agent only routes subnets of its own network, so nothing is installed$/);
  }
  assert.equal(snap.size, 7, "the input snapshot is left as it was");
});

Deno.test("lease scope: IPv6 parts are held to IPv6Network and IPv6SubnetLen, and name the family", () => {
  const own = lease("10.94.1.0/24", "fd00:94:0:1::/64");
  const snap = snapshot(
    own,
    lease("10.94.2.0/24", "fd00:94:0:2::/64"),
    lease("10.94.3.0/24", "fd00:95::/64"),
    lease(undefined, "fd00:94:0:4::/80"),
    lease("10.94.5.0/24", "fd00:94:0:1::/64"),
    lease("10.96.6.0/24", "fd00:96::/64"),
  );
  const out = screenSnapshot(snap, own, DUAL);
  assert.deepEqual([...out.snapshot.keys()], [
    "10.94.1.0-24&fd00:94:0:1::-64",
    "10.94.2.0-24&fd00:94:0:2::-64",
  ]);
  const reasons = Object.fromEntries([...out.rejected].map(([k, s]) => [k, s.reason.split(": an agent")[0]]));
  assert.deepEqual(reasons, {
    "10.94.3.0-24&fd00:95::-64": "subnet fd00:95::/64 is outside IPv6Network fd00:94::/56",
    "0.0.0.0-0&fd00:94:0:4::-80": "subnet fd00:94:0:4::/80 is a /80, but IPv6SubnetLen is 64",
    "10.94.5.0-24&fd00:94:0:1::-64": "subnet fd00:94:0:1::/64 overlaps our own subnet fd00:94:0:1::/64",
    "10.96.6.0-24&fd00:96::-64":
      "subnet 10.96.6.0/24 is outside Network 10.94.0.0/16; subnet fd00:96::/64 is outside IPv6Network fd00:94::/56",
  });
});

Deno.test("lease scope: a family the network does not enable is not screened (no backend plans it)", () => {
  const snap = snapshot(OWN, lease("10.94.2.0/24", "fd00:1::/64"));
  assert.equal(screenSnapshot(snap, OWN, V4).rejected.size, 0);
});
