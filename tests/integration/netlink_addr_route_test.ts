/**
 * Addresses and routes through agent/netlink in throwaway namespaces, checked against `ip -j addr` and
 * `ip -j -d route`. Root only.
 */
import assert from "node:assert/strict";
import { Netns } from "../../harness/netns.ts";
import { uniqueName } from "../helpers/tmpdir.ts";
import { AF_INET, AF_INET6, Netlink, NetlinkError, RT_SCOPE_LINK } from "../../agent/netlink/mod.ts";

// deno-lint-ignore no-explicit-any
type Json = any;

async function setup(): Promise<{ ns: Netns; nl: Netlink; eth: number }> {
  const ns = await Netns.create(uniqueName("fltnl"));
  try {
    const nl = await Netlink.open({ netns: ns.name });
    const eth = await nl.link.add({ name: "eth1", kind: "veth", peer: { name: "eth1p" }, up: true });
    await nl.link.setUp("eth1p", true);
    return { ns, nl, eth: eth.index };
  } catch (e) {
    await ns.delete();
    throw e;
  }
}

Deno.test("addresses: add, list and delete IPv4 and IPv6, matching ip -j addr", async () => {
  const { ns, nl, eth } = await setup();
  await using _ns = ns;
  using _nl = nl;
  await nl.addr.add({ index: eth, cidr: "10.199.0.1/24" });
  await nl.addr.add({ index: eth, cidr: "10.42.10.0/32", scope: RT_SCOPE_LINK });
  await nl.addr.add({ index: eth, cidr: "fd00:199::1/64", noDad: true });
  const [j] = await ns.ipJson<Json[]>(["addr", "show", "dev", "eth1"]);
  const theirs = j.addr_info.filter((a: Json) => a.scope !== "link" || a.family === "inet")
    .map((a: Json) => `${a.local}/${a.prefixlen} ${a.scope}`).sort();
  assert.deepEqual(theirs, ["10.199.0.1/24 global", "10.42.10.0/32 link", "fd00:199::1/64 global"]);
  const ours = await nl.addr.list({ index: eth });
  const mine = ours.filter((a) => !a.address.startsWith("fe80")).map((a) =>
    `${a.cidr} ${a.scope === 0 ? "global" : "link"}`
  ).sort();
  assert.deepEqual(mine, theirs);
  assert.deepEqual(
    (await nl.addr.list({ index: eth, family: AF_INET6 })).every((a) => a.family === AF_INET6),
    true,
  );

  await assert.rejects(
    () => nl.addr.add({ index: eth, cidr: "10.199.0.1/24" }),
    (e: unknown) => e instanceof NetlinkError && e.code === "EEXIST",
  );
  await nl.addr.delete({ index: eth, cidr: "10.42.10.0/32" });
  await nl.addr.delete({ index: eth, cidr: "fd00:199::1/64" });
  const after = (await ns.ipJson<Json[]>(["addr", "show", "dev", "eth1"]))[0].addr_info.map((a: Json) =>
    a.local
  );
  assert.ok(!after.includes("10.42.10.0") && !after.includes("fd00:199::1") && after.includes("10.199.0.1"));
  await assert.rejects(
    () => nl.addr.delete({ index: eth, cidr: "10.42.10.0/32" }),
    (e: unknown) => e instanceof NetlinkError && e.code === "EADDRNOTAVAIL",
  );
});

