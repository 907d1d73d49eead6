/**
 * The agent ends promptly on SIGTERM and SIGINT with 10,000 vxlan leases in etcd: once ready, during
 * start-up, during a resync (the device deleted, so every peer is reprogrammed), and with etcd unreachable
 * (stopped while the agent runs, and down from the start).
 *
 * Everything runs in throwaway namespaces (a one-node mini lab); the leases are written straight to etcd in
 * transactions through its JSON gateway.
 */
import assert from "node:assert/strict";
import { type MiniNode, readIfExists, startMiniLab, waitFor } from "../helpers/mini_lab.ts";
import type { Process } from "../../cli/process/mod.ts";
import { writeSyntheticLeases } from "../helpers/etcd_leases.ts";
import { uniqueName } from "../helpers/tmpdir.ts";

const LEASES = 10_000;
const LIMIT_MS = 2000;
const CONFIG = '{"Network":"10.0.0.0/8","SubnetLen":24,"Backend":{"Type":"vxlan","VNI":1}}';
const HEALTHZ = ["--healthz-ip=127.0.0.1", "--healthz-port=8471"];

async function log(node: MiniNode): Promise<string> {
  return (await readIfExists(`${node.dir}/agent.log`)) ?? "";
}

/** Log lines written since `from` (a length of the log). */
async function logSince(node: MiniNode, from: number): Promise<string> {
  return (await log(node)).slice(from);
}

async function readyz(node: MiniNode): Promise<boolean> {
  const out = await node.ns.exec(
    [
      "curl",
      "-s",
      "-o",
      "/dev/null",
      "-w",
      "%{http_code}",
      "--max-time",
      "2",
      "http://127.0.0.1:8471/readyz",
    ],
    { check: false, timeoutMs: 5000 },
  );
  return out.stdout === "200";
}

/** Sends `signal` and returns how long the agent took to exit, and its exit status. */
async function signalAndTime(
  agent: Process,
  signal: Deno.Signal,
): Promise<{ ms: number; status: Deno.CommandStatus | "timeout" }> {
  const started = performance.now();
  agent.kill(signal);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const status = await Promise.race([
    agent.status,
    new Promise<"timeout">((r) => (timer = setTimeout(() => r("timeout"), 10_000))),
  ]);
  clearTimeout(timer);
  const ms = performance.now() - started;
  if (status === "timeout") agent.kill("SIGKILL");
  return { ms, status };
}

async function assertPromptExit(
  what: string,
  node: MiniNode,
  agent: Process,
  signal: Deno.Signal,
  logFrom: number,
  watchdogOk = false,
): Promise<void> {
  const { ms, status } = await signalAndTime(agent, signal);
  // deno-lint-ignore no-console
  console.log(`  ${what}: ${signal} -> exit after ${ms.toFixed(0)} ms`);
  const text = await logSince(node, logFrom);
  if (status === "timeout") assert.fail(`${what}: still running 10 s after ${signal}\n${text.slice(-3000)}`);
  assert.ok(ms < LIMIT_MS, `${what}: exited after ${ms.toFixed(0)} ms, want < ${LIMIT_MS} ms`);
  assert.equal(status.signal, null, `${what}: killed by ${status.signal}`);
  assert.equal(status.code, 0, `${what}: exit code ${status.code}\n${text.slice(-3000)}`);
  assert.match(text, new RegExp(`Received ${signal}; shutting down`));
  assert.match(text, /Exiting cleanly/);
  if (watchdogOk) return;
  assert.doesNotMatch(
    text,
    /exiting anyway|exiting now/,
    `${what}: only the watchdog ended the agent\n${text.slice(-3000)}`,
  );
}

