/**
 * ARP/NDP and bridge FDB entries through agent/netlink in throwaway namespaces, checked against `ip -j neigh`
 * and `bridge -j fdb`. Root only.
 */
import assert from "node:assert/strict";
import { Netns } from "../../harness/netns.ts";
import { uniqueName } from "../helpers/tmpdir.ts";
import { AF_INET6, Netlink, NetlinkError, NTF_SELF, NUD_PERMANENT } from "../../agent/netlink/mod.ts";

// deno-lint-ignore no-explicit-any
type Json = any;

Deno.test("neighbours: permanent ARP and NDP entries add, replace, list, delete like ip neigh", async () => {
  await using ns = await Netns.create(uniqueName("fltnl"));
  using nl = await Netlink.open({ netns: ns.name });
  const eth = await nl.link.add({ name: "eth1", kind: "veth", peer: { name: "eth1p" }, up: true });
  await nl.neigh.add({ index: eth.index, dst: "10.42.7.0", lladdr: "72:24:08:c1:71:25" });
  await nl.neigh.add({ index: eth.index, dst: "fd00::9", lladdr: "02:00:00:00:00:09" });
  const theirs = await ns.ipJson<Json[]>(["neigh", "show", "dev", "eth1"]);
  assert.deepEqual(
    theirs.map((n: Json) => `${n.dst} ${n.lladdr} ${n.state.join(",")}`).sort(),
    ["10.42.7.0 72:24:08:c1:71:25 PERMANENT", "fd00::9 02:00:00:00:00:09 PERMANENT"],
  );
  const ours = await nl.neigh.list({ index: eth.index });
  assert.deepEqual(
    ours.map((n) => `${n.dst} ${n.lladdr} ${n.state === NUD_PERMANENT ? "PERMANENT" : n.state}`).sort(),
    [
      "10.42.7.0 72:24:08:c1:71:25 PERMANENT",
      "fd00::9 02:00:00:00:00:09 PERMANENT",
    ],
  );
  assert.deepEqual((await nl.neigh.list({ family: AF_INET6 })).map((n) => n.dst), ["fd00::9"]);

  await assert.rejects(
    () => nl.neigh.add({ index: eth.index, dst: "10.42.7.0", lladdr: "02:00:00:00:00:01" }),
    (e: unknown) => e instanceof NetlinkError && e.code === "EEXIST",
  );
  await nl.neigh.replace({ index: eth.index, dst: "10.42.7.0", lladdr: "02:00:00:00:00:01" });
  assert.equal(
    (await ns.ipJson<Json[]>(["neigh", "show", "10.42.7.0", "dev", "eth1"]))[0].lladdr,
    "02:00:00:00:00:01",
  );
  await nl.neigh.delete({ index: eth.index, dst: "10.42.7.0" });
  await nl.neigh.delete({ index: eth.index, dst: "fd00::9" });
  assert.deepEqual(await ns.ipJson<Json[]>(["neigh", "show", "dev", "eth1"]), []);
  await assert.rejects(
    () => nl.neigh.delete({ index: eth.index, dst: "10.42.7.0" }),
    (e: unknown) => e instanceof NetlinkError && e.code === "ENOENT" && e.op === "delete neighbour",
  );
});

Deno.test("fdb: vxlan self permanent entries with dst add, append, list, delete like bridge fdb", async () => {
  await using ns = await Netns.create(uniqueName("fltnl"));
  using nl = await Netlink.open({ netns: ns.name });
  const vx = await nl.link.add({
    name: "flannel.1",
    kind: "vxlan",
    vxlan: { vni: 1, local: "10.199.0.1", port: 8472, learning: false },
  });
  await nl.fdb.add({ index: vx.index, lladdr: "72:24:08:c1:71:25", dst: "10.199.0.2" });
  await nl.fdb.append({ index: vx.index, lladdr: "00:00:00:00:00:00", dst: "10.199.0.3" });
  await nl.fdb.append({ index: vx.index, lladdr: "00:00:00:00:00:00", dst: "10.199.0.4" });
  const { stdout } = await ns.exec(["bridge", "-j", "fdb", "show", "dev", "flannel.1"]);
  const theirs = (JSON.parse(stdout) as Json[]).map((e) =>
    `${e.mac} ${e.dst} ${e.flags.join(",")} ${e.state}`
  ).sort();
  assert.deepEqual(theirs, [
    "00:00:00:00:00:00 10.199.0.3 self permanent",
    "00:00:00:00:00:00 10.199.0.4 self permanent",
    "72:24:08:c1:71:25 10.199.0.2 self permanent",
  ]);
  const ours = (await nl.fdb.list({ index: vx.index }))
    .map((e) =>
      `${e.lladdr} ${e.dst} ${e.flags & NTF_SELF ? "self" : ""} ${
        e.state & NUD_PERMANENT ? "permanent" : e.state
      }`
    ).sort();
  assert.deepEqual(ours, theirs);

  await assert.rejects(
    () => nl.fdb.add({ index: vx.index, lladdr: "72:24:08:c1:71:25", dst: "10.199.0.2" }),
    (e: unknown) => e instanceof NetlinkError && e.code === "EEXIST",
  );
  await nl.fdb.replace({ index: vx.index, lladdr: "72:24:08:c1:71:25", dst: "10.199.0.7" });
  const replaced = (await nl.fdb.list({ index: vx.index })).find((e) => e.lladdr === "72:24:08:c1:71:25");
  assert.equal(replaced?.dst, "10.199.0.7");

  await nl.fdb.delete({ index: vx.index, lladdr: "00:00:00:00:00:00", dst: "10.199.0.3" });
  await nl.fdb.delete({ index: vx.index, lladdr: "72:24:08:c1:71:25", dst: "10.199.0.7" });
  const left = JSON.parse(
    (await ns.exec(["bridge", "-j", "fdb", "show", "dev", "flannel.1"])).stdout,
  ) as Json[];
  assert.deepEqual(left.map((e) => `${e.mac} ${e.dst}`), ["00:00:00:00:00:00 10.199.0.4"]);
  await assert.rejects(
    () => nl.fdb.delete({ index: vx.index, lladdr: "72:24:08:c1:71:25", dst: "10.199.0.7" }),
    (e: unknown) => e instanceof NetlinkError && e.code === "ENOENT",
  );
});
