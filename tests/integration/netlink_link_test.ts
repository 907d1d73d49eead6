/**
 * Links through agent/netlink in throwaway namespaces, each checked against `ip -j -d link`.
 * Root only. Every namespace is deleted by `await using`, also on failure.
 */
import assert from "node:assert/strict";
import { Netns } from "../../harness/netns.ts";
import { run } from "../../cli/process/mod.ts";
import { uniqueName } from "../helpers/tmpdir.ts";
import { currentNetnsInode, Netlink, NetlinkError } from "../../agent/netlink/mod.ts";

// deno-lint-ignore no-explicit-any
type Json = any;

async function linkJson(ns: Netns, name: string): Promise<Json> {
  const [l] = await ns.ipJson<Json[]>(["-d", "link", "show", "dev", name]);
  return l;
}

Deno.test("Netlink.open({ netns }) binds the socket to the namespace and restores the thread", async () => {
  await using ns = await Netns.create(uniqueName("fltnl"));
  const before = currentNetnsInode();
  using nl = await Netlink.open({ netns: ns.name });
  assert.equal(currentNetnsInode(), before, "main thread back in its namespace");
  const name = uniqueName("nlt");
  await nl.link.add({ name, kind: "bridge" });
  assert.equal((await linkJson(ns, name)).ifname, name);
  const main = await run(["ip", "link", "show", "dev", name], { check: false });
  assert.notEqual(main.code, 0, "the link must not exist in the main namespace");
  // A second connection in the main namespace must not see it either.
  assert.equal(currentNetnsInode(), before);
  const names = (await nl.link.list()).map((l) => l.name).sort();
  assert.deepEqual(names, ["lo", name].sort());
});

Deno.test("Netlink.open rejects a namespace that does not exist and leaves the thread where it was", async () => {
  const before = currentNetnsInode();
  await assert.rejects(() => Netlink.open({ netns: "flt-no-such-ns" }), /ENOENT/);
  assert.equal(currentNetnsInode(), before);
});

Deno.test("link add vxlan: every attribute we set reads back in ip -d link and in our decoder", async () => {
  await using ns = await Netns.create(uniqueName("fltnl"));
  using nl = await Netlink.open({ netns: ns.name });
  const eth = await nl.link.add({ name: "eth1", kind: "veth", peer: { name: "eth1p" }, up: true });
  const vx = await nl.link.add({
    name: "flannel.1",
    kind: "vxlan",
    mtu: 1450,
    mac: "72:24:08:c1:71:25",
    vxlan: {
      vni: 1,
      local: "10.199.0.1",
      link: eth.index,
      port: 8472,
      learning: false,
      gbp: true,
      udpCsum: true,
      ttl: 0,
      tos: 0,
    },
  });
  const j = await linkJson(ns, "flannel.1");
  const d = j.linkinfo.info_data;
  assert.equal(j.linkinfo.info_kind, "vxlan");
  assert.deepEqual(
    [d.id, d.local, d.link, d.port, d.learning, d.gbp, d.udp_csum, d.ttl],
    [1, "10.199.0.1", "eth1", 8472, false, true, true, 0],
  );
  assert.equal(j.mtu, 1450);
  assert.equal(j.address, "72:24:08:c1:71:25");
  // Our own reading matches, field for field, for the reconciler's comparison.
  assert.equal(vx.kind, "vxlan");
  assert.deepEqual(
    [
      vx.vxlan?.vni,
      vx.vxlan?.local,
      vx.vxlan?.link,
      vx.vxlan?.port,
      vx.vxlan?.learning,
      vx.vxlan?.gbp,
      vx.vxlan?.udpCsum,
      vx.vxlan?.ttl,
    ],
    [d.id, d.local, eth.index, d.port, d.learning, d.gbp, d.udp_csum, d.ttl],
  );
  assert.equal(vx.vxlan?.ageing, d.ageing);
  assert.equal(vx.mac, j.address);
  assert.equal(vx.mtu, j.mtu);

  // A second vxlan with other values: learning on, no gbp, port 4789, ttl 64, udp checksum off.
  const vx2 = await nl.link.add({
    name: "vx2",
    kind: "vxlan",
    vxlan: { vni: 4096, local: "10.199.0.1", port: 4789, learning: true, udpCsum: false, ttl: 64 },
  });
  const d2 = (await linkJson(ns, "vx2")).linkinfo.info_data;
  assert.deepEqual([d2.id, d2.port, d2.learning, d2.gbp ?? false, d2.udp_csum, d2.ttl], [
    4096,
    4789,
    true,
    false,
    false,
    64,
  ]);
  assert.deepEqual([vx2.vxlan?.learning, vx2.vxlan?.gbp, vx2.vxlan?.udpCsum, vx2.vxlan?.ttl], [
    true,
    false,
    false,
    64,
  ]);
});

