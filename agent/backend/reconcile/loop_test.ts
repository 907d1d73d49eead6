/**
 * When the reconcile loop runs on its own: every `resyncMs` without a netlink subscription, only every
 * `quietResyncMs` while one is live (events then bring every change), and back to the short timer, with a run
 * at once, when the subscription ends.
 */
import assert from "node:assert/strict";
import { memoryLogger } from "../../../cli/log.ts";
import { agentMetrics } from "../../metrics.ts";
import type { NetlinkEvent } from "../../netlink/mod.ts";
import type { Lease } from "../../subnet/lease.ts";
import type { Backend } from "../backend.ts";
import { ReconcileLoop } from "./loop.ts";

function countingBackend(peerState: "programmed" | "error" = "programmed"): Backend & { runs: number } {
  const b = {
    type: "vxlan" as const,
    mtu: 1450,
    runs: 0,
    leaseFields: () => ({ backendType: "vxlan", backendData: null }),
    activate: () => Promise.resolve(),
    reconcile() {
      b.runs++;
      const peer = peerState === "error"
        ? { state: "error" as const, reason: "no route to the peer" }
        : { state: "programmed" as const, via: "tunnel" as const };
      return Promise.resolve({ added: 0, removed: 0, errors: 0, peers: new Map([["10.1.0.0-24", peer]]) });
    },
    teardown: () => Promise.resolve(),
    [Symbol.asyncDispose]: () => Promise.resolve(),
  };
  return b as unknown as Backend & { runs: number };
}

/** A subscription that yields nothing until `end()` is called. */
function silentMonitor(): AsyncIterable<NetlinkEvent> & { close(): void; end(): void } {
  let finish: () => void = () => {};
  const ended = new Promise<void>((r) => (finish = r));
  return {
    close: () => finish(),
    end: () => finish(),
    [Symbol.asyncIterator]: () => ({
      next: async (): Promise<IteratorResult<NetlinkEvent>> => {
        await ended;
        return { done: true, value: undefined };
      },
    }),
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Runs a loop with a 40 ms short timer and a one-minute quiet one (or the timing in `options`); `stop()` aborts
 * it and waits.
 */
function startLoop(
  backend: Backend,
  monitor?: AsyncIterable<NetlinkEvent> & { close(): void },
  options: { readonly resyncMs?: number; readonly debounceMs?: number } = {},
): { loop: ReconcileLoop; stop(): Promise<void> } {
  const loop = new ReconcileLoop({
    backend,
    source: { snapshot: new Map(), lease: {} as Lease },
    logger: memoryLogger(),
    metrics: agentMetrics(),
    resyncMs: 40,
    quietResyncMs: 60_000,
    ...options,
    ...(monitor ? { openMonitor: () => monitor } : {}),
  });
  const abort = new AbortController();
  const running = loop.run(abort.signal);
  return {
    loop,
    async stop() {
      abort.abort();
      await running;
    },
  };
}

Deno.test("reconcile loop: a live subscription quiets the timer; its end brings the short timer back at once", async () => {
  const backend = countingBackend();
  const monitor = silentMonitor();
  const loop = startLoop(backend, monitor);
  try {
    await sleep(300);
    assert.equal(backend.runs, 1, "only the first run while events would bring every change");
    monitor.end();
    await sleep(20);
    assert.equal(backend.runs, 2, "a run at once when the subscription ends");
    await sleep(300);
    assert(backend.runs >= 4, `every 40 ms without a subscription, got ${backend.runs} runs`);
  } finally {
    await loop.stop();
  }
});

Deno.test("reconcile loop: without a subscription the short timer runs from the start", async () => {
  const backend = countingBackend();
  const loop = startLoop(backend);
  await sleep(300);
  await loop.stop();
  assert(backend.runs >= 3, `every 40 ms, got ${backend.runs} runs`);
});

Deno.test("reconcile loop: a peer in error keeps the short timer even with a live subscription", async () => {
  const backend = countingBackend("error");
  const loop = startLoop(backend, silentMonitor());
  await sleep(300);
  await loop.stop();
  assert(backend.runs >= 3, `an unreachable peer is retried every 40 ms, got ${backend.runs} runs`);
});

/** A subscription whose events the test pushes. */
function pushMonitor(): AsyncIterable<NetlinkEvent> & { close(): void; push(ev: NetlinkEvent): void } {
  const queue: NetlinkEvent[] = [];
  let wake: (() => void) | undefined;
  let closed = false;
  return {
    close() {
      closed = true;
      wake?.();
    },
    push(ev) {
      queue.push(ev);
      wake?.();
    },
    async *[Symbol.asyncIterator]() {
      while (!closed) {
        const ev = queue.shift();
        if (ev) yield ev;
        else await new Promise<void>((r) => (wake = r));
      }
    },
  };
}

Deno.test("reconcile loop: only a lease change with a live subscription may skip reading the kernel", async () => {
  const modes: (boolean | undefined)[] = [];
  const backend = {
    ...countingBackend(),
    reconcile(_s: unknown, _o: unknown, options?: { leasesOnly?: boolean }) {
      modes.push(options?.leasesOnly);
      return Promise.resolve({ added: 0, removed: 0, errors: 0, peers: new Map() });
    },
    classifyEvent: () => "reconcile" as const,
  } as unknown as Backend;
  const monitor = pushMonitor();
  // The default 10 s timer: no resync may run between the triggers.
  const { loop, stop } = startLoop(backend, monitor, { resyncMs: 10_000, debounceMs: 1 });
  const settle = async (runs: number) => {
    for (let i = 0; i < 100 && modes.length < runs; i++) await sleep(5);
    assert.equal(modes.length, runs);
  };
  try {
    await settle(1);
    assert.equal(modes[0], false, "the first run reads the kernel");
    loop.trigger("leases");
    await settle(2);
    assert.equal(modes[1], true, "a lease change alone takes the plan's difference");
    monitor.push({ kind: "overrun" });
    await settle(3);
    assert.equal(modes[2], false, "an event reads the kernel");
    loop.trigger("leases");
    loop.trigger();
    await settle(4);
    assert.equal(modes[3], false, "a lease change coalesced with anything else reads the kernel");
    monitor.close();
    await settle(5);
    assert.equal(modes[4], false, "the subscription's end reads the kernel");
    loop.trigger("leases");
    await settle(6);
    assert.equal(modes[5], false, "without a subscription every run reads the kernel");
  } finally {
    await stop();
  }
});
