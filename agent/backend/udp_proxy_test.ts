import assert from "node:assert/strict";
import { inetChecksum, ipv4ToU32 } from "./udp_packet.ts";
import { type TunDevice, UdpProxy } from "./udp_proxy.ts";
import { parsePeerRoute } from "./udp_routes.ts";

/** A queue that a consumer awaits. */
class Queue<T> {
  #items: T[] = [];
  #waiters: ((v: T | null) => void)[] = [];
  #closed = false;
  push(v: T) {
    const w = this.#waiters.shift();
    if (w) w(v);
    else this.#items.push(v);
  }
  close() {
    this.#closed = true;
    for (const w of this.#waiters.splice(0)) w(null);
  }
  async take(): Promise<T | null> {
    if (this.#items.length > 0) return this.#items.shift()!;
    if (this.#closed) return null;
    return await new Promise((r) => this.#waiters.push(r));
  }
  drain(): T[] {
    return this.#items.splice(0);
  }
}

function fakes() {
  const fromKernel = new Queue<Uint8Array>();
  const written: Uint8Array[] = [];
  const tun: TunDevice = {
    async readBatch() {
      const p = await fromKernel.take();
      return p ? [p, ...fromKernel.drain()] : [];
    },
    write(p) {
      written.push(p.slice());
      return true;
    },
  };
  const fromNet = new Queue<[Uint8Array, Deno.NetAddr]>();
  const sent: { data: Uint8Array; to: string; port: number }[] = [];
  const conn = {
    async receive(buf?: Uint8Array): Promise<[Uint8Array, Deno.Addr]> {
      const d = await fromNet.take();
      if (!d) throw new Deno.errors.BadResource("closed");
      buf!.set(d[0]);
      return [buf!.subarray(0, d[0].length), d[1]];
    },
    send(p: Uint8Array, a: Deno.NetAddr): Promise<number> {
      sent.push({ data: p.slice(), to: a.hostname, port: a.port });
      return Promise.resolve(p.length);
    },
  } as unknown as Deno.DatagramConn;
  const close = () => {
    fromKernel.close();
    fromNet.close();
  };
  return { tun, conn, fromKernel, fromNet, written, sent, close };
}

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

const addr = (hostname: string): Deno.NetAddr => ({ transport: "udp", hostname, port: 8285 });

async function until(cond: () => boolean) {
  for (let i = 0; i < 1000 && !cond(); i++) await new Promise((r) => setTimeout(r, 1));
  assert.ok(cond(), "condition not reached");
}

Deno.test("UdpProxy: TUN → peer with TTL − 1, unknown destination → ICMP back, TTL 1 and IPv6 dropped", async () => {
  const f = fakes();
  const proxy = new UdpProxy({ tun: f.tun, conn: f.conn, port: 8285, tunAddr: ipv4ToU32("10.5.1.0") });
  proxy.setRoutes([parsePeerRoute("10.5.2.0/24=192.168.60.2")]);
  const running = proxy.start();
  f.fromKernel.push(ip([10, 5, 1, 2], [10, 5, 2, 2]));
  f.fromKernel.push(ip([10, 5, 1, 2], [10, 5, 9, 9]));
  f.fromKernel.push(ip([10, 5, 1, 2], [10, 5, 2, 2], 1));
  f.fromKernel.push(new Uint8Array(40).fill(0x60));
  await until(() => proxy.stats.sent === 1 && proxy.stats.unreachable === 1 && proxy.stats.dropped === 2);
  assert.equal(f.sent[0]!.to, "192.168.60.2");
  assert.equal(f.sent[0]!.port, 8285);
  assert.equal(f.sent[0]!.data[8], 63);
  assert.equal(inetChecksum(f.sent[0]!.data.subarray(0, 20)), 0);
  assert.equal(f.sent[0]!.data.length, 28, "no header of our own");
  assert.deepEqual([f.written[0]![20], f.written[0]![21]], [3, 0]);
  proxy.close();
  f.close();
  await running;
});

Deno.test("UdpProxy: datagrams only from peers' PublicIPs, IPv4 only, written unchanged (TTL untouched)", async () => {
  const f = fakes();
  const proxy = new UdpProxy({ tun: f.tun, conn: f.conn, port: 8285, tunAddr: 1 });
  proxy.setRoutes([parsePeerRoute("10.5.2.0/24=192.168.60.2")]);
  const running = proxy.start();
  const p = ip([10, 5, 2, 2], [10, 5, 1, 2], 50);
  f.fromNet.push([p, addr("192.168.60.3")]);
  f.fromNet.push([new Uint8Array(10), addr("192.168.60.2")]);
  f.fromNet.push([p, addr("192.168.60.2")]);
  await until(() => proxy.stats.received === 1);
  assert.equal(proxy.stats.rejected, 1);
  assert.equal(proxy.stats.malformed, 1);
  assert.deepEqual(f.written, [p]);
  // New routes, new peers: the old peer is refused from now on.
  proxy.setRoutes([parsePeerRoute("10.5.3.0/24=192.168.60.3")]);
  f.fromNet.push([p, addr("192.168.60.2")]);
  f.fromNet.push([p, addr("192.168.60.3")]);
  await until(() => proxy.stats.received === 2);
  assert.equal(proxy.stats.rejected, 2);
  proxy.close();
  f.close();
  await running;
});

Deno.test("UdpProxy: packets larger than the MTU pass whole (upstream truncates)", async () => {
  const f = fakes();
  const proxy = new UdpProxy({ tun: f.tun, conn: f.conn, port: 8285, tunAddr: 1 });
  proxy.setRoutes([parsePeerRoute("10.5.2.0/24=192.168.60.2")]);
  const running = proxy.start();
  const big = new Uint8Array(9000);
  big.set(ip([10, 5, 2, 2], [10, 5, 1, 2]).subarray(0, 20));
  f.fromNet.push([big, addr("192.168.60.2")]);
  await until(() => proxy.stats.received === 1);
  assert.equal(f.written[0]!.length, 9000);
  proxy.close();
  f.close();
  await running;
});
