import { deepStrictEqual as assertEquals, ok as assert, throws as assertThrows } from "node:assert/strict";
import {
  expandEnv,
  InputError,
  longName,
  parseSource,
  refuseNetnsLimits,
  resolveTopology,
  shellSplit,
  validateSchema,
} from "./mod.ts";

const GOOD = `name: t1
topology:
  defaults: {kind: linux, cmd: sleep infinity, labels: {flannel-lab.role: node}, exec: [ip link set lo up]}
  groups:
    g: {exec: [ip addr add 10.0.0.1/24 dev eth1]}
  nodes:
    etcd: {labels: {flannel-lab.role: etcd}, exec: [ip addr add 10.0.0.9/24 dev eth1]}
    n1: {group: g}
  links:
    - endpoints: ["n1:eth1", "etcd:eth1"]
`;

function problemsOf(text: string): string {
  try {
    resolveTopology("/x/t.clab.yml", text);
  } catch (error) {
    if (!(error instanceof InputError)) throw error;
    return error.message;
  }
  throw new Error("expected an InputError");
}

Deno.test("resolveTopology applies defaults, groups and containerlab's default MTU", () => {
  const t = resolveTopology("/x/t.clab.yml", GOOD);
  const n1 = t.nodes.find((n) => n.name === "n1")!;
  assertEquals(n1.role, "node");
  assertEquals(n1.execLines, ["ip link set lo up", "ip addr add 10.0.0.1/24 dev eth1"]);
  assertEquals(n1.agentIface, "eth1");
  assertEquals(t.links[0]!.mtu, 9500);
  assertEquals(t.nodes.find((n) => n.name === "etcd")!.etcdAddress, "10.0.0.9");
  assertEquals(longName(t, "n1"), "clab-t1-n1");
});

Deno.test("resolveTopology names file, line and field of an unknown node key", () => {
  const msg = problemsOf(GOOD.replace("n1: {group: g}", "n1: {group: g}\n    n2: {bogus: 1}"));
  assert(msg.includes("/x/t.clab.yml:9:") && msg.includes("bogus"), msg);
});

Deno.test("resolveTopology refuses what the netns runtime cannot honour", () => {
  // A bind mount is containerlab's to honour: the file resolves, and only the netns runtime refuses it.
  const binds = resolveTopology(
    "/x/t.clab.yml",
    GOOD.replace("n1: {group: g}", "n1: {group: g, binds: [a:b]}"),
  );
  assertEquals(binds.netnsLimits.map((p) => p.field), ["topology.nodes.n1.binds"]);
  assertThrows(
    () => refuseNetnsLimits(binds),
    /for the netns runtime \(use --runtime containerlab\).*"binds" cannot be honoured/s,
  );
  refuseNetnsLimits(resolveTopology("/x/t.clab.yml", GOOD));
  assert(
    problemsOf(GOOD.replace("n1: {group: g}", "n1: {group: g, kind: ovs-bridge}")).includes("Open vSwitch"),
  );
  assert(problemsOf(GOOD.replace('"n1:eth1"', '"host:veth9"')).includes("outside the lab"));
  assert(problemsOf(GOOD.replace('"n1:eth1"', '"n1:eth0"')).includes("management interface"));
  assert(problemsOf(GOOD.replace("sleep infinity", "nginx")).includes("no main process"));
  assert(problemsOf(GOOD.replace("name: t1", "name: t1\n{{ .x }}")).includes("templates"));
});

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

Deno.test("schema errors point at the link's real mistake", () => {
  const doc = parseSource(
    "f.yml",
    GOOD.replace(
      '- endpoints: ["n1:eth1", "etcd:eth1"]',
      '- endpoints: ["n1:eth1", "etcd:eth1"]\n      bogus: 1',
    ),
  );
  const p = validateSchema(doc);
  assert(p.some((x) => x.message.includes('"bogus"') && x.line === 11), JSON.stringify(p));
});

