/**
 * The mini lab's topology resolves like any containerlab file, with the shape, addresses, interface names and
 * MTU the integration tests rely on. Pure: nothing is deployed.
 *
 * @module
 */
import assert from "node:assert/strict";
import { longName } from "../../harness/topology/model.ts";
import { resolveTopology } from "../../harness/topology/resolve.ts";
import { miniLabTopology } from "./mini_lab.ts";

function resolve(shape: Parameters<typeof miniLabTopology>[0]) {
  return resolveTopology(`/tmp/${shape.name}.clab.yml`, miniLabTopology(shape));
}

Deno.test("miniLabTopology: one switch, etcd at .250, node i at .i on eth1, links at the default MTU 1500", () => {
  const topo = resolve({ name: "flt000001", nodes: 3 });
  assert.deepEqual(topo.nodes.map((n) => `${n.name}:${n.role}`), [
    "swa:switch",
    "etcd:etcd",
    "n1:node",
    "n2:node",
    "n3:node",
  ]);
  assert.equal(topo.nodes.find((n) => n.role === "etcd")?.etcdAddress, "192.168.77.250");
  for (const i of [1, 2, 3]) {
    const n = topo.nodes.find((x) => x.name === `n${i}`)!;
    assert.equal(n.agentIface, "eth1");
    assert.deepEqual(n.addresses, { eth1: [`192.168.77.${i}/24`] });
  }
  assert.ok(topo.links.every((l) => l.mtu === 1500 && l.b.node === "swa" && l.b.iface === l.a.node));
  assert.deepEqual(topo.nodes[0]!.execLines.slice(-4), [
    "ip link set etcd master br0",
    "ip link set n1 master br0",
    "ip link set n2 master br0",
    "ip link set n3 master br0",
  ]);
  assert.equal(longName(topo, "n1"), "clab-flt000001-n1");
});

Deno.test("miniLabTopology: split puts even nodes on 192.168.78.0/24 behind a forwarding router, routes both ways", () => {
  const topo = resolve({ name: "flt000002", nodes: 2, split: true, mtu: 1400 });
  const node = (name: string) => topo.nodes.find((n) => n.name === name)!;
  assert.equal(node("router").role, "router");
  assert.equal(node("router").sysctls["net.ipv4.ip_forward"], "1");
  assert.deepEqual(node("router").addresses, { eth1: ["192.168.77.254/24"], eth2: ["192.168.78.254/24"] });
  assert.deepEqual(node("n1").execLines, [
    "ip addr add 192.168.77.1/24 dev eth1",
    "ip route add 192.168.78.0/24 via 192.168.77.254",
  ]);
  assert.deepEqual(node("n2").execLines, [
    "ip addr add 192.168.78.2/24 dev eth1",
    "ip route add 192.168.77.0/24 via 192.168.78.254",
  ]);
  assert.ok(node("etcd").execLines.includes("ip route add 192.168.78.0/24 via 192.168.77.254"));
  const n2 = topo.links.find((l) => l.a.node === "n2")!;
  assert.equal(n2.b.node, "swb");
  assert.ok(topo.links.every((l) => l.mtu === 1400));
});
