import assert from "node:assert/strict";
import { inetChecksum, ipv4ToU32 } from "./packet.ts";
import { type DatapathIo, STAT, STAT_COUNT, UdpEngine } from "./engine.ts";
import { UdpProxy } from "./proxy.ts";
import { parsePeerRoute } from "./routes.ts";
import { lib } from "../../libc/mod.ts";
import { closeFd, localPort, openUdpSocket, PacketBatch } from "./socket.ts";

function ip(src: number[], dst: number[], ttl = 64, proto = 17): Uint8Array<ArrayBuffer> {
  const p = new Uint8Array([
    0x45,
    0,
    0,
    28,
    0,
    1,
    0,
    0,
    ttl,
    proto,
    0,
    0,
    ...src,
    ...dst,
    1,
    2,
    3,
    4,
    5,
    6,
    7,
    8,
  ]);
  const c = inetChecksum(p.subarray(0, 20));
  p[10] = c >> 8;
  p[11] = c & 0xff;
  return p;
}

/** An engine over in-memory queues. */
function fakeEngine(batch = 4) {
  const fromKernel: Uint8Array[] = [];
  const fromNet: { data: Uint8Array; from: string; seg?: number }[] = [];
  const written: Uint8Array[] = [];
  const sent: { data: Uint8Array; to: string }[] = [];
  const tx = new PacketBatch(batch);
  const rx = new PacketBatch(batch);
  const stats = new Float64Array(STAT_COUNT);
  const io: DatapathIo = {
    tunRead(into) {
      const p = fromKernel.shift();
      if (!p) return -1;
      into.set(p);
      return p.length;
    },
    tunWrite(buf, len) {
      written.push(buf.slice(0, len));
      return true;
    },
    recv(max) {
      let i = 0;
      for (; i < max && fromNet.length; i++) {
        const d = fromNet.shift()!;
        rx.slots[i]!.set(d.data);
        rx.lens[i] = d.data.length;
        rx.addrs[i] = ipv4ToU32(d.from);
        rx.segs[i] = d.seg ?? 0;
      }
      return i;
    },
    send(n) {
      for (let i = 0; i < n; i++) {
        const a = tx.addrs[i]!;
        const to = `${a >>> 24}.${(a >>> 16) & 0xff}.${(a >>> 8) & 0xff}.${a & 0xff}`;
        sent.push({ data: tx.slots[i]!.slice(0, tx.lens[i]!), to });
      }
      return n;
    },
  };
  const engine = new UdpEngine({ io, tx, rx, tunAddr: ipv4ToU32("10.5.1.0"), stats });
  const stat = (name: keyof typeof STAT) => stats[STAT[name]];
  return { engine, fromKernel, fromNet, written, sent, stat };
}

Deno.test("UdpEngine: TUN → peer with TTL − 1, unknown destination → ICMP back, TTL 1 and IPv6 dropped", () => {
  const f = fakeEngine();
  f.engine.setRoutes([parsePeerRoute("10.5.2.0/24=192.168.60.2")]);
  f.fromKernel.push(ip([10, 5, 1, 2], [10, 5, 2, 2]));
  f.fromKernel.push(ip([10, 5, 1, 2], [10, 5, 9, 9]));
  f.fromKernel.push(ip([10, 5, 1, 2], [10, 5, 2, 2], 1));
  f.fromKernel.push(new Uint8Array(40).fill(0x60));
  f.fromKernel.push(ip([10, 5, 1, 2], [10, 5, 2, 3]));
  // One pump takes at most a batch (4 reads); the second takes the rest.
  assert.equal(f.engine.pump(), 4);
  assert.equal(f.engine.pump(), 1);
  assert.equal(f.engine.pump(), 0);
  assert.deepEqual([f.stat("sent"), f.stat("unreachable"), f.stat("dropped")], [2, 1, 2]);
  assert.equal(f.sent[0]!.to, "192.168.60.2");
  assert.equal(f.sent[0]!.data[8], 63);
  assert.equal(inetChecksum(f.sent[0]!.data.subarray(0, 20)), 0);
  assert.equal(f.sent[0]!.data.length, 28, "no header of our own");
  assert.deepEqual([...f.sent[1]!.data.subarray(16, 20)], [10, 5, 2, 3]);
  const icmp = f.written[0]!;
  assert.deepEqual([icmp[20], icmp[21]], [3, 0]);
  assert.deepEqual([...icmp.subarray(12, 20)], [10, 5, 1, 0, 10, 5, 1, 2]);
  // No ICMP error about ICMP.
  f.fromKernel.push(ip([10, 5, 1, 2], [10, 5, 9, 9], 64, 1));
  f.engine.pump();
  assert.equal(f.stat("dropped"), 3);
  assert.equal(f.written.length, 1);
});

Deno.test("UdpEngine: datagrams only from peers' PublicIPs, IPv4 only, written unchanged (TTL untouched)", () => {
  const f = fakeEngine();
  f.engine.setRoutes([parsePeerRoute("10.5.2.0/24=192.168.60.2")]);
  const p = ip([10, 5, 2, 2], [10, 5, 1, 2], 50);
  f.fromNet.push({ data: p, from: "192.168.60.3" });
  f.fromNet.push({ data: new Uint8Array(10), from: "192.168.60.2" });
  f.fromNet.push({ data: p, from: "192.168.60.2" });
  f.engine.pump();
  assert.deepEqual([f.stat("received"), f.stat("rejected"), f.stat("malformed")], [1, 1, 1]);
  assert.deepEqual(f.written, [p]);
  // New routes, new peers: the old peer is refused from now on.
  f.engine.setRoutes([parsePeerRoute("10.5.3.0/24=192.168.60.3")]);
  f.fromNet.push({ data: p, from: "192.168.60.2" });
  f.fromNet.push({ data: p, from: "192.168.60.3" });
  f.engine.pump();
  assert.deepEqual([f.stat("received"), f.stat("rejected")], [2, 2]);
});