Deno.test("every shipped topology validates against containerlab's schema and resolves", async () => {
  let count = 0;
  for (const sub of ["", "repro/"]) {
    const dir = new URL(`../../topologies/${sub}`, import.meta.url);
    for await (const e of Deno.readDir(dir)) {
      if (!e.name.endsWith(".clab.yml")) continue;
      const text = await Deno.readTextFile(new URL(e.name, dir));
      assertEquals(validateSchema(parseSource(e.name, text)), [], e.name);
      resolveTopology(`/t/${e.name}`, text);
      count++;
    }
  }
  assert(count >= 18);
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

Deno.test("shellSplit and expandEnv behave like containerlab's", () => {
  assertEquals(shellSplit(`bash -c 'echo "a b"' x\\ y`), ["bash", "-c", `echo "a b"`, "x y"]);
  assertThrows(() => shellSplit("echo 'a"), SyntaxError);
  assertEquals(expandEnv("$A ${B:-d} $C ${A}", { A: "1" }), "1 d $C 1");
});

const BRIDGED = `name: tb
topology:
  defaults: {kind: linux, cmd: sleep infinity}
  nodes:
    n1: {exec: [ip addr add 10.0.0.1/24 dev eth1]}
    n2: {exec: [ip addr add 10.0.0.2/24 dev eth1]}
    br1: {kind: bridge}
  links:
    - endpoints: ["n1:eth1", "br1:p1"]
      mtu: 1500
    - endpoints: ["n2:eth1", "br1:p2"]
      mtu: 1500
`;

Deno.test("resolveTopology: a kind: bridge node is a switch holding a bridge named as the node", () => {
  const t = resolveTopology("/x/t.clab.yml", BRIDGED);
  const br = t.nodes.find((n) => n.name === "br1")!;
  assertEquals(br.bridge, true);
  assertEquals(br.role, "switch");
  assertEquals(br.interfaces, ["p1", "p2"]);
  assertEquals(t.nodes.find((n) => n.name === "n1")!.bridge, undefined);
  assertEquals(t.nodes.find((n) => n.name === "n1")!.role, "client");
  assertEquals(longName(t, "br1"), "clab-tb-br1");
  assert(t.notes.some((n) => n.includes("lab-owned namespace")), t.notes.join("\n"));
  // An explicit switch role is fine; any other role is not.
  const sw = BRIDGED.replace(
    "br1: {kind: bridge}",
    "br1: {kind: bridge, labels: {flannel-lab.role: switch}}",
  );
  assertEquals(resolveTopology("/x/t.clab.yml", sw).nodes.find((n) => n.name === "br1")!.role, "switch");
  const msg = problemsOf(
    BRIDGED.replace("br1: {kind: bridge}", "br1: {kind: bridge, labels: {flannel-lab.role: router}}"),
  );
  assert(msg.includes("/x/t.clab.yml:7:") && msg.includes("is a switch"), msg);
  // The bridge's name must be a Linux interface name, and no port may take it.
  assert(problemsOf(BRIDGED.replaceAll("br1", "a-very-long-bridge")).includes("interface name"));
  assert(problemsOf(BRIDGED.replace('"br1:p2"', '"br1:br1"')).includes("named like its bridge"));
});

Deno.test("resolveTopology refuses ovs-bridge nodes with file, line and field", () => {
  const msg = problemsOf(BRIDGED.replace("br1: {kind: bridge}", "br1: {kind: ovs-bridge}"));
  assert(msg.includes("/x/t.clab.yml:7:") && msg.includes("ovs-bridge") && msg.includes("kind: bridge"), msg);
});

Deno.test("what containerlab's schema lists but containerlab does not enforce is no error; unsupported kinds are named", () => {
  // cumulus_cvx is missing from the schema's enum of kinds, and `type: 5132` is a number where it wants a string:
  // containerlab validate accepts both.
  const text = GOOD.replace("n1: {group: g}", "n1: {group: g}\n    sw1: {kind: cumulus_cvx, type: 5132}");
  assertEquals(validateSchema(parseSource("t.clab.yml", text)), []);
  assert(/topology\.nodes\.sw1\.kind: kind "cumulus_cvx" is not supported/.test(problemsOf(text)));
  // What the schema does enforce still fails: a misspelt key.
  assert(
    validateSchema(parseSource("t.clab.yml", GOOD.replace("n1: {group: g}", "n1: {group: g, exce: []}")))
      .length > 0,
  );
});
