import assert from "node:assert/strict";
import { memoryLogger } from "../../cli/log.ts";
import { ManualClock } from "../clock.ts";
import { parseNetworkConfig } from "../config/mod.ts";
import { formatCidr, parseCidr, parseIp } from "../ip.ts";
import type { LeaseAttrs } from "./lease.ts";
import { LeaseManager } from "./manager.ts";
import { MemoryRegistry } from "./memory_registry.ts";

const CONFIG = '{"Network":"10.5.0.0/16","Backend":{"Type":"host-gw"}}';
const HOUR = 3600_000;

function setup(ip = "192.168.1.1", registry = new MemoryRegistry(CONFIG)) {
  const clock = new ManualClock(Date.UTC(2026, 0, 1));
  const log = memoryLogger();
  const attrs: LeaseAttrs = { publicIp: parseIp(ip), backendType: "host-gw" };
  const manager = new LeaseManager({
    registry,
    config: parseNetworkConfig(CONFIG),
    logger: log,
    attrs: () => attrs,
    clock,
    random: () => 0.5,
  });
  return { registry, clock, log, manager, controller: new AbortController() };
}

async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((r) => setTimeout(r, 0));
}

Deno.test("LeaseManager: renews one margin before expiry, every time, over two days", async () => {
  const { registry, clock, manager, controller } = setup();
  await manager.acquire(controller.signal);
  const running = manager.run(controller.signal);
  await settle();
  assert.equal(registry.granted, 1);
  await clock.advance(22 * HOUR + 59 * 60_000);
  await settle();
  assert.equal(registry.granted, 1, "no renewal before the 60 min margin");
  await clock.advance(2 * 60_000);
  await settle();
  assert.equal(registry.granted, 2, "renewed at 23 h");
  assert.equal(registry.revoked, 1, "the previous etcd lease was revoked");
  await clock.advance(23 * HOUR);
  await settle();
  assert.equal(registry.granted, 3);
  controller.abort();
  await running;
});

Deno.test("LeaseManager: a renewal while etcd is down is retried a minute later", async () => {
  const { registry, clock, log, manager, controller } = setup();
  await manager.acquire(controller.signal);
  const running = manager.run(controller.signal);
  await settle();
  registry.down = true;
  registry.poke();
  await clock.advance(23 * HOUR + 1000);
  await settle();
  assert.ok(log.lines.some((l) => l.includes("Renewing our lease failed")));
  registry.down = false;
  await clock.advance(61_000);
  await settle();
  await clock.advance(6_000);
  await settle();
  assert.equal(registry.granted, 2);
  controller.abort();
  await running;
});

Deno.test("LeaseManager: our key taken over by another node makes us acquire another subnet", async () => {
  const { registry, manager, controller } = setup();
  const lease = await manager.acquire(controller.signal);
  const moves: string[] = [];
  manager.onOwnLeaseChange(({ current }) => moves.push(formatCidr(current.subnet!)));
  const running = manager.run(controller.signal);
  await settle();
  registry.remove(lease);
  registry.write({ subnet: lease.subnet! }, { publicIp: parseIp("192.168.1.99"), backendType: "host-gw" });
  for (let i = 0; i < 20 && moves.length === 0; i++) await settle();
  assert.equal(moves.length, 1);
  assert.notEqual(moves[0], formatCidr(lease.subnet!));
  controller.abort();
  await running;
});

Deno.test("LeaseManager: an IPv6-only node is not matched by another node's 0.0.0.0", async () => {
  const config = parseNetworkConfig(
    '{"EnableIPv4":false,"EnableIPv6":true,"IPv6Network":"fc00::/48","Backend":{"Type":"host-gw"}}',
  );
  const registry = new MemoryRegistry();
  registry.write({ ipv6Subnet: parseCidr("fc00:0:0:7::/64") }, {
    publicIp: parseIp("0.0.0.0"),
    publicIpv6: parseIp("fd00::1"),
    backendType: "host-gw",
  });
  const manager = new LeaseManager({
    registry,
    config,
    logger: memoryLogger(),
    attrs: () => ({ publicIp: parseIp("0.0.0.0"), publicIpv6: parseIp("fd00::2"), backendType: "host-gw" }),
    clock: new ManualClock(),
    random: () => 0,
  });
  const lease = await manager.acquire(new AbortController().signal);
  assert.equal(lease.subnet, undefined);
  assert.notEqual(formatCidr(lease.ipv6Subnet!), "fc00:0:0:7::/64");
  assert.equal(registry.leases.size, 2);
});

Deno.test("LeaseManager: listeners see added, changed and removed peers; the snapshot is keyed by subnet", async () => {
  const { registry, manager, controller } = setup();
  await manager.acquire(controller.signal);
  const seen: string[] = [];
  manager.onChange(({ events }) =>
    events.forEach((e) => seen.push(`${e.kind} ${formatCidr(e.lease.subnet!)}`))
  );
  const running = manager.run(controller.signal);
  await settle();
  const peer = { subnet: parseCidr("10.5.9.0/24") };
  registry.write(peer, { publicIp: parseIp("192.168.1.2"), backendType: "host-gw" });
  await settle();
  registry.write(peer, { publicIp: parseIp("192.168.1.3"), backendType: "host-gw" });
  await settle();
  registry.remove(peer);
  await settle();
  assert.deepEqual(seen.filter((s) => s.includes("10.5.9.0")), [
    "added 10.5.9.0/24",
    "added 10.5.9.0/24",
    "removed 10.5.9.0/24",
  ]);
  assert.equal(manager.snapshot.has("10.5.9.0-24"), false);
  controller.abort();
  await running;
});

Deno.test("LeaseManager: another host publishing our PublicIP is reported once, as an error naming the fix", async () => {
  const { registry, log, manager, controller } = setup();
  const lease = await manager.acquire(controller.signal);
  const running = manager.run(controller.signal);
  await settle();
  assert.equal(manager.addressClashes, 0, "our own lease is no clash");
  // Another node with our address (the shared NAT NIC) reuses our lease with its own backend data...
  registry.write({ subnet: lease.subnet! }, { publicIp: parseIp("192.168.1.1"), backendType: "vxlan" });
  // ...and a third one has created a lease of its own with it.
  registry.write({ subnet: parseCidr("10.5.77.0/24") }, {
    publicIp: parseIp("192.168.1.1"),
    backendType: "host-gw",
  });
  for (let i = 0; i < 20 && manager.addressClashes < 2; i++) await settle();
  assert.equal(manager.addressClashes, 2);
  const errors = log.lines.filter((l) => l.includes("Another node uses our PublicIP"));
  assert.equal(errors.length, 2, errors.join("\n"));
  assert.ok(errors.some((l) => /rewritten by another host/.test(l)));
  assert.ok(errors.some((l) => /10\.5\.77\.0-24 carries our PublicIP too/.test(l)));
  assert.ok(errors.every((l) => /--iface/.test(l)));
  registry.poke();
  await settle();
  assert.equal(
    log.lines.filter((l) => l.includes("Another node uses our PublicIP")).length,
    2,
    "logged once",
  );
  controller.abort();
  await running;
});
