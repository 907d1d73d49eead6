/**
 * The udp backend end to end between two node namespaces (see `udp_lab.ts`), each running the standalone
 * backend: flannel0's kernel state, pod-to-pod pings at the largest DF size and one byte more, the wire format on
 * the underlay, ICMP net unreachable for an unknown destination, datagrams from non-peers refused, and teardown;
 * and bulk TCP between a node using UDP GSO/GRO and one without (as an upstream peer). Root only.
 */
import assert from "node:assert/strict";
import { startUdpLab, type UdpLab, waitFor } from "../helpers/udp_lab.ts";
import type { Netns } from "../../harness/netns.ts";
import { inetChecksum } from "../../agent/backend/udp/mod.ts";

// deno-lint-ignore no-explicit-any
type Json = any;

/** An ICMP echo request, as raw IPv4 bytes. */
function echoRequest(src: number[], dst: number[]): Uint8Array {
  const icmp = new Uint8Array([8, 0, 0, 0, 0x12, 0x34, 0, 1, ...new TextEncoder().encode("flannel!")]);
  const c = inetChecksum(icmp);
  icmp[2] = c >> 8;
  icmp[3] = c & 0xff;
  const ip = new Uint8Array([
    0x45,
    0,
    0,
    20 + icmp.length,
    0,
    1,
    0x40,
    0,
    64,
    1,
    0,
    0,
    ...src,
    ...dst,
    ...icmp,
  ]);
  const h = inetChecksum(ip.subarray(0, 20));
  ip[10] = h >> 8;
  ip[11] = h & 0xff;
  return ip;
}

/** Sends one UDP datagram from inside a namespace, from `bindIp`, to `to`:8285. */
async function sendDatagram(lab: UdpLab, node: 0 | 1, bindIp: string, to: string, payload: Uint8Array) {
  const code = `const c = Deno.listenDatagram({ transport: "udp", hostname: "${bindIp}", port: 0 });
await c.send(new Uint8Array([${payload.join(",")}]), { transport: "udp", hostname: "${to}", port: 8285 });
c.close();`;
  await lab.nodes[node].ns.exec([Deno.execPath(), "eval", "--unstable-net", code]);
}

/** The IPv4 packets of a pcap file of an Ethernet link. */
function ipPackets(pcap: Uint8Array): Uint8Array[] {
  const dv = new DataView(pcap.buffer, pcap.byteOffset, pcap.byteLength);
  const out: Uint8Array[] = [];
  for (let off = 24; off + 16 <= pcap.length;) {
    const incl = dv.getUint32(off + 8, true);
    out.push(pcap.subarray(off + 16 + 14, off + 16 + incl));
    off += 16 + incl;
  }
  return out;
}

/** Captures `count` packets matching `filter` on a namespace's link while `action` runs. */
async function capture(
  lab: UdpLab,
  ns: Netns,
  link: string,
  filter: string,
  count: number,
  action: () => Promise<unknown>,
): Promise<Uint8Array[]> {
  const file = `${lab.dir}/${crypto.randomUUID()}.pcap`;
  const log = `${file}.log`;
  const dump = await ns.spawn(["tcpdump", "-i", link, "-n", "-U", "-c", String(count), "-w", file, filter], {
    logFile: log,
  });
  let exited = false;
  dump.status.then(() => exited = true);
  try {
    await waitFor("tcpdump", async () => /listening on/.test(await Deno.readTextFile(log)) || undefined);
    await action();
    await waitFor(`${count} packets captured`, () => Promise.resolve(exited || undefined));
  } finally {
    await dump.stop();
  }
  return ipPackets(await Deno.readFile(file));
}

