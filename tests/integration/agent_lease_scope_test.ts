/**
 * An agent only routes subnets of its own network: leases outside Network, of another prefix length, or
 * overlapping our subnet install nothing and are reported in /status and /metrics, while a valid peer works.
 */
import assert from "node:assert/strict";
import { fetchIn, routes, startDataLab, waitFor, waitPing } from "../helpers/backend_lab.ts";

const VXLAN = '{"Network":"10.94.0.0/16","Backend":{"Type":"vxlan"}}';
const HEALTHZ = ["--healthz-ip=127.0.0.1", "--healthz-port=8471"];
const VALUE = JSON.stringify({
  PublicIP: "192.0.2.77",
  BackendType: "vxlan",
  BackendData: { VNI: 1, VtepMAC: "02:00:5e:00:53:01" },
});

Deno.test("lease scope: out-of-network, wrong-length and overlapping leases get no route; the valid peer works", async () => {
  await using lab = await startDataLab({ nodes: 2, config: VXLAN, flags: HEALTHZ });
  const [a, b] = lab.nodes;
  await waitPing(lab, a!, b!.podIp);
  const bad = ["10.95.1.0-24", "10.94.200.0-25", "10.94.0.0-16"];
  for (const key of bad) await lab.lab.etcd.ctl(["put", `${lab.lab.etcdPrefix}/subnets/${key}`, VALUE]);
  const status = await waitFor("a reports the three leases", async () => {
    const s = JSON.parse((await fetchIn(a!, "http://127.0.0.1:8471/status")).body);
    return s.peers.filter((p: { state: string }) => p.state === "error").length === 3 ? s : undefined;
  }, 10_000);
  const reasons = Object.fromEntries(
    status.peers.map((
      p: { subnet: string; state: string; reason?: string },
    ) => [p.subnet, p.reason ?? p.state]),
  );
  assert.match(reasons["10.95.1.0/24"], /outside Network 10\.94\.0\.0\/16/);
  assert.match(reasons["10.94.200.0/25"], /is a \/25, but SubnetLen is 24/);
  assert.match(reasons["10.94.0.0/16"], /overlaps our own subnet/);
  const dsts = (await routes(a!)).map((r) => r.dst);
  for (const d of ["10.95.1.0/24", "10.94.200.0/25", "10.94.0.0/16"]) {
    assert.ok(!dsts.includes(d), `no route ${d}`);
  }
  assert.ok(dsts.includes(b!.subnet), "the valid peer keeps its route");
  const metrics = (await fetchIn(a!, "http://127.0.0.1:8471/metrics")).body;
  assert.match(metrics, /flannel_leases_out_of_network\{backend="vxlan"\} 3\n/);
  await waitPing(lab, a!, b!.podIp);
});
