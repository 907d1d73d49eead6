import assert from "node:assert/strict";
import { formatCidr, parseCidr, parseIp } from "../ip.ts";
import type { Lease, LeaseEvent } from "./lease.ts";
import { applyRegistryEvents, replaceSnapshot } from "./snapshot.ts";

function lease(cidr: string, ip = "192.168.1.2", revision = 1n): Lease {
  return { subnet: parseCidr(cidr), attrs: { publicIp: parseIp(ip) }, etcdLeaseId: "1", revision };
}

const show = (events: readonly LeaseEvent[]) => events.map((e) => `${e.kind} ${formatCidr(e.lease.subnet!)}`);

Deno.test("replaceSnapshot: emits removed, then added for new and changed keys; unchanged keys are quiet", () => {
  const snapshot = new Map([
    ["10.5.1.0-24", lease("10.5.1.0/24")],
    ["10.5.2.0-24", lease("10.5.2.0/24")],
    ["10.5.3.0-24", lease("10.5.3.0/24")],
  ]);
  const same = snapshot;
  const events = replaceSnapshot(snapshot, [
    lease("10.5.2.0/24", "192.168.1.2", 9n), // renewed: same attributes
    lease("10.5.3.0/24", "192.168.1.3"), // another owner
    lease("10.5.4.0/24"),
  ]);
  assert.deepEqual(show(events), ["removed 10.5.1.0/24", "added 10.5.3.0/24", "added 10.5.4.0/24"]);
  assert.equal(snapshot, same, "the same map, so listeners holding it see the change");
  assert.deepEqual([...snapshot.keys()], ["10.5.2.0-24", "10.5.3.0-24", "10.5.4.0-24"]);
  assert.equal(snapshot.get("10.5.2.0-24")!.revision, 9n, "the new revision is stored even without an event");
});

Deno.test("applyRegistryEvents: a put of equal attributes stores quietly; a delete of an unknown key is no event", () => {
  const snapshot = new Map([["10.5.1.0-24", lease("10.5.1.0/24")]]);
  const events = applyRegistryEvents(snapshot, [
    { kind: "put", lease: lease("10.5.1.0/24", "192.168.1.2", 5n) },
    { kind: "put", lease: lease("10.5.2.0/24") },
    { kind: "put", lease: lease("10.5.2.0/24", "192.168.1.9") },
    { kind: "delete", subnets: { subnet: parseCidr("10.5.7.0/24") }, revision: 6n },
    { kind: "delete", subnets: { subnet: parseCidr("10.5.1.0/24") }, revision: 7n },
  ]);
  assert.deepEqual(show(events), ["added 10.5.2.0/24", "added 10.5.2.0/24", "removed 10.5.1.0/24"]);
  assert.equal(events[2]!.lease.revision, 5n, "a removal carries the lease as last seen");
  assert.deepEqual([...snapshot.keys()], ["10.5.2.0-24"]);
});