Deno.test("udp backend: flannel0, DF pings up to the MTU, wire format, unreachable, non-peers, teardown", async (t) => {
  await using lab = await startUdpLab();
  const [n1, n2] = lab.nodes;

  await t.step(
    "flannel0 is a non-persistent TUN with <subnet>/32, MTU 1472 and the Network route",
    async () => {
      const [link] = await n1.ns.ipJson<Json[]>(["-d", "addr", "show", "dev", "flannel0"]);
      assert.equal(link.linkinfo.info_kind, "tun");
      assert.equal(link.linkinfo.info_data.type, "tun");
      assert.equal(link.linkinfo.info_data.pi, false);
      assert.equal(link.linkinfo.info_data.persist, false);
      assert.equal(link.mtu, 1472);
      assert.ok(link.flags.includes("UP"));
      const v4 = link.addr_info.filter((a: Json) => a.family === "inet");
      assert.deepEqual(v4.map((a: Json) => `${a.local}/${a.prefixlen}`), ["10.5.1.0/32"]);
      const routes = await n1.ns.ipJson<Json[]>(["route", "show", "dev", "flannel0"]);
      assert.deepEqual(routes.map((r: Json) => [r.dst, r.scope ?? "global"]), [["10.5.0.0/16", "global"]]);
    },
  );

  await t.step("pod to pod: 1444-byte DF ping passes (1500 on the wire), 1445 does not", async () => {
    await n1.pod.exec(["ping", "-c", "3", "-i", "0.2", "-W", "5", "-M", "do", "-s", "1444", n2.podIp], {
      timeoutMs: 30_000,
    });
    const big = await n1.pod.exec([
      "ping",
      "-c",
      "2",
      "-i",
      "0.2",
      "-W",
      "2",
      "-M",
      "do",
      "-s",
      "1445",
      n2.podIp,
    ], {
      check: false,
      timeoutMs: 30_000,
    });
    assert.notEqual(big.code, 0, big.stdout);
  });

  await t.step("the underlay carries UDP 8285 whose payload is the bare inner IPv4 packet", async () => {
    const frames = await capture(
      lab,
      n1.ns,
      "eth1",
      "udp port 8285",
      2,
      () => n1.pod.exec(["ping", "-c", "1", "-W", "5", "-s", "100", n2.podIp]),
    );
    const payloads = frames.map((f) => f.subarray(20 + 8));
    assert.equal(payloads.length, 2);
    const [req, rep] = payloads as [Uint8Array, Uint8Array];
    assert.equal(req[0], 0x45, "starts with an IPv4 header");
    assert.equal(req.length, 20 + 8 + 100, "nothing but the inner packet");
    assert.deepEqual([...req.subarray(12, 20)], [10, 5, 1, 2, 10, 5, 2, 2]);
    assert.equal(req[9], 1, "ICMP inside");
    assert.equal(req[20], 8, "echo request");
    assert.deepEqual([...rep.subarray(12, 20)], [10, 5, 2, 2, 10, 5, 1, 2]);
    assert.equal(inetChecksum(req.subarray(0, 20)), 0, "inner header checksum valid after the TTL change");
  });

  await t.step(
    "an address in the Network with no lease gets ICMP net unreachable from the TUN address",
    async () => {
      // ping sends ICMP, about which no ICMP error may be sent: probe with a UDP datagram instead.
      const got = await capture(
        lab,
        n1.pod,
        "eth0",
        "icmp",
        1,
        () => n1.pod.exec(["bash", "-c", "echo probe > /dev/udp/10.5.9.9/9"]),
      );
      const icmp = got[0]!;
      assert.deepEqual(
        [...icmp.subarray(12, 20)],
        [10, 5, 1, 0, 10, 5, 1, 2],
        "from the TUN address to the sender",
      );
      assert.deepEqual([icmp[20], icmp[21]], [3, 0], "destination net unreachable");
      assert.equal(inetChecksum(icmp.subarray(20)), 0, "ICMP checksum valid");
      assert.deepEqual([...icmp.subarray(28 + 16, 28 + 20)], [10, 5, 9, 9], "quotes the offending header");
      // No error about ICMP: a ping to the same address gets no answer at all.
      const ping = await n1.pod.exec(["ping", "-c", "1", "-W", "1", "10.5.9.9"], { check: false });
      assert.doesNotMatch(ping.stdout, /Unreachable/);
    },
  );

  await t.step("datagrams from a non-peer are dropped; the same from the peer are delivered", async () => {
    await n2.ns.ip(["addr", "add", "192.168.60.3/24", "dev", "eth1"]);
    const packet = echoRequest([10, 5, 2, 99], [10, 5, 1, 2]);
    await sendDatagram(lab, 1, "192.168.60.3", n1.underlay, packet);
    await sendDatagram(lab, 1, "192.168.60.2", n1.underlay, packet);
    const stats = await lab.stopProxy(0);
    assert.equal(stats.rejected, 1, JSON.stringify(stats));
    assert.ok(stats.received! >= 1, JSON.stringify(stats));
  });

  await t.step("stopping the backend removes flannel0 and its route", async () => {
    const links = await n1.ns.ipJson<Json[]>(["link"]);
    assert.ok(!links.some((l: Json) => l.ifname === "flannel0"));
    const routes = await n1.ns.ipJson<Json[]>(["route"]);
    assert.ok(!routes.some((r: Json) => r.dst === "10.5.0.0/16"));
  });
});

Deno.test("udp backend: bulk TCP both ways between a GSO/GRO node and one without offloads", async () => {
  await using lab = await startUdpLab({ start: false });
  const [n1, n2] = lab.nodes;
  await Promise.all([lab.startProxy(0), lab.startProxy(1, [], ["--no-offload"])]);
  const server = await n2.pod.spawn(["iperf3", "-s"]);
  try {
    await waitFor("iperf3 server", async () => {
      const r = await n2.pod.exec(["ss", "-ltn"], { check: false });
      return r.stdout.includes(":5201") || undefined;
    });
    for (const reverse of [[], ["-R"]]) {
      const { stdout } = await n1.pod.exec(["iperf3", "-c", n2.podIp, "-t", "2", "-J", ...reverse], {
        timeoutMs: 60_000,
      });
      const j: Json = JSON.parse(stdout);
      assert.ok(
        j.end.sum_received.bytes > 1e6,
        `${reverse.join("") || "forward"}: ${j.end.sum_received.bytes} bytes`,
      );
    }
  } finally {
    await server.stop();
  }
  const s1 = await lab.stopProxy(0);
  const s2 = await lab.stopProxy(1);
  for (const s of [s1, s2]) {
    assert.equal(s.malformed, 0, JSON.stringify(s));
    assert.equal(s.rejected, 0, JSON.stringify(s));
    assert.equal(s.errors, 0, JSON.stringify(s));
  }
  // One datagram per packet reached the side without GRO (a coalesced blob would count once); a few may be
  // lost to a full socket buffer under bulk load.
  assert.ok(s2.received! >= 0.95 * s1.sent!, JSON.stringify({ s1, s2 }));
  assert.ok(s1.received! >= 0.95 * s2.sent!, JSON.stringify({ s1, s2 }));
});
