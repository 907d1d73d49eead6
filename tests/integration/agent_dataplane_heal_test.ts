/**
 * The agent's data plane over time: self-healing (entries and the device deleted by hand), peers that leave
 * (also while the agent is down), a peer's VTEP MAC changing, restarts that keep subnet and MAC without
 * interrupting traffic, /metrics, and `--teardown`.
 */
import assert from "node:assert/strict";
import { run } from "../../cli/process/mod.ts";
import {
  agentLog,
  type DataLab,
  deleteLease,
  fdbs,
  fetchIn,
  type LabNode,
  linkInfo,
  neighs,
  readIfExists,
  routes,
  startDataLab,
  waitFor,
  waitPing,
} from "../helpers/backend_lab.ts";

const VXLAN = '{"Network":"10.244.0.0/16","Backend":{"Type":"vxlan"}}';
const HEALTHZ = ["--healthz-ip=127.0.0.1", "--healthz-port=8471"];
const MOD = new URL("../../mod.ts", import.meta.url).pathname;

async function mac(n: LabNode): Promise<string> {
  return (await linkInfo(n, "flannel.1"))!.address as string;
}

/** The vxlan entries `n` holds for `peer`, as a comparable string. */
async function entriesFor(n: LabNode, peer: LabNode): Promise<string> {
  const r = (await routes(n)).filter((x) => x.dst === peer.subnet).map((x) => `${x.gateway} ${x.dev}`);
  const ne = (await neighs(n, "flannel.1")).filter((x) => x.dst === peer.subnetAddr).map((x) => x.lladdr);
  const f = (await fdbs(n, "flannel.1")).filter((x) => x.dst === peer.node.ip).map((x) => x.mac);
  return JSON.stringify({ r, ne, f });
}

async function expectedFor(peer: LabNode): Promise<string> {
  const m = await mac(peer);
  return JSON.stringify({ r: [`${peer.subnetAddr} flannel.1`], ne: [m], f: [m] });
}

/** Deletes something by hand and returns how long until `restored` holds again (polling as fast as `ip` runs). */
async function timeToHeal(
  what: string,
  remove: () => Promise<unknown>,
  restored: () => Promise<boolean>,
): Promise<number> {
  const started = performance.now();
  await remove();
  for (;;) {
    if (await restored()) return performance.now() - started;
    if (performance.now() - started > 10_000) throw new Error(`${what} did not come back within 10 s`);
  }
}

function report(what: string, ms: number): void {
  // deno-lint-ignore no-console
  console.log(`  ${what}: restored after ${ms.toFixed(0)} ms`);
}

async function ready(lab: DataLab): Promise<[LabNode, LabNode, LabNode]> {
  const nodes = lab.nodes as [LabNode, LabNode, LabNode];
  for (const n of nodes) {
    for (const p of nodes) {
      if (p === n) continue;
      const want = await expectedFor(p);
      await waitFor(
        `${n.node.name}'s entries for ${p.node.name}`,
        async () => (await entriesFor(n, p)) === want || undefined,
        20_000,
      );
    }
  }
  return nodes;
}

Deno.test("heal: entries and the vxlan device deleted by hand come back at once, the device with its MAC", async () => {
  await using lab = await startDataLab({ nodes: 3, config: VXLAN, flags: HEALTHZ });
  const [a, b] = await ready(lab);
  const want = await expectedFor(b);
  const healed = () => entriesFor(a, b).then((e) => e === want);

  const tRoute = await timeToHeal("route", () => a.node.ns.ip(["route", "del", b.subnet]), healed);
  const tNeigh = await timeToHeal(
    "neighbour",
    () => a.node.ns.ip(["neigh", "del", b.subnetAddr, "dev", "flannel.1"]),
    healed,
  );
  const tFdb = await timeToHeal(
    "FDB entry",
    async () => a.node.ns.exec(["bridge", "fdb", "del", await mac(b), "dev", "flannel.1", "dst", b.node.ip]),
    healed,
  );
  report("route", tRoute);
  report("neighbour", tNeigh);
  report("FDB entry", tFdb);
  for (const t of [tRoute, tNeigh, tFdb]) assert.ok(t < 1000, `healed in ${t} ms, want well under a second`);

  const before = await mac(a);
  const tDev = await timeToHeal("flannel.1", () => a.node.ns.ip(["link", "del", "flannel.1"]), async () => {
    const link = await linkInfo(a, "flannel.1");
    return link !== undefined && (await entriesFor(a, b)) === want;
  });
  report("flannel.1 with its peers", tDev);
  assert.equal(await mac(a), before, "the recreated device has the same MAC");
  await waitPing(lab, a, b.podIp);
  await waitPing(lab, b, a.podIp);

  const metrics = (await fetchIn(a, "http://127.0.0.1:8471/metrics")).body;
  assert.match(metrics, /flannel_device_recreations_total\{backend="vxlan"\} 1\n/);
  assert.match(metrics, /flannel_leases_known 3\n/);
  assert.match(metrics, /flannel_reconcile_runs_total\{backend="vxlan"\} \d+\n/);
  assert.match(metrics, /flannel_reconcile_duration_seconds_count\{backend="vxlan"\} \d+\n/);
  assert.match(metrics, /flannel_kernel_entries_added_total\{backend="vxlan"\} \d+\n/);
  assert.match(metrics, /flannel_etcd_watch_restarts_total 0\n/);
  const status = JSON.parse((await fetchIn(a, "http://127.0.0.1:8471/status")).body);
  assert.equal(status.dataPlane.backend, "vxlan");
  assert.equal(status.dataPlane.leaseFields.backendData.VtepMAC, before);
  assert.deepEqual(status.peers.map((p: { state: string; via: string }) => [p.state, p.via]), [
    ["programmed", "tunnel"],
    ["programmed", "tunnel"],
  ]);
});