Deno.test("UdpEngine: packets larger than the MTU pass whole (upstream truncates)", () => {
  const f = fakeEngine();
  f.engine.setRoutes([parsePeerRoute("10.5.2.0/24=192.168.60.2")]);
  const big = new Uint8Array(9000);
  big.set(ip([10, 5, 2, 2], [10, 5, 1, 2]).subarray(0, 20));
  f.fromNet.push({ data: big, from: "192.168.60.2" });
  const out = new Uint8Array(9000);
  out.set(ip([10, 5, 1, 2], [10, 5, 2, 2]).subarray(0, 20));
  f.fromKernel.push(out);
  f.engine.pump();
  assert.equal(f.written[0]!.length, 9000);
  assert.equal(f.sent[0]!.data.length, 9000);
});

Deno.test("UdpEngine: a GRO-coalesced slot is split into its datagrams, each checked on its own", () => {
  const f = fakeEngine();
  f.engine.setRoutes([parsePeerRoute("10.5.2.0/24=192.168.60.2")]);
  const a = ip([10, 5, 2, 2], [10, 5, 1, 2], 50);
  const b = ip([10, 5, 2, 2], [10, 5, 1, 3], 50);
  const c = new Uint8Array(a.length).fill(0x60); // IPv6-looking: malformed
  const d = ip([10, 5, 2, 2], [10, 5, 1, 4], 50).subarray(0, 24); // the shorter tail
  d[3] = 24;
  f.fromNet.push({ data: new Uint8Array([...a, ...b, ...c, ...d]), from: "192.168.60.2", seg: a.length });
  f.engine.pump();
  assert.deepEqual([f.stat("received"), f.stat("malformed")], [3, 1]);
  assert.deepEqual(f.written.map((w) => [...w]), [[...a], [...b], [...d]]);
});

/** A SOCK_SEQPACKET pair: keeps packet boundaries like a TUN. */
function packetPair(): [number, number] {
  const unix = Deno.dlopen("libc.so.6", {
    socketpair: { parameters: ["i32", "i32", "i32", "buffer"], result: "i32" },
  });
  try {
    const fds = new Int32Array(2);
    // AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC
    assert.equal(unix.symbols.socketpair(1, 5 | 0x800 | 0x80000, 0, new Uint8Array(fds.buffer)), 0);
    return [fds[0]!, fds[1]!];
  } finally {
    unix.close();
  }
}

async function until(cond: () => boolean, what: string) {
  for (let i = 0; i < 2000 && !cond(); i++) await new Promise((r) => setTimeout(r, 2));
  assert.ok(cond(), `timed out waiting for ${what}`);
}

for (const offload of [true, false]) {
  Deno.test(`UdpProxy (worker, offload ${offload}): TUN → UDP → back into the TUN over loopback, routes live`, async () => {
    // The proxy's peer is 127.0.0.1 on its own port: what it sends, it receives again from a peer.
    const [tunFd, kernelFd] = packetPair();
    const sockFd = openUdpSocket({ address: ipv4ToU32("127.0.0.1"), port: 0 });
    const port = localPort(sockFd);
    const proxy = new UdpProxy({ tunFd, sockFd, port, tunAddr: ipv4ToU32("10.5.1.0"), offload });
    proxy.setRoutes([parsePeerRoute("10.5.2.0/24=127.0.0.1")]);
    const running = proxy.start();
    const c = lib();
    const buf = new Uint8Array(65536);
    const readBack = () => {
      const n = Number(c.read(kernelFd, buf, 65536n));
      return n < 0 ? null : buf.slice(0, n);
    };
    try {
      const packets = Array.from({ length: 100 }, (_, i) => ip([10, 5, 1, 2], [10, 5, 2, i + 1], 64));
      for (const p of packets) assert.equal(Number(c.write(kernelFd, p, BigInt(p.length))), p.length);
      const got: Uint8Array[] = [];
      await until(() => {
        for (let p = readBack(); p; p = readBack()) got.push(p);
        return got.length === 100;
      }, "100 packets back");
      assert.deepEqual(got.map((p) => p[19]), packets.map((p) => p[19]), "in order");
      assert.ok(got.every((p) => p[8] === 63 && inetChecksum(p.subarray(0, 20)) === 0), "TTL − 1 once");
      assert.equal(proxy.stats.sent, 100);
      assert.equal(proxy.stats.received, 100);
      // 127.0.0.1 is no longer a peer: its datagrams are refused from the next batch on.
      proxy.setRoutes([parsePeerRoute("10.5.2.0/24=127.0.0.2")]);
      assert.equal(proxy.routes[0]!.publicIp, "127.0.0.2");
      const conn = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
      await conn.send(ip([10, 5, 2, 2], [10, 5, 1, 2]), { transport: "udp", hostname: "127.0.0.1", port });
      conn.close();
      await until(() => proxy.stats.rejected === 1, "a rejected datagram");
      assert.deepEqual({ ...proxy.stats }, {
        sent: 100,
        received: 100,
        unreachable: 0,
        dropped: 0,
        rejected: 1,
        malformed: 0,
        errors: 0,
      });
    } finally {
      await proxy.stop();
      await running;
      closeFd(sockFd);
      closeFd(tunFd);
      closeFd(kernelFd);
    }
  });
}