Deno.test("routes: add onlink/metric/mtu/table/IPv6, replace, list and delete, matching ip -j route", async () => {
  const { ns, nl, eth } = await setup();
  await using _ns = ns;
  using _nl = nl;
  await nl.addr.add({ index: eth, cidr: "10.199.0.1/24" });
  await nl.addr.add({ index: eth, cidr: "fd00:199::1/64", noDad: true });
  await nl.route.add({ dst: "10.42.7.0/24", gateway: "10.42.7.0", oif: eth, onlink: true });
  await nl.route.add({ dst: "10.44.0.0/16", gateway: "10.199.0.2", priority: 100, mtu: 1400 });
  await nl.route.add({ dst: "10.45.0.0/16", oif: eth });
  await nl.route.add({ dst: "10.46.0.0/16", gateway: "10.199.0.3", table: 1000 });
  await nl.route.add({ dst: "fd00:42::/64", gateway: "fd00:199::2", oif: eth });

  const main = await ns.ipJson<Json[]>(["-d", "route", "show", "table", "main"]);
  const by = (dst: string) => main.find((r: Json) => r.dst === dst);
  assert.deepEqual([
    by("10.42.7.0/24").gateway,
    by("10.42.7.0/24").flags.includes("onlink"),
    by("10.42.7.0/24").protocol,
  ], [
    "10.42.7.0",
    true,
    "boot",
  ]);
  assert.deepEqual([by("10.44.0.0/16").metric, by("10.44.0.0/16").metrics[0].mtu], [100, 1400]);
  assert.equal(by("10.45.0.0/16").scope, "link");
  const t1000 = await ns.ipJson<Json[]>(["route", "show", "table", "1000"]);
  assert.deepEqual(t1000.map((r: Json) => `${r.dst} via ${r.gateway}`), ["10.46.0.0/16 via 10.199.0.3"]);
  const v6 = await ns.ipJson<Json[]>(["-6", "route", "show", "fd00:42::/64"]);
  assert.equal(v6[0].gateway, "fd00:199::2");

  // Our list agrees with ip's, route for route (IPv4 main table).
  const ours = (await nl.route.list({ family: AF_INET })).map((r) =>
    `${r.dst} ${r.gateway ?? "-"} ${r.priority ?? 0} ${r.mtu ?? 0}`
  ).sort();
  const theirs = main.map((r: Json) =>
    `${r.dst === "default" ? "0.0.0.0/0" : r.dst.includes("/") ? r.dst : r.dst + "/32"} ${r.gateway ?? "-"} ${
      r.metric ?? 0
    } ${r.metrics?.[0]?.mtu ?? 0}`
  ).sort();
  assert.deepEqual(ours, theirs);
  assert.deepEqual((await nl.route.list({ table: 1000 })).map((r) => r.dst), ["10.46.0.0/16"]);
  assert.ok(
    (await nl.route.list({ family: AF_INET6 })).some((r) =>
      r.dst === "fd00:42::/64" && r.gateway === "fd00:199::2"
    ),
  );
  assert.ok((await nl.route.list({ oif: eth })).every((r) => r.oif === eth));

  // replace changes the gateway in place; add of the same key is EEXIST.
  await assert.rejects(
    () => nl.route.add({ dst: "10.44.0.0/16", gateway: "10.199.0.9", priority: 100 }),
    (e: unknown) => e instanceof NetlinkError && e.code === "EEXIST" && e.op === "add route",
  );
  await nl.route.replace({ dst: "10.44.0.0/16", gateway: "10.199.0.9", priority: 100 });
  assert.equal((await ns.ipJson<Json[]>(["route", "show", "10.44.0.0/16"]))[0].gateway, "10.199.0.9");

  await nl.route.delete({ dst: "10.44.0.0/16", priority: 100 });
  await nl.route.delete({ dst: "fd00:42::/64" });
  await nl.route.delete({ dst: "10.46.0.0/16", table: 1000 });
  assert.deepEqual(await ns.ipJson<Json[]>(["route", "show", "10.44.0.0/16"]), []);
  assert.deepEqual(await ns.ipJson<Json[]>(["route", "show", "table", "1000"]), []);
  // The kernel answers ESRCH ("no such process") for a missing IPv4 route, not ENOENT.
  await assert.rejects(
    () => nl.route.delete({ dst: "10.44.0.0/16" }),
    (e: unknown) => e instanceof NetlinkError && e.code === "ESRCH",
  );
});

Deno.test("routes: a gateway that is not directly reachable is ENETUNREACH with the kernel's extack text", async () => {
  const { ns, nl, eth } = await setup();
  await using _ns = ns;
  using _nl = nl;
  await nl.addr.add({ index: eth, cidr: "10.199.0.1/24" });
  await assert.rejects(
    () => nl.route.add({ dst: "10.44.16.0/24", gateway: "10.9.9.9", oif: eth }),
    (e: unknown) => {
      assert.ok(e instanceof NetlinkError);
      assert.equal(e.code, "ENETUNREACH");
      assert.equal(e.extackMessage, "Nexthop has invalid gateway");
      assert.equal(e.request, `10.44.16.0/24 via 10.9.9.9 dev ${eth}`);
      return true;
    },
  );
});

Deno.test("routeGet tells a directly connected peer (no gateway) from a routed one (DirectRouting)", async () => {
  const { ns, nl, eth } = await setup();
  await using _ns = ns;
  using _nl = nl;
  await nl.addr.add({ index: eth, cidr: "10.199.0.1/24" });
  await nl.route.add({ dst: "10.200.0.0/16", gateway: "10.199.0.254" });
  const direct = await nl.route.get("10.199.0.2");
  assert.deepEqual([direct.gateway, direct.oif, direct.prefsrc], [undefined, eth, "10.199.0.1"]);
  const routed = await nl.route.get("10.200.1.1");
  assert.equal(routed.gateway, "10.199.0.254");
  const ipSays = (await ns.ipJson<Json[]>(["route", "get", "10.200.1.1"]))[0];
  assert.equal(ipSays.gateway, routed.gateway);
  await assert.rejects(
    () => nl.route.get("192.0.2.1"),
    (e: unknown) => e instanceof NetlinkError && e.code === "ENETUNREACH",
  );
});
