import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { resolveTopology } from "./mod.ts";
import { GOOD, problemsOf } from "./_testing.ts";

Deno.test("extended veth links keep MTU and MAC", () => {
  const t = resolveTopology(
    "/x/t.clab.yml",
    GOOD.replace(
      '- endpoints: ["n1:eth1", "etcd:eth1"]',
      "- type: veth\n      mtu: 1500\n      endpoints: [{node: n1, interface: eth1, mac: AA:C1:AB:00:00:01}, {node: etcd, interface: eth1}]",
    ),
  );
  assertEquals(t.links[0]!.mtu, 1500);
  assertEquals(t.links[0]!.a.mac, "aa:c1:ab:00:00:01");
});

Deno.test("links: an interface used twice, a small MTU and other link types are named with their field", () => {
  const twice = problemsOf(
    GOOD.replace(
      '- endpoints: ["n1:eth1", "etcd:eth1"]',
      '- endpoints: ["n1:eth1", "etcd:eth1"]\n    - endpoints: ["n1:eth1", "etcd:eth2"]',
    ),
  );
  assert(twice.includes('topology.links[1].endpoints[0]: interface "n1:eth1" is already used by'), twice);
  const mtu = problemsOf(
    GOOD.replace(
      '- endpoints: ["n1:eth1", "etcd:eth1"]',
      '- endpoints: ["n1:eth1", "etcd:eth1"]\n      mtu: 60',
    ),
  );
  assert(mtu.includes("topology.links[0].mtu: MTU must be a whole number ≥ 68, not 60"), mtu);
  const macvlan = problemsOf(
    GOOD.replace(
      '- endpoints: ["n1:eth1", "etcd:eth1"]',
      '- endpoints: ["n1:eth1", "etcd:eth1"]\n    - type: macvlan\n      endpoint: {node: n1, interface: eth2}\n      host-interface: eth9',
    ),
  );
  assert(macvlan.includes('link type "macvlan" is not supported'), macvlan);
});

Deno.test("links: the node's interfaces are its link ends in the order written", () => {
  const t = resolveTopology(
    "/x/t.clab.yml",
    GOOD.replace(
      '- endpoints: ["n1:eth1", "etcd:eth1"]',
      '- endpoints: ["n1:eth2", "etcd:eth2"]\n    - endpoints: ["etcd:eth1", "n1:eth1"]',
    ),
  );
  assertEquals(t.nodes.find((n) => n.name === "n1")!.interfaces, ["eth2", "eth1"]);
  assertEquals(t.links.map((l) => l.label), ["n1:eth2 <-> etcd:eth2", "etcd:eth1 <-> n1:eth1"]);
});
