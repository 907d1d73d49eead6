/**
 * The host-gw backend in real namespaces: upstream's routes on one switch with plain IP on the wire; across a
 * router, a clear per-peer error (log, /metrics, /status) and no broken route, while reachable peers work.
 */
import assert from "node:assert/strict";
import {
  agentLog,
  capture,
  fetchIn,
  type LabNode,
  ping,
  routes,
  startDataLab,
  waitFor,
  waitPing,
} from "../helpers/backend_lab.ts";

const HOSTGW = '{"Network":"10.244.0.0/16","Backend":{"Type":"host-gw"}}';
const HEALTHZ = ["--healthz-ip=127.0.0.1", "--healthz-port=8471"];

function flannelRoutes(rs: Awaited<ReturnType<typeof routes>>) {
  return rs.filter((r) => r.dst.startsWith("10.244.") && r.dev === "eth1")
    .map((r) => ({ dst: r.dst, gateway: r.gateway, dev: r.dev, flags: r.flags }))
    .sort((a, b) => a.dst.localeCompare(b.dst));
}

Deno.test("host-gw: nodes on one switch get a route via each peer and pods talk in plain IP", async () => {
  await using lab = await startDataLab({ nodes: 3, config: HOSTGW });
  const nodes = lab.nodes as [LabNode, LabNode, LabNode];
  for (const n of nodes) {
    const want = nodes.filter((p) => p !== n)
      .map((p) => ({ dst: p.subnet, gateway: p.node.ip, dev: "eth1", flags: [] as string[] }))
      .sort((a, b) => a.dst.localeCompare(b.dst));
    await waitFor(`${n.node.name}'s host-gw routes`, async () => {
      assert.deepEqual(flannelRoutes(await routes(n)), want);
      return true;
    }, 20_000);
    assert.equal(
      (await n.node.ns.ip(["link", "show", "flannel.1"], { check: false })).code,
      1,
      "host-gw makes no device",
    );
  }
  const [a, b] = nodes;
  await waitPing(lab, a, b.podIp);
  // The largest packet that fits the underlay's 1500 crosses with DF; one byte more does not.
  assert.ok((await ping(lab, a, b.podIp, { size: 1472, df: true })).ok);
  assert.ok(!(await ping(lab, a, b.podIp, { size: 1473, df: true, count: 2 })).ok);
  const lines = await capture(a, ["icmp", "or", "udp"], () => ping(lab, a, b.podIp, { count: 2 }));
  assert.ok(lines.some((l) => l.includes(`${a.podIp} > ${b.podIp}: ICMP echo request`)), lines.join("\n"));
  assert.ok(!lines.some((l) => l.includes(".8472: ")), "no encapsulation");
});

Deno.test("host-gw: a peer behind a router gets a per-peer error, no route, and the others keep working", async () => {
  // n1, n3 on 192.168.77.0/24; n2 on 192.168.78.0/24 behind the router.
  await using lab = await startDataLab({ nodes: 3, config: HOSTGW, split: true, flags: HEALTHZ });
  const [a, b, c] = lab.nodes as [LabNode, LabNode, LabNode];
  await waitPing(lab, a, c.podIp);
  const rs = flannelRoutes(await routes(a));
  assert.deepEqual(rs, [{ dst: c.subnet, gateway: c.node.ip, dev: "eth1", flags: [] }], "no route toward n2");
  assert.ok(!(await routes(a)).some((r) => r.dst === b.subnet), "nothing at all for n2's subnet");
  assert.ok(!(await ping(lab, a, b.podIp)).ok);

  const expected = `host-gw needs peer ${b.subnet} (${b.node.ip}) on a directly connected subnet of eth1: ` +
    `the kernel reaches ${b.node.ip} through the gateway 192.168.77.254; use vxlan or DirectRouting`;
  await waitFor(
    "the per-peer error in n1's log",
    async () => (await agentLog(a.node)).includes(expected) || undefined,
  );

  const status = JSON.parse((await fetchIn(a, "http://127.0.0.1:8471/status")).body);
  const peer = status.peers.find((p: { subnet: string }) => p.subnet === b.subnet);
  assert.equal(peer.state, "error");
  assert.equal(peer.reason, expected);
  assert.equal(status.peers.find((p: { subnet: string }) => p.subnet === c.subnet).state, "programmed");

  const metrics = (await fetchIn(a, "http://127.0.0.1:8471/metrics")).body;
  const key = b.subnet.replace("/", "-");
  assert.match(metrics, new RegExp(`flannel_peer_errors_total\\{backend="host-gw",peer="${key}"\\} 1\\n`));
  assert.match(metrics, /flannel_peers\{backend="host-gw",state="error"\} 1\n/);
  assert.match(metrics, /flannel_peers\{backend="host-gw",state="programmed"\} 1\n/);

  // The error is logged once per change, not once per resync: trigger more reconciles with lease churn.
  await lab.lab.etcd.ctl([
    "put",
    `${lab.lab.etcdPrefix}/subnets/10.244.250.0-24`,
    '{"PublicIP":"192.168.77.99","PublicIPv6":null,"BackendType":"host-gw"}',
  ]);
  await waitFor(
    "the extra route",
    async () => (await routes(a)).some((r) => r.dst === "10.244.250.0/24") || undefined,
  );
  const count = (await agentLog(a.node)).split(expected).length - 1;
  assert.equal(count, 1, "logged once");

  // Make n2 directly reachable (a second address on n1's LAN side): the peer recovers on the topology event.
  await b.node.ns.ip(["route", "del", "192.168.77.0/24"]);
  await a.node.ns.ip(["route", "del", "192.168.78.0/24"]);
  await a.node.ns.ip(["addr", "add", "192.168.78.201/24", "dev", "eth1"]);
  // The router bridges nothing, so n2 is still not on n1's wire: what matters is that the kernel now calls it
  // directly connected and the agent retries. It adds the route and reports the peer programmed.
  await waitFor(
    "n1's route toward n2 after the topology change",
    async () => (await routes(a)).some((r) => r.dst === b.subnet && r.gateway === b.node.ip) || undefined,
    15_000,
  );
});
