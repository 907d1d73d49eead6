/**
 * Events: the monitor sees changes made by `ip` in the same namespace, reports overruns, and ends on close.
 * Root only.
 */
import assert from "node:assert/strict";
import { Netns } from "../../harness/netns.ts";
import { uniqueName } from "../helpers/tmpdir.ts";
import { Monitor, Netlink, type NetlinkEvent, routeRequest } from "../../agent/netlink/mod.ts";

/** Collects events until `done` says so or `ms` pass; closes the monitor either way. */
async function collect(
  mon: Monitor,
  done: (seen: NetlinkEvent[]) => boolean,
  ms = 5000,
): Promise<NetlinkEvent[]> {
  const seen: NetlinkEvent[] = [];
  const timer = setTimeout(() => mon.close(), ms);
  try {
    for await (const ev of mon) {
      seen.push(ev);
      if (done(seen)) break;
    }
  } finally {
    clearTimeout(timer);
    mon.close();
  }
  return seen;
}

Deno.test("monitor: link, addr, route and neigh events for changes made by ip", async () => {
  await using ns = await Netns.create(uniqueName("fltnl"));
  const mon = Monitor.open({ netns: ns.name });
  const events = collect(
    mon,
    (seen) =>
      seen.some((e) => e.kind === "link" && e.action === "new" && e.link.name === "br9") &&
      seen.some((e) => e.kind === "addr" && e.action === "new" && e.addr.cidr === "10.9.0.1/24") &&
      seen.some((e) => e.kind === "route" && e.action === "new" && e.route.dst === "10.77.0.0/16") &&
      seen.some((e) => e.kind === "neigh" && e.action === "new" && e.neigh.dst === "10.9.0.7") &&
      seen.some((e) => e.kind === "route" && e.action === "del" && e.route.dst === "10.77.0.0/16") &&
      seen.some((e) => e.kind === "link" && e.action === "del" && e.link.name === "br9"),
  );
  await ns.ip(["link", "add", "br9", "type", "bridge"]);
  await ns.ip(["link", "set", "br9", "up"]);
  await ns.ip(["addr", "add", "10.9.0.1/24", "dev", "br9"]);
  await ns.ip(["route", "add", "10.77.0.0/16", "via", "10.9.0.2"]);
  await ns.ip(["neigh", "add", "10.9.0.7", "lladdr", "02:00:00:00:00:07", "dev", "br9", "nud", "permanent"]);
  await ns.ip(["route", "del", "10.77.0.0/16"]);
  await ns.ip(["link", "del", "br9"]);
  const seen = await events;
  const route = seen.find((e) => e.kind === "route" && e.action === "new" && e.route.dst === "10.77.0.0/16");
  assert.ok(route && route.kind === "route", `events seen: ${seen.map((e) => e.kind).join(",")}`);
  assert.equal(route.route.gateway, "10.9.0.2");
  assert.ok(seen.some((e) => e.kind === "link" && e.action === "del" && e.link.name === "br9"));
});

Deno.test("monitor: a burst that overflows the receive buffer is reported as an overrun event", async () => {
  await using ns = await Netns.create(uniqueName("fltnl"));
  using nl = await Netlink.open({ netns: ns.name });
  const eth = await nl.link.add({ name: "eth1", kind: "veth", peer: { name: "eth1p" }, up: true });
  await nl.addr.add({ index: eth.index, cidr: "10.255.0.1/16" });
  // A tiny buffer and nobody reading while 3,000 routes go in: the kernel must drop events.
  const mon = Monitor.open({ netns: ns.name, groups: ["route"], receiveBuffer: 4096 });
  const res = await nl.batch(
    Array.from(
      { length: 3000 },
      (_, i) => routeRequest("add", { dst: `10.${i >> 8}.${i & 0xff}.0/24`, gateway: "10.255.0.2" }),
    ),
  );
  assert.ok(res.every((r) => r.ok));
  const seen = await collect(mon, (s) => s.some((e) => e.kind === "overrun"));
  assert.ok(seen.some((e) => e.kind === "overrun"));
  assert.ok(seen.length < 3000, "most events were lost, so the caller must resync");
});

Deno.test("monitor: close() ends a pending iteration", async () => {
  await using ns = await Netns.create(uniqueName("fltnl"));
  const mon = Monitor.open({ netns: ns.name, groups: ["link"] });
  const it = mon[Symbol.asyncIterator]();
  const next = it.next();
  setTimeout(() => mon.close(), 20);
  const r = await next;
  assert.equal(r.done, true);
});