Deno.test({
  name:
    "shutdown: SIGTERM/SIGINT end the agent within 2 s with 10,000 leases (ready, start-up, resync, etcd down)",
  sanitizeResources: false,
  sanitizeOps: false,
}, async (t) => {
  const lab = await startMiniLab({ prefix: uniqueName(), nodes: 1, networkConfig: CONFIG });
  try {
    const node = lab.nodes[0]!;
    // Peers' public IPs (100.64.0.0/10) must be routable from the node, as they would be in a cluster.
    await node.ns.ip(["route", "add", "default", "via", "192.168.77.254", "dev", "eth1", "onlink"]);
    const t0 = performance.now();
    await writeSyntheticLeases(lab, LEASES);
    // deno-lint-ignore no-console
    console.log(`  wrote ${LEASES} leases in ${(performance.now() - t0).toFixed(0)} ms`);

    const start = async () => {
      const from = (await log(node)).length;
      return { from, agent: await lab.startAgent(node, HEALTHZ) };
    };
    const waitReady = async (from: number, agent: Process) => {
      const t1 = performance.now();
      let exited = false;
      agent.status.then(() => (exited = true));
      await waitFor("the agent to be ready", async () => {
        if (exited) {
          throw new Error(`the agent exited\n${(await logSince(node, from)).slice(-3000)}`);
        }
        return (await readyz(node)) || undefined;
      }, 120_000);
      // deno-lint-ignore no-console
      console.log(`  ready after ${(performance.now() - t1).toFixed(0)} ms`);
    };

    await t.step("SIGTERM once ready", async () => {
      const { from, agent } = await start();
      await waitReady(from, agent);
      assert.match(await logSince(node, from), /Wrote subnet file/);
      await assertPromptExit("ready", node, agent, "SIGTERM", from);
    });

    await t.step("SIGINT once ready", async () => {
      const { from, agent } = await start();
      await waitReady(from, agent);
      await assertPromptExit("ready (SIGINT)", node, agent, "SIGINT", from);
    });

    await t.step("SIGTERM during start-up, at several points", async () => {
      for (const delayMs of [300, 1000, 2500]) {
        const { from, agent } = await start();
        await new Promise((r) => setTimeout(r, delayMs));
        await assertPromptExit(`start-up +${delayMs} ms`, node, agent, "SIGTERM", from);
      }
    });

    await t.step("SIGTERM during the initial programming of the peers", async () => {
      const { from, agent } = await start();
      await waitFor(
        "the agent to acquire its lease",
        async () => /Acquired lease/.test(await logSince(node, from)) || undefined,
        60_000,
      );
      await assertPromptExit("initial reconcile", node, agent, "SIGTERM", from);
    });

    await t.step("SIGTERM during a resync (flannel.1 deleted: every peer is reprogrammed)", async () => {
      const { from, agent } = await start();
      await waitReady(from, agent);
      await node.ns.ip(["link", "del", "flannel.1"]);
      await new Promise((r) => setTimeout(r, 100));
      await assertPromptExit("resync", node, agent, "SIGTERM", from);
    });

    await t.step("SIGTERM with etcd stopped while the agent runs", async () => {
      const { from, agent } = await start();
      await waitReady(from, agent);
      await lab.etcd.stop();
      try {
        await new Promise((r) => setTimeout(r, 3000));
        await assertPromptExit("etcd stopped", node, agent, "SIGTERM", from);
      } finally {
        await lab.etcd.start();
      }
    });

    // Unreachable rather than down: etcd's packets are dropped, so calls hang until their deadline.
    const blackhole = (on: boolean) =>
      node.ns.exec(["iptables", "-w", on ? "-I" : "-D", "OUTPUT", "-d", "192.168.77.250", "-j", "DROP"]);

    await t.step("SIGTERM with etcd unreachable (packets dropped) while the agent runs", async () => {
      const { from, agent } = await start();
      await waitReady(from, agent);
      await blackhole(true);
      try {
        await new Promise((r) => setTimeout(r, 1500));
        await assertPromptExit("etcd unreachable", node, agent, "SIGTERM", from);
      } finally {
        await blackhole(false);
      }
    });

    await t.step("SIGTERM with etcd unreachable (packets dropped) from the start", async () => {
      await blackhole(true);
      try {
        const { from, agent } = await start();
        await waitFor(
          "the agent to open etcd",
          async () => /Using etcd/.test(await logSince(node, from)) || undefined,
          30_000,
        );
        await new Promise((r) => setTimeout(r, 1500));
        await assertPromptExit("etcd unreachable at start", node, agent, "SIGTERM", from);
      } finally {
        await blackhole(false);
      }
    });

    await t.step("SIGTERM and SIGINT with etcd down from the start", async () => {
      await lab.etcd.stop();
      try {
        for (const signal of ["SIGTERM", "SIGINT"] as const) {
          const { from, agent } = await start();
          await waitFor(
            "the agent to wait for etcd",
            async () => /Waiting for the network config/.test(await logSince(node, from)) || undefined,
            30_000,
          );
          await assertPromptExit(`etcd down at start`, node, agent, signal, from);
        }
      } finally {
        await lab.etcd.start();
      }
    });
  } finally {
    await lab[Symbol.asyncDispose]();
  }
});