Deno.test("heal: a peer that leaves is cleaned, also while the agent is down; a changed MAC leaves no stale FDB", async () => {
  await using lab = await startDataLab({ nodes: 3, config: VXLAN });
  const [a, b, c] = await ready(lab);

  // c leaves while a runs.
  await c.agent.stop("SIGTERM");
  await deleteLease(lab, c.subnet);
  const gone = JSON.stringify({ r: [], ne: [], f: [] });
  for (const n of [a, b]) {
    await waitFor(
      `${n.node.name} forgets n3`,
      async () => (await entriesFor(n, c)) === gone || undefined,
      10_000,
    );
  }

  // c comes back, then b leaves while a's agent is down: a's restart removes b's entries (upstream keeps them).
  c.agent = await lab.lab.startAgent(c.node);
  await ready(lab);
  await a.agent.stop("SIGTERM");
  await b.agent.stop("SIGTERM");
  await deleteLease(lab, b.subnet);
  a.agent = await lab.lab.startAgent(a.node);
  await waitFor(
    "n1 forgets n2 after its restart",
    async () => (await entriesFor(a, b)) === gone || undefined,
    20_000,
  );
  b.agent = await lab.lab.startAgent(b.node);
  await ready(lab);

  // b's VTEP MAC changes behind its agent's back: b re-publishes, a and c follow with no stale FDB entry.
  const old = await mac(b);
  const fresh = "02:aa:bb:cc:dd:ee";
  await b.node.ns.ip(["link", "set", "flannel.1", "address", fresh]);
  for (const n of [a, c]) {
    await waitFor(`${n.node.name} follows n2's new MAC`, async () => {
      const f = await fdbs(n, "flannel.1");
      const ne = await neighs(n, "flannel.1");
      return f.some((x) => x.mac === fresh && x.dst === b.node.ip) && !f.some((x) => x.mac === old) &&
          ne.some((x) => x.dst === b.subnetAddr && x.lladdr === fresh) || undefined;
    }, 15_000);
  }
  await waitPing(lab, a, b.podIp);
  assert.match(await agentLog(b.node), /MAC changed behind our back/);
});

Deno.test("restart: SIGTERM leaves the data plane, a restart keeps subnet and MAC and a running ping loses nothing", async () => {
  await using lab = await startDataLab({ nodes: 2, config: VXLAN });
  const [a, b] = lab.nodes as [LabNode, LabNode];
  await waitPing(lab, a, b.podIp);
  const macBefore = await mac(b);
  const pinger = lab.podExec(a, ["ping", "-n", "-i", "0.05", "-c", "80", "-W", "1", b.podIp], false);
  await new Promise((r) => setTimeout(r, 500));
  const code = (await b.agent.stop("SIGTERM")).code;
  assert.equal(code, 0);
  assert.ok(await linkInfo(b, "flannel.1"), "flannel.1 stays after SIGTERM");
  b.agent = await lab.lab.startAgent(b.node);
  await waitFor(
    "n2's agent to re-register",
    async () =>
      (await readIfExists(`${b.node.dir}/agent.log`))?.split("Wrote subnet file").length === 3 || undefined,
    20_000,
  );
  const out = await pinger;
  assert.match(out.stdout, / 0% packet loss/, out.stdout);
  assert.equal(await mac(b), macBefore);
  assert.doesNotMatch(await agentLog(b.node), /Replacing the existing/);
  const env = await Deno.readTextFile(`${b.node.dir}/subnet.env`);
  assert.match(env, new RegExp(`FLANNEL_SUBNET=${b.subnetAddr.replace(/\.0$/, ".1")}/24`));
});

Deno.test("teardown: removes device, routes, rules and subnet.env, with etcd down too", async () => {
  await using lab = await startDataLab({ nodes: 2, config: VXLAN, flags: ["--ip-masq"] });
  const [a, b] = lab.nodes as [LabNode, LabNode];
  await waitPing(lab, a, b.podIp);
  await a.agent.stop("SIGTERM");
  assert.match((await a.node.ns.exec(["iptables-save"])).stdout, /FLANNEL-POSTRTG/);
  await lab.lab.etcd.stop();
  const out = await run([
    "ip",
    "netns",
    "exec",
    a.node.ns.name,
    Deno.execPath(),
    "run",
    "--quiet",
    "-A",
    "--unstable-net",
    MOD,
    "agent",
    "--teardown",
    `--etcd-endpoints=${lab.lab.etcd.endpoint}`,
    `--subnet-file=${a.node.dir}/subnet.env`,
  ], { check: false, timeoutMs: 60_000 });
  assert.equal(out.code, 0, out.stderr);
  assert.equal(await linkInfo(a, "flannel.1"), undefined);
  assert.ok(
    !(await routes(a)).some((r) => r.dst.startsWith("10.244.") && r.dst !== `${a.subnet}`),
    out.stderr,
  );
  const saved = (await a.node.ns.exec(["iptables-save"])).stdout;
  assert.doesNotMatch(saved, /FLANNEL/);
  assert.equal(await readIfExists(`${a.node.dir}/subnet.env`), undefined);
  // The pod's own connected route (not ours) is still there.
  assert.ok((await routes(a)).some((r) => r.dst === a.subnet && r.dev === "pod0"));
});
