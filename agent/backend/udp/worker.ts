/// <reference lib="deno.worker" />
/**
 * The udp proxy's data-path thread (a Deno Worker started by `udp/proxy.ts`): upstream's C proxy loop
 * () in TypeScript, on a thread of its own so that blocking is free.
 *
 *     loop: poll([TUN, socket, control eventfd], -1)      ← synchronous FFI: the thread sleeps in the kernel
 *           repeat engine.pump() while it moves packets   ← synchronous read/write/recvmmsg/sendmmsg
 *
 * Every call is a synchronous FFI call (≈0.1 µs overhead, errno reliable); the only wake-up is the kernel's.
 *
 * Control: the main thread posts a message (new routes), bumps `control[PENDING]` and signals the eventfd; the
 * loop notices between batches, yields to the event loop to take the messages, and carries on. `control[STOP]`
 * ends the loop. Counters are written straight into the shared `stats` array.
 *
 * @module
 */
import { type DatapathIo, UdpEngine } from "./engine.ts";
import { CONTROL, type WorkerCommand, type WorkerEvent, type WorkerInit } from "./worker_protocol.ts";
import { drainEventfd, MmsgIo, PacketBatch } from "./socket.ts";
import { EAGAIN, EINTR, errno, errnoName, lib, POLLIN } from "../../libc/mod.ts";

const post = (e: WorkerEvent) => self.postMessage(e);

function tunIo(tunFd: number, tx: PacketBatch, rxIo: MmsgIo, txIo: MmsgIo): DatapathIo {
  const c = lib();
  const slotBytes = BigInt(tx.slotBytes);
  return {
    tunRead(into) {
      for (;;) {
        const n = Number(c.read(tunFd, into, slotBytes));
        if (n >= 0) return n;
        const e = errno();
        if (e === EAGAIN) return -1;
        if (e !== EINTR) throw new Error(`Cannot read the TUN: ${errnoName(e)}`);
      }
    },
    tunWrite(buf, len) {
      for (;;) {
        const n = Number(c.write(tunFd, buf, BigInt(len)));
        if (n >= 0) return true;
        const e = errno();
        if (e === EINTR) continue;
        if (e === EAGAIN || e === 22 /* EINVAL: not a packet the TUN accepts */) return false;
        throw new Error(`Cannot write to the TUN: ${errnoName(e)}`);
      }
    },
    recv: (max) => rxIo.recv(max),
    send: (n, onError) => txIo.send(n, onError),
  };
}

async function run(init: WorkerInit, commands: AsyncCommands): Promise<void> {
  const c = lib();
  const tx = new PacketBatch(init.batch);
  const rx = new PacketBatch(init.batch);
  const rxIo = new MmsgIo(init.sockFd, rx, init.port, { offload: init.offload });
  const txIo = new MmsgIo(init.sockFd, tx, init.port, { offload: init.offload });
  const stats = new Float64Array(init.stats);
  const control = new Int32Array(init.control);
  const engine = new UdpEngine({
    io: tunIo(init.tunFd, tx, rxIo, txIo),
    tx,
    rx,
    tunAddr: init.tunAddr,
    stats,
    log: (message, fields) => post({ type: "log", message, fields }),
  });
  engine.setRoutes(init.routes);
  const pollfds = new Uint8Array(new ArrayBuffer(24));
  const pv = new DataView(pollfds.buffer);
  [init.tunFd, init.sockFd, init.ctlFd].forEach((fd, i) => {
    pv.setInt32(i * 8, fd, true);
    pv.setInt16(i * 8 + 4, POLLIN, true);
  });
  const scratch = new Uint8Array(8);
  for (;;) {
    if (Atomics.load(control, CONTROL.STOP)) return;
    while (Atomics.load(control, CONTROL.PENDING) > 0) {
      const cmd = await commands.next();
      if (cmd.type === "routes") engine.setRoutes(cmd.routes);
      Atomics.sub(control, CONTROL.PENDING, 1);
    }
    let moved = 0;
    do {
      moved = engine.pump();
    } while (
      moved > 0 && Atomics.load(control, CONTROL.PENDING) === 0 && Atomics.load(control, CONTROL.STOP) === 0
    );
    if (moved > 0) continue;
    pv.setInt16(6, 0, true);
    pv.setInt16(14, 0, true);
    pv.setInt16(22, 0, true);
    const r = c.pollSync(pollfds, 3n, -1);
    if (r < 0 && errno() !== EINTR) throw new Error(`Cannot poll: ${errnoName(errno())}`);
    if (pv.getInt16(22, true) !== 0) drainEventfd(init.ctlFd, scratch);
  }
}

/** Commands from the main thread, taken one at a time. */
class AsyncCommands {
  readonly #queue: WorkerCommand[] = [];
  #waiter: ((c: WorkerCommand) => void) | undefined;
  push(c: WorkerCommand): void {
    const w = this.#waiter;
    this.#waiter = undefined;
    if (w) w(c);
    else this.#queue.push(c);
  }
  next(): Promise<WorkerCommand> {
    const c = this.#queue.shift();
    if (c) return Promise.resolve(c);
    return new Promise((resolve) => this.#waiter = resolve);
  }
}

const commands = new AsyncCommands();
self.onmessage = (e: MessageEvent<WorkerInit | WorkerCommand>) => {
  const m = e.data;
  if (m.type !== "init") {
    commands.push(m);
    return;
  }
  run(m, commands).then(
    () => post({ type: "stopped" }),
    (err) => post({ type: "error", message: err instanceof Error ? err.message : String(err) }),
  );
};
