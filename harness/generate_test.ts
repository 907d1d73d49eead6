/** The scale-lab generator: what it writes resolves and parses, is laid out as documented, and bad sizes are refused. */
import assert from "node:assert/strict";
import { dynamicNeighbours, generateScaleLab, scaleLabProblems } from "./generate.ts";
import { parseScenario } from "./scenario/parse.ts";
import { resolveTopology } from "./topology/mod.ts";

Deno.test("generate: a 50-node lab over 5 subnets resolves, parses, and places nodes round-robin", () => {
  const { topology, scenario } = generateScaleLab({
    nodes: 50,
    subnets: 5,
    backend: "vxlan",
    pods: 1,
    name: "scale-50",
  });
  const topo = resolveTopology("/x/scale-50.clab.yml", topology);
  const agents = topo.nodes.filter((n) => n.role === "node");
  assert.equal(agents.length, 50);
  assert.equal(topo.nodes.filter((n) => n.role === "switch").length, 5);
  assert.deepEqual(topo.nodes.find((n) => n.name === "r1")!.internet, "203.0.113.1");
  // n1 on segment 1 as host 1, n7 on segment 2 as host 2, n50 on segment 5 as host 10.
  const addr = (name: string) => topo.nodes.find((n) => n.name === name)!.addresses["eth1"]?.[0];
  assert.deepEqual([addr("n1"), addr("n7"), addr("n50")], [
    "192.168.101.1/24",
    "192.168.102.2/24",
    "192.168.105.10/24",
  ]);
  // Every switch port is one link; 50 nodes + etcd + 5 router ports.
  assert.equal(topo.links.length, 56);
  const sc = parseScenario("/x/scale-50.scenario.yml", scenario, topo);
  assert.deepEqual(sc.steps.map((s) => s.action.kind), [
    "wait",
    "leases",
    "kernel",
    "kernel",
    "connectivity",
  ]);
  assert.deepEqual(sc.steps[1]!.expect, { count: 50, distinct: true });
  assert.equal(sc.backend, "vxlan");
});

Deno.test("generate: host-gw and pod-less labs are written too; the scenario skips the matrix without pods", () => {
  const { topology, scenario } = generateScaleLab({
    nodes: 4,
    subnets: 1,
    backend: "host-gw",
    pods: 0,
    name: "hg",
  });
  const topo = resolveTopology("/x/hg.clab.yml", topology);
  const sc = parseScenario("/x/hg.scenario.yml", scenario, topo);
  assert.equal(sc.backend, "host-gw");
  assert(!sc.steps.some((s) => s.action.kind === "connectivity"));
});

Deno.test("generate: sizes that cannot be laid out are refused with what to change", () => {
  assert.deepEqual(scaleLabProblems({ nodes: 1, subnets: 0, backend: "vxlan", pods: 9, name: "Bad Name" }), [
    "--nodes must be 2 … 1000, not 1",
    "--subnets must be 1 … 20, not 0",
    "--pods must be 0 … 8, not 9",
    '--name must be lower-case letters, digits and dashes, not "Bad Name"',
  ]);
  assert.deepEqual(scaleLabProblems({ nodes: 900, subnets: 2, backend: "vxlan", pods: 1, name: "x" }), [
    "900 nodes over 2 subnets puts more than 249 on one: use --subnets 4 or more",
  ]);
  assert.match(
    scaleLabProblems({ nodes: 2, subnets: 1, backend: "ipip" as "vxlan", pods: 1, name: "x" })[0]!,
    /--backend must be vxlan, host-gw or udp, not "ipip"/,
  );
  assert.throws(
    () => generateScaleLab({ nodes: 1, subnets: 1, backend: "vxlan", pods: 1, name: "x" }),
    /--nodes/,
  );
});

Deno.test("generate: the ARP estimate counts same-segment peers, the router, etcd and pods", () => {
  // 2 nodes on one segment with etcd: each node: its peer, the router, etcd (3); etcd: both nodes (2); the
  // router: both nodes and etcd (3); pods: 2 × 2.
  assert.equal(dynamicNeighbours({ nodes: 2, subnets: 1, pods: 1 }), 3 + 3 + 2 + 3 + 4);
  assert.equal(dynamicNeighbours({ nodes: 100, subnets: 5, pods: 1 }), 2341, "overflows the default 1,024");
  assert.equal(dynamicNeighbours({ nodes: 100, subnets: 20, pods: 1 }), 811, "fits");
});
