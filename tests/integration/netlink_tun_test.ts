/**
 * TUN devices in a throwaway namespace: creation, a packet written into the device and the kernel's answer read
 * back from it. Root only.
 */
import assert from "node:assert/strict";
import { Netns } from "../../harness/netns.ts";
import { run } from "../../cli/process/mod.ts";
import { uniqueName } from "../helpers/tmpdir.ts";
import { currentNetnsInode, Netlink, Tun } from "../../agent/netlink/mod.ts";

// deno-lint-ignore no-explicit-any
type Json = any;

function checksum(b: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < b.length; i += 2) sum += (b[i]! << 8) | (b[i + 1] ?? 0);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return ~sum & 0xffff;
}

/** An IPv4 ICMP echo request from `src` to `dst`. */
function echoRequest(src: number[], dst: number[], id: number): Uint8Array<ArrayBuffer> {
  const icmp = new Uint8Array(16);
  icmp.set([8, 0, 0, 0, id >> 8, id & 0xff, 0, 1]);
  icmp.set(new TextEncoder().encode("flannel!"), 8);
  const c = checksum(icmp);
  icmp[2] = c >> 8;
  icmp[3] = c & 0xff;
  const ip = new Uint8Array(20 + icmp.length);
  ip.set([0x45, 0, 0, ip.length, 0, 1, 0x40, 0, 64, 1, 0, 0, ...src, ...dst]);
  const h = checksum(ip.subarray(0, 20));
  ip[10] = h >> 8;
  ip[11] = h & 0xff;
  ip.set(icmp, 20);
  return ip;
}

Deno.test("tun: flannel%d is created in the namespace, not in the main one, and goes away on close", async () => {
  await using ns = await Netns.create(uniqueName("fltnl"));
  const before = currentNetnsInode();
  const tun = Tun.open({ name: "flannel%d", netns: ns.name });
  try {
    assert.equal(currentNetnsInode(), before);
    assert.equal(tun.name, "flannel0");
    const [j] = await ns.ipJson<Json[]>(["-d", "link", "show", "dev", "flannel0"]);
    assert.equal(j.linkinfo.info_kind, "tun");
    assert.equal(j.linkinfo.info_data.pi, false);
    assert.equal(j.linkinfo.info_data.type, "tun");
    const main = await run(["ip", "-j", "link", "show"]);
    assert.ok(
      !(JSON.parse(main.stdout) as Json[]).some((x) => x.ifname === "flannel0"),
      "not in the main namespace",
    );
    using nl = await Netlink.open({ netns: ns.name });
    const l = await nl.link.get("flannel0");
    assert.equal(l.kind, "tun");
  } finally {
    tun.close();
  }
  assert.deepEqual((await ns.ipJson<Json[]>(["link"])).map((l: Json) => l.ifname), ["lo"], "not persistent");
});

Deno.test("tun: a packet written into the device is answered by the kernel and read back", async () => {
  await using ns = await Netns.create(uniqueName("fltnl"));
  using tun = Tun.open({ name: "tunnl0", netns: ns.name });
  using nl = await Netlink.open({ netns: ns.name });
  // IPv6 off on the device so no router solicitations interleave.
  await ns.exec(["sysctl", "-qw", "net.ipv6.conf.tunnl0.disable_ipv6=1"]);
  const l = await nl.link.get("tunnl0");
  await nl.addr.add({ index: l.index, cidr: "10.9.0.1/24" });
  await nl.link.setUp(l.index, true);

  let ticks = 0;
  const timer = setInterval(() => ticks++, 5);
  try {
    const reading = tun.readBatch(64);
    await new Promise((r) => setTimeout(r, 30));
    assert.ok(ticks > 0, "waiting for packets does not block the event loop");
    assert.equal(tun.write(echoRequest([10, 9, 0, 2], [10, 9, 0, 1], 0x4242)), true);
    const packets = await reading;
    const reply = packets.find((p) => p[0] === 0x45 && p[9] === 1 && p[20] === 0);
    assert.ok(reply, `got ${packets.length} packets, no echo reply`);
    assert.deepEqual([...reply.subarray(12, 20)], [10, 9, 0, 1, 10, 9, 0, 2]);
    assert.deepEqual([reply[24], reply[25]], [0x42, 0x42]);
  } finally {
    clearInterval(timer);
  }

  // Batch: many requests in, as many replies out, drained in batches.
  const n = tun.writeBatch(
    Array.from({ length: 100 }, (_, i) => echoRequest([10, 9, 0, 2], [10, 9, 0, 1], i)),
  );
  assert.equal(n, 100);
  const got: Uint8Array[] = [];
  while (got.length < 100) got.push(...(await tun.readBatch(256)));
  assert.equal(got.filter((p) => p[20] === 0).length, 100);
});

Deno.test("tun: close() ends a pending readBatch with no packets", async () => {
  await using ns = await Netns.create(uniqueName("fltnl"));
  const tun = Tun.open({ netns: ns.name });
  const pending = tun.readBatch();
  setTimeout(() => tun.close(), 20);
  assert.deepEqual(await pending, []);
});
