import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { longName, resolveTopology } from "./mod.ts";
import { execAddresses } from "./resolve_node.ts";
import { problemsOf } from "./_testing.ts";

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

Deno.test("resolveTopology: a node inherits defaults, kind and group; scalars from the nearest, lists and maps merged", () => {
  const t = resolveTopology(
    "/x/t.clab.yml",
    `name: ti
topology:
  defaults: {kind: linux, image: a:1, env: {A: "1", B: "1"}, exec: [ip link set lo up]}
  kinds:
    linux: {image: b:1, env: {B: "2"}}
  groups:
    g: {image: c:1, exec: [ip link set lo up, ip addr add 10.0.0.1/24 dev eth1]}
  nodes:
    n1: {group: g, env: {C: "3"}, startup-delay: 2}
    n2: {}
`,
  );
  const n1 = t.nodes.find((n) => n.name === "n1")!;
  const n2 = t.nodes.find((n) => n.name === "n2")!;
  assertEquals([n1.image, n2.image], ["c:1", "b:1"]);
  assertEquals(n1.env, { A: "1", B: "2", C: "3" });
  assertEquals(n1.execLines, ["ip link set lo up", "ip addr add 10.0.0.1/24 dev eth1"]);
  assertEquals(n1.addresses, { eth1: ["10.0.0.1/24"] });
  assertEquals([n1.startupDelaySec, n2.startupDelaySec], [2, 0]);
  assertEquals(n1.group, "g");
});

Deno.test("execAddresses reads ip addr add lines only, by interface", () => {
  assertEquals(
    execAddresses([
      ["ip", "addr", "add", "10.0.0.1/24", "dev", "eth1"],
      ["ip", "a", "add", "10.0.1.1/24", "dev", "eth2"],
      ["ip", "address", "add", "10.0.0.2/32", "dev", "eth1"],
      ["ip", "addr", "add", "10.0.9.9", "dev", "eth3"],
      ["ip", "route", "add", "default", "via", "10.0.0.254"],
    ]),
    { eth1: ["10.0.0.1/24", "10.0.0.2/32"], eth2: ["10.0.1.1/24"] },
  );
});
