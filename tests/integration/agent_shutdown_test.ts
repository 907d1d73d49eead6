/**
 * The agent ends promptly on SIGTERM and SIGINT with 10,000 vxlan leases in etcd: once ready, during
 * start-up, during a resync (the device deleted, so every peer is reprogrammed), and with etcd unreachable
 * (stopped while the agent runs, and down from the start).
 *
 * Everything runs in throwaway namespaces (a one-node mini lab); the leases are written straight to etcd in
 * transactions through its JSON gateway.
 */
import assert from "node:assert/strict";
import { type MiniLab, type MiniNode, readIfExists, startMiniLab, waitFor } from "../../harness/mini_lab.ts";
import type { Process } from "../../harness/process.ts";
import { uniqueName } from "../helpers/tmpdir.ts";

const LEASES = 10_000;
const LIMIT_MS = 2000;
const PREFIX = "/coreos.com/network";
const CONFIG = '{"Network":"10.0.0.0/8","SubnetLen":24,"Backend":{"Type":"vxlan","VNI":1}}';
const HEALTHZ = ["--healthz-ip=127.0.0.1", "--healthz-port=8471"];

const b64 = (s: string) => btoa(s);

/** The i-th synthetic peer: subnet `10.(1+i/256).(i%256).0/24`, a public IP in 100.64.0.0/10, a unique MAC. */
function peer(i: number): { key: string; value: string } {
  const subnet = `10.${1 + (i >> 8)}.${i & 255}.0`;
  const ip = i + 1;
  const publicIp = `100.${64 + (ip >> 16)}.${(ip >> 8) & 255}.${ip & 255}`;
  const hex = (n: number) => n.toString(16).padStart(2, "0");
  const mac = `02:00:00:00:${hex(i >> 8)}:${hex(i & 255)}`;
  return {
    key: `${PREFIX}/subnets/${subnet}-24`,
    value: JSON.stringify({
      PublicIP: publicIp,
      PublicIPv6: null,
      BackendType: "vxlan",
      BackendData: { VNI: 1, VtepMAC: mac },
    }),
  };
}

/** POSTs JSON to etcd's v3 gateway from inside the etcd namespace. */
async function gateway(lab: MiniLab, path: string, body: unknown): Promise<Record<string, unknown>> {
  const out = await lab.etcdNs.exec(
    ["curl", "-sS", "--fail", "--data-binary", "@-", `${lab.etcd.endpoint}${path}`],
    { stdin: JSON.stringify(body), timeoutMs: 30_000 },
  );
  return JSON.parse(out.stdout);
}

/** Writes `count` vxlan leases (with a 1 h etcd lease, as agents write them) in transactions of 128 puts. */
async function writeLeases(lab: MiniLab, count: number): Promise<void> {
  const grant = await gateway(lab, "/v3/lease/grant", { TTL: 3600 });
  const leaseId = grant.ID as string;
  const batch = 128; // etcd's default --max-txn-ops
  const jobs: Promise<unknown>[] = [];
  for (let start = 0; start < count; start += batch) {
    const success = [];
    for (let i = start; i < Math.min(count, start + batch); i++) {
      const { key, value } = peer(i);
      success.push({ request_put: { key: b64(key), value: b64(value), lease: leaseId } });
    }
    jobs.push(gateway(lab, "/v3/kv/txn", { success }));
    if (jobs.length >= 8) await Promise.all(jobs.splice(0));
  }
  await Promise.all(jobs);
  const range = await gateway(lab, "/v3/kv/range", {
    key: b64(`${PREFIX}/subnets/`),
    range_end: b64(`${PREFIX}/subnets0`),
    count_only: true,
  });
  assert.equal(Number(range.count), count, "all leases are in etcd");
}

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
    await writeLeases(lab, LEASES);
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
