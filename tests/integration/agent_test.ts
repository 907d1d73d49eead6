/**
 * `flannel-lab agent` as a process: each node a network namespace on a switch, etcd in its own namespace.
 */
import assert from "node:assert/strict";
import {
  etcdLeases,
  type MiniLab,
  type MiniNode,
  readIfExists,
  startMiniLab,
  waitFor,
} from "../helpers/mini_lab.ts";
import { run } from "../../cli/process/mod.ts";
import { uniqueName } from "../helpers/tmpdir.ts";

const HOSTGW = '{"Network":"10.244.0.0/16","Backend":{"Type":"host-gw"}}';
const MOD = new URL("../../mod.ts", import.meta.url).pathname;

async function lab(nodes: number, networkConfig: string | undefined = HOSTGW): Promise<MiniLab> {
  return await startMiniLab({ prefix: uniqueName(), nodes, ...(networkConfig ? { networkConfig } : {}) });
}

async function subnetEnv(node: MiniNode, timeoutMs = 20_000): Promise<string> {
  return await waitFor(`${node.name}'s subnet.env`, () => readIfExists(`${node.dir}/subnet.env`), timeoutMs)
    .catch(async (error) => {
      throw new Error(`${error.message}\n${await readIfExists(`${node.dir}/agent.log`)}`);
    });
}

function envValue(env: string, key: string): string {
  const line = env.split("\n").find((l) => l.startsWith(`${key}=`));
  assert.ok(line, `${key} missing from\n${env}`);
  return line.slice(key.length + 1);
}

Deno.test("agent: two agents get distinct subnets and write upstream's subnet.env", async () => {
  await using l = await lab(2);
  for (const n of l.nodes) await l.startAgent(n, ["--ip-masq"]);
  const [a, b] = await Promise.all(l.nodes.map((n) => subnetEnv(n)));
  for (const env of [a!, b!]) {
    assert.match(
      env,
      /^FLANNEL_NETWORK=10\.244\.0\.0\/16\nFLANNEL_SUBNET=10\.244\.\d+\.1\/24\nFLANNEL_MTU=1500\nFLANNEL_IPMASQ=true\n$/,
    );
  }
  assert.notEqual(envValue(a!, "FLANNEL_SUBNET"), envValue(b!, "FLANNEL_SUBNET"));
  const stat = await Deno.stat(`${l.nodes[0]!.dir}/subnet.env`);
  assert.equal(stat.mode! & 0o777, 0o644);
  const leases = await etcdLeases(l);
  assert.equal(leases.size, 2);
  const values = [...leases.values()].sort();
  assert.deepEqual(values, [
    '{"PublicIP":"192.168.77.1","PublicIPv6":null,"BackendType":"host-gw"}',
    '{"PublicIP":"192.168.77.2","PublicIPv6":null,"BackendType":"host-gw"}',
  ]);
});

Deno.test("agent: SIGTERM exits 0 and a restarted agent gets the same subnet", async () => {
  await using l = await lab(1);
  const node = l.nodes[0]!;
  const agent = await l.startAgent(node);
  const first = envValue(await subnetEnv(node), "FLANNEL_SUBNET");
  const status = await agent.stop("SIGTERM");
  assert.equal(status.code, 0);
  assert.match(await Deno.readTextFile(`${node.dir}/agent.log`), /Exiting cleanly/);
  // Remove subnet.env too: the lease carrying our PublicIP alone must bring the subnet back.
  await Deno.remove(`${node.dir}/subnet.env`);
  await l.startAgent(node);
  assert.equal(envValue(await subnetEnv(node), "FLANNEL_SUBNET"), first);
});

Deno.test("agent: a malformed network config exits 1 with the precise error", async () => {
  await using l = await lab(1, '{"Network":"10.244.0.0/16","SubnetLen":31,"Backend":{"Type":"host-gw"}}');
  const node = l.nodes[0]!;
  const agent = await l.startAgent(node);
  const status = await Promise.race([
    agent.status,
    new Promise<never>((_, r) => setTimeout(() => r(new Error("agent did not exit")), 20_000)),
  ]);
  assert.equal(status.code, 1);
  const log = await Deno.readTextFile(`${node.dir}/agent.log`);
  assert.match(log, /SubnetLen/);
  assert.match(log, /31/);
  assert.doesNotMatch(log, /^\s+at /m, "an expected failure prints no stack trace");
});

Deno.test("agent: etcd unreachable at start keeps retrying with a log line and exits on SIGTERM", async () => {
  await using l = await lab(1);
  const node = l.nodes[0]!;
  await l.etcd.stop();
  const agent = await l.startAgent(node);
  await waitFor("a retry log line", async () => {
    const log = (await readIfExists(`${node.dir}/agent.log`)) ?? "";
    return /etcd/i.test(log) && /(unreachable|retrying|Waiting)/i.test(log) ? true : undefined;
  }, 20_000);
  await l.etcd.start();
  await subnetEnv(node, 30_000);
  assert.equal((await agent.stop("SIGTERM")).code, 0);
});

Deno.test("agent: /healthz answers at once and /readyz once the subnet file is written", async () => {
  await using l = await lab(1);
  const node = l.nodes[0]!;
  await l.startAgent(node, ["--healthz-ip=127.0.0.1", "--healthz-port=8471"]);
  await subnetEnv(node);
  const fetchIn = async (path: string) => {
    const script =
      `const r = await fetch("http://127.0.0.1:8471${path}"); console.log(r.status, await r.text());`;
    return (await node.ns.exec([Deno.execPath(), "eval", script])).stdout.trim();
  };
  assert.equal(await fetchIn("/healthz"), "200 flanneld is running");
  assert.equal(await fetchIn("/readyz"), "200 flanneld is ready");
  const status = JSON.parse((await fetchIn("/status")).slice(4));
  assert.equal(status.backend, "host-gw");
  assert.match(status.lease.subnet, /^10\.244\.\d+\.0\/24$/);
  assert.equal(await fetchIn("/nope"), "404 404 page not found");
});

Deno.test("agent: an unknown flag is an error with a hint, not upstream's silent exit 0", async () => {
  const out = await run([Deno.execPath(), "run", "-A", MOD, "agent", "--etcd-endpoint=http://x"], {
    check: false,
  });
  assert.notEqual(out.code, 0);
  assert.match(out.stderr, /etcd-endpoint/);
  assert.match(out.stderr, /etcd-endpoints/, "the hint names the closest flag");
});