Deno.test("link add veth with the peer in another namespace by name", async () => {
  await using a = await Netns.create(uniqueName("fltnl"));
  await using b = await Netns.create(uniqueName("fltnl"));
  using nl = await Netlink.open({ netns: a.name });
  const v = await nl.link.add({
    name: "va",
    kind: "veth",
    mtu: 1400,
    peer: { name: "vb", netns: b.name, mtu: 1400, mac: "02:00:00:00:00:0b" },
  });
  assert.equal(v.kind, "veth");
  const peer = await linkJson(b, "vb");
  assert.equal(peer.mtu, 1400);
  assert.equal(peer.address, "02:00:00:00:00:0b");
  assert.equal(await a.ip(["link", "show", "dev", "vb"], { check: false }).then((r) => r.code !== 0), true);
});

Deno.test("link add bridge, set up/down, MTU, MAC, master; delete", async () => {
  await using ns = await Netns.create(uniqueName("fltnl"));
  using nl = await Netlink.open({ netns: ns.name });
  const br = await nl.link.add({ name: "br0", kind: "bridge", bridge: { stp: false, ageingTime: 20000 } });
  const bj = await linkJson(ns, "br0");
  assert.equal(bj.linkinfo.info_kind, "bridge");
  assert.equal(bj.linkinfo.info_data.ageing_time, 20000);
  assert.equal(br.bridge?.ageingTime, 20000);

  await nl.link.setUp("br0", true);
  assert.ok((await linkJson(ns, "br0")).flags.includes("UP"));
  assert.equal((await nl.link.get(br.index)).up, true);
  await nl.link.setUp(br.index, false);
  assert.ok(!(await linkJson(ns, "br0")).flags.includes("UP"));

  await nl.link.setMtu(br.index, 1280);
  await nl.link.setMac(br.index, "02:aa:bb:cc:dd:ee");
  const j = await linkJson(ns, "br0");
  assert.deepEqual([j.mtu, j.address], [1280, "02:aa:bb:cc:dd:ee"]);

  const port = await nl.link.add({ name: "p0", kind: "veth", peer: { name: "p1" } });
  await nl.link.set(port.index, { master: br.index });
  assert.equal((await linkJson(ns, "p0")).master, "br0");
  assert.equal((await nl.link.get("p0")).master, br.index);

  await nl.link.delete("p0");
  assert.equal(await nl.link.find("p0"), undefined);
  assert.equal(await nl.link.find("p1"), undefined, "the veth peer goes with it");
  await nl.link.delete(br.index);
  assert.deepEqual((await ns.ipJson<Json[]>(["link"])).map((l) => l.ifname), ["lo"]);
});

Deno.test("link errors: duplicate add is EEXIST, missing link is ENODEV, vxlan on a missing link carries extack", async () => {
  await using ns = await Netns.create(uniqueName("fltnl"));
  using nl = await Netlink.open({ netns: ns.name });
  await nl.link.add({ name: "br0", kind: "bridge" });
  await assert.rejects(() => nl.link.add({ name: "br0", kind: "bridge" }), (e: unknown) => {
    assert.ok(e instanceof NetlinkError);
    assert.equal(e.code, "EEXIST");
    assert.equal(e.errno, 17);
    assert.equal(e.op, "add link");
    assert.equal(e.request, "br0 type bridge");
    assert.ok(e.seq > 0);
    return true;
  });
  await assert.rejects(
    () => nl.link.delete("nope0"),
    (e: unknown) => e instanceof NetlinkError && e.code === "ENODEV",
  );
  await assert.rejects(
    () => nl.link.get(9999),
    (e: unknown) => e instanceof NetlinkError && e.code === "ENODEV",
  );
  await assert.rejects(
    () => nl.link.add({ name: "vx", kind: "vxlan", vxlan: { vni: 1, link: 9999 } }),
    (e: unknown) => {
      assert.ok(e instanceof NetlinkError);
      assert.equal(e.code, "ENODEV");
      assert.match(e.extackMessage ?? "", /device not found/);
      assert.match(e.message, /^Cannot add link "vx type vxlan id 1 dev 9999": ENODEV: /);
      return true;
    },
  );
});
