import assert from "node:assert/strict";
import { ipv4ToU32 } from "./packet.ts";
import { getIntOpt, SO_RCVBUF, SOL_SOCKET } from "../../libc/mod.ts";
import { closeFd, localPort, MmsgIo, openUdpSocket, PacketBatch } from "./socket.ts";

const LOOPBACK = ipv4ToU32("127.0.0.1");

function fill(batch: PacketBatch, sizes: readonly number[], to: number): void {
  sizes.forEach((size, i) => {
    batch.slots[i]!.fill(i + 1, 0, size);
    batch.lens[i] = size;
    batch.addrs[i] = to;
  });
}

Deno.test("openUdpSocket: bound to the address and port, large buffers, EADDRINUSE on a taken port", () => {
  const fd = openUdpSocket({ address: LOOPBACK, port: 0 });
  try {
    const port = localPort(fd);
    assert.ok(port > 0);
    assert.ok(getIntOpt(fd, SOL_SOCKET, SO_RCVBUF) >= 1 << 20);
    assert.throws(() => openUdpSocket({ address: LOOPBACK, port }), /EADDRINUSE/);
  } finally {
    closeFd(fd);
  }
});

for (const offload of [true, false]) {
  Deno.test(`MmsgIo (offload ${offload}): a plain receiver gets one datagram per packet, GSO or not`, async () => {
    const conn = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
    const port = (conn.addr as Deno.NetAddr).port;
    const fd = openUdpSocket({ address: LOOPBACK, port: 0 });
    try {
      const batch = new PacketBatch(8, 2048);
      const io = new MmsgIo(fd, batch, port, { offload });
      // A run of equal sizes with a shorter tail (one GSO send), then a lone odd size, then another run.
      const sizes = [1400, 1400, 1400, 1400, 900, 77, 1200, 1200];
      fill(batch, sizes, LOOPBACK);
      const errors: number[] = [];
      assert.equal(io.send(sizes.length, (_, e) => errors.push(e)), sizes.length);
      assert.deepEqual(errors, []);
      for (const [i, size] of sizes.entries()) {
        const [data] = await conn.receive();
        assert.equal(data.length, size, `datagram ${i}`);
        assert.ok(data.every((b) => b === i + 1), `datagram ${i} content`);
      }
    } finally {
      conn.close();
      closeFd(fd);
    }
  });
}

Deno.test("MmsgIo: receives a batch with senders' addresses; with GRO a run arrives coalesced and is described", () => {
  const rxFd = openUdpSocket({ address: LOOPBACK, port: 0 });
  const txFd = openUdpSocket({ address: LOOPBACK, port: 0 });
  try {
    const port = localPort(rxFd);
    const tx = new PacketBatch(8, 2048);
    const txIo = new MmsgIo(txFd, tx, port);
    const rx = new PacketBatch(8);
    const rxIo = new MmsgIo(rxFd, rx, 0);
    assert.equal(rxIo.recv(8), 0, "nothing queued: no wait");
    const sizes = [1000, 1000, 1000, 500];
    fill(tx, sizes, LOOPBACK);
    assert.equal(txIo.send(sizes.length, () => assert.fail("send error")), 4);
    const out: number[][] = [];
    for (let n = rxIo.recv(8); n > 0; n = rxIo.recv(8)) {
      for (let i = 0; i < n; i++) {
        assert.equal(rx.addrs[i], LOOPBACK);
        const seg = rx.segs[i]!;
        const len = rx.lens[i]!;
        for (let off = 0; off < len; off += seg || len) {
          const piece = rx.slots[i]!.subarray(off, Math.min(len, off + (seg || len)));
          out.push([piece.length, piece[0]!]);
        }
      }
    }
    assert.deepEqual(out, [[1000, 1], [1000, 2], [1000, 3], [500, 4]]);
  } finally {
    closeFd(rxFd);
    closeFd(txFd);
  }
});
