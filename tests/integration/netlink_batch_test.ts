/**
 * Batching: many requests per send, every ACK matched to its request, failures reported per request.
 * Also the event loop staying responsive during a 10,000-entry dump. Root only.
 */
import assert from "node:assert/strict";
import { Netns } from "../../harness/netns.ts";
import { uniqueName } from "../helpers/tmpdir.ts";
import {
  AF_INET,
  fdbRequest,
  neighRequest,
  Netlink,
  NetlinkError,
  NUD_PERMANENT,
  routeRequest,
} from "../../agent/netlink/mod.ts";

// deno-lint-ignore no-explicit-any
type Json = any;

async function setup(): Promise<{ ns: Netns; nl: Netlink; eth: number }> {
  const ns = await Netns.create(uniqueName("fltnl"));
  try {
    const nl = await Netlink.open({ netns: ns.name });
    const eth = await nl.link.add({ name: "eth1", kind: "veth", peer: { name: "eth1p" }, up: true });
    await nl.link.setUp("eth1p", true);
    await nl.addr.add({ index: eth.index, cidr: "10.255.0.1/16" });
    return { ns, nl, eth: eth.index };
  } catch (e) {
    await ns.delete();
    throw e;
  }
}

const routeN = (i: number) => `10.${(i >> 8) & 0xff}.${i & 0xff}.0/24`;

Deno.test("batch: one failing entry among many gets its own error and does not hide the others", async () => {
  const { ns, nl } = await setup();
  await using _ns = ns;
  using _nl = nl;
  const reqs = Array.from(
    { length: 50 },
    (_, i) => routeRequest("add", { dst: `10.${100 + i}.0.0/16`, gateway: "10.255.0.2" }),
  );
  reqs[17] = routeRequest("add", { dst: "10.99.0.0/16", gateway: "192.0.2.1" }); // unreachable gateway
  reqs[33] = routeRequest("add", { dst: "10.100.0.0/16", gateway: "10.255.0.2" }); // duplicate of entry 0
  const results = await nl.batch(reqs, { maxPerSend: 16 });
  assert.equal(results.length, 50);
  const failed = results.flatMap((r, i) => (r.ok ? [] : [[i, r.error] as const]));
  assert.deepEqual(failed.map(([i, e]) => [i, e.code]), [[17, "ENETUNREACH"], [33, "EEXIST"]]);
  const e17 = failed[0]![1];
  assert.ok(e17 instanceof NetlinkError);
  assert.equal(e17.request, "10.99.0.0/16 via 192.0.2.1");
  assert.equal(e17.extackMessage, "Nexthop has invalid gateway");
  const routes = await ns.ipJson<Json[]>(["route", "show", "via", "10.255.0.2"]);
  assert.equal(routes.length, 48);
});

Deno.test("batch: 5,000 routes, ARP and FDB entries in one call all installed and acknowledged", async () => {
  const { ns, nl, eth } = await setup();
  await using _ns = ns;
  using _nl = nl;
  const vx = await nl.link.add({
    name: "flannel.1",
    kind: "vxlan",
    vxlan: { vni: 1, local: "10.255.0.1", port: 8472, learning: false },
  });
  const mac = (i: number) =>
    `02:00:00:00:${((i >> 8) & 0xff).toString(16).padStart(2, "0")}:${
      (i & 0xff).toString(16).padStart(2, "0")
    }`;
  const reqs = Array.from({ length: 5000 }, (_, i) => [
    routeRequest("add", { dst: routeN(i), gateway: "10.255.0.2", oif: eth }),
    neighRequest("add", { index: eth, dst: `10.255.${1 + (i >> 8)}.${i & 0xff}`, lladdr: mac(i) }),
    fdbRequest("add", { index: vx.index, lladdr: mac(i), dst: `10.255.${1 + (i >> 8)}.${i & 0xff}` }),
  ]).flat();
  const results = await nl.batch(reqs);
  assert.equal(
    results.filter((r) => r.ok).length,
    15000,
    results.find((r) => !r.ok && r.error.message)?.toString() ?? "",
  );
  const routes = await nl.route.list({ family: AF_INET, oif: eth });
  assert.equal(routes.filter((r) => r.gateway === "10.255.0.2").length, 5000);
  assert.equal((await ns.ipJson<Json[]>(["route", "show", "via", "10.255.0.2"])).length, 5000);
  assert.equal((await nl.neigh.list({ index: eth })).filter((n) => n.state === NUD_PERMANENT).length, 5000);
  assert.equal((await nl.fdb.list({ index: vx.index })).filter((e) => e.dst !== undefined).length, 5000);
});

Deno.test("per-request path: every request waits for its own ACK and errors are thrown", async () => {
  const { ns, nl } = await setup();
  await using _ns = ns;
  using _nl = nl;
  for (let i = 0; i < 200; i++) {
    await nl.request(routeRequest("add", { dst: routeN(i), gateway: "10.255.0.2" }));
  }
  assert.equal((await ns.ipJson<Json[]>(["route", "show", "via", "10.255.0.2"])).length, 200);
  await assert.rejects(
    () => nl.request(routeRequest("add", { dst: routeN(5), gateway: "10.255.0.2" })),
    (e: unknown) => e instanceof NetlinkError && e.code === "EEXIST",
  );
});

Deno.test("event loop: a setInterval timer keeps firing during a 10,000-route dump", async () => {
  const { ns, nl } = await setup();
  await using _ns = ns;
  using _nl = nl;
  const res = await nl.batch(
    Array.from({ length: 10000 }, (_, i) => routeRequest("add", { dst: routeN(i), gateway: "10.255.0.2" })),
  );
  assert.ok(res.every((r) => r.ok));
  let ticks = 0;
  const timer = setInterval(() => ticks++, 1);
  try {
    const t0 = performance.now();
    const routes = await nl.route.list({ family: AF_INET });
    const ms = performance.now() - t0;
    assert.ok(routes.length >= 10000);
    // A dump that never yielded would leave ticks at 0 however long it took.
    assert.ok(ticks >= 2, `timer fired ${ticks} times during a ${ms.toFixed(1)} ms dump`);
  } finally {
    clearInterval(timer);
  }
});

Deno.test("concurrent calls on one connection are serialized and each gets its own answer", async () => {
  const { ns, nl } = await setup();
  await using _ns = ns;
  using _nl = nl;
  const ops = Array.from({ length: 20 }, (_, i) => nl.route.add({ dst: routeN(i), gateway: "10.255.0.2" }));
  const listing = nl.link.list();
  await Promise.all(ops);
  assert.deepEqual((await listing).map((l) => l.name).sort(), ["eth1", "eth1p", "lo"]);
  assert.equal((await ns.ipJson<Json[]>(["route", "show", "via", "10.255.0.2"])).length, 20);
});
