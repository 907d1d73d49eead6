import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { resolveTopology } from "./mod.ts";
import { GOOD, problemsOf } from "./_testing.ts";

Deno.test("resolveTopology checks roles: routers must forward, one etcd", () => {
  const r = GOOD.replace("n1: {group: g}", "n1: {group: g}\n    r1: {labels: {flannel-lab.role: router}}");
  assert(problemsOf(r).includes("ip_forward"));
  assert(problemsOf(GOOD.replace("flannel-lab.role: etcd", "flannel-lab.role: node")).includes("etcd"));
  assert(
    problemsOf(GOOD.replace("flannel-lab.role: etcd", "flannel-lab.rol: etcd")).includes("unknown label"),
  );
});

Deno.test("resolveTopology: one node may stand for the internet, with an address its exec lines add", () => {
  const router = (labels: string, exec: string) =>
    GOOD.replace(
      "n1: {group: g}",
      `n1: {group: g}\n    r1: {labels: {${labels}}, sysctls: {net.ipv4.ip_forward: 1}, exec: [${exec}]}`,
    );
  const t = resolveTopology(
    "/x/t.clab.yml",
    router(
      "flannel-lab.role: router, flannel-lab.internet: 203.0.113.1",
      "ip addr add 203.0.113.1/32 dev lo",
    ),
  );
  assertEquals(t.nodes.find((n) => n.name === "r1")!.internet, "203.0.113.1");
  const unset = problemsOf(
    router(
      "flannel-lab.role: router, flannel-lab.internet: 203.0.113.1",
      "ip addr add 10.0.0.254/24 dev eth1",
    ),
  );
  assert(unset.includes('"203.0.113.1" is not an address r1\'s exec lines add (10.0.0.254)'), unset);
  assert(unset.includes('add "ip addr add 203.0.113.1/32 dev lo"'), unset);
  assert(
    problemsOf(
      GOOD.replace("flannel-lab.role: etcd}", "flannel-lab.role: etcd, flannel-lab.internet: 10.0.0.9}"),
    )
      .includes("only a router or client can stand for the internet, not this etcd"),
  );
  const two = router(
    "flannel-lab.role: router, flannel-lab.internet: 203.0.113.1",
    "ip addr add 203.0.113.1/32 dev lo",
  )
    .replace(
      "n1: {group: g}",
      "n1: {group: g}\n    c1: {labels: {flannel-lab.role: client, flannel-lab.internet: 198.51.100.1}, exec: [ip addr add 198.51.100.1/32 dev lo]}",
    );
  assert(problemsOf(two).includes("only one node stands for the internet, found flannel-lab.internet on"));
});

Deno.test("flannel-lab.iface: auto leaves the choice to the agent: the default route's interface", () => {
  const two = (execN1: string) =>
    GOOD.replace("    n1: {group: g}", `    n1: {labels: {flannel-lab.iface: auto}, exec: [${execN1}]}`)
      .replace(
        `    - endpoints: ["n1:eth1", "etcd:eth1"]`,
        `    - endpoints: ["n1:eth1", "etcd:eth1"]\n    - endpoints: ["n1:eth2", "etcd:eth2"]`,
      );
  const viaDev = resolveTopology(
    "/x/t.clab.yml",
    two(
      "ip addr add 10.0.0.1/24 dev eth1, ip addr add 10.0.2.15/24 dev eth2, ip route add default via 10.0.2.2 dev eth2",
    ),
  );
  const n1 = viaDev.nodes.find((n) => n.name === "n1")!;
  assertEquals([n1.agentIface, n1.ifaceAuto], ["eth2", true]);
  const viaGw = resolveTopology(
    "/x/t.clab.yml",
    two(
      "ip addr add 10.0.0.1/24 dev eth1, ip addr add 10.0.2.15/24 dev eth2, ip route add default via 10.0.2.2",
    ),
  );
  assertEquals(
    viaGw.nodes.find((n) => n.name === "n1")!.agentIface,
    "eth2",
    "the interface whose subnet has the gateway",
  );
  assert(/"auto" leaves the choice to the agent.*ip route add default via GATEWAY dev ethN/.test(
    problemsOf(two("ip addr add 10.0.0.1/24 dev eth1")),
  ));
});
