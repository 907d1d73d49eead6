import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { resolveTopology } from "../topology/mod.ts";
import { InputError } from "../topology/errors.ts";
import { diffRoutes, expectedReach, expectedRoutes, parseDuration, parseScenario } from "./mod.ts";

const topoText = await Deno.readTextFile(
  new URL("../../topologies/hostgw-split-subnet.clab.yml", import.meta.url),
);
const topo = resolveTopology("/t/hostgw-split-subnet.clab.yml", topoText);

function errorOf(text: string): string {
  try {
    parseScenario("s.yml", text, topo);
  } catch (error) {
    if (!(error instanceof InputError)) throw error;
    return error.message;
  }
  throw new Error("expected an error");
}

Deno.test("every shipped scenario parses against its topology", async () => {
  const dir = new URL("../../topologies/", import.meta.url);
  for await (const e of Deno.readDir(dir)) {
    if (!e.name.endsWith(".scenario.yml")) continue;
    const t = resolveTopology(
      `/t/x.clab.yml`,
      await Deno.readTextFile(new URL(e.name.replace(".scenario.yml", ".clab.yml"), dir)),
    );
    const sc = parseScenario(e.name, await Deno.readTextFile(new URL(e.name, dir)), t);
    assert(sc.steps.length > 0);
  }
});

Deno.test("unknown keys are errors with line and the allowed keys", () => {
  const msg = errorOf("network: {Network: 10.244.0.0/16}\nsteps:\n  - wait: agents-ready\n    timout: 5s\n");
  assert(msg.includes("s.yml:4:5") && msg.includes("timout") && msg.includes("allowed here"), msg);
});

Deno.test("names are checked against the topology", () => {
  assert(
    errorOf("network: {Network: 10.244.0.0/16}\nsteps:\n  - kernel: {node: n9}\n").includes(`node "n9"`),
  );
  assert(
    errorOf(
      "network: {Network: 10.244.0.0/16}\nsteps:\n  - capture: {link: r1:eth9, during: {ping: {from: n1/p1, to: n2/p1}}}\n",
    ).includes("eth9"),
  );
  assert(
    errorOf(
      "network: {Network: 10.244.0.0/16}\npods: {per-node: 1}\nsteps:\n  - ping: {from: n1/p1, to: n2/p2}\n",
    ).includes("does not exist"),
  );
});

Deno.test("host-gw across a router is expected unreachable, with the reason", () => {
  const sc = parseScenario(
    "s.yml",
    "network: {Network: 10.244.0.0/16, Backend: {Type: host-gw}}\nsteps: []\n",
    topo,
  );
  const n1 = topo.nodes.find((n) => n.name === "n1")!;
  const n2 = topo.nodes.find((n) => n.name === "n2")!;
  const r = expectedReach(sc, n1, n2);
  assertEquals(r.pass, false);
  assert(r.why.includes("different subnets"));
  assertEquals(expectedRoutes(sc, n1, [{ subnet: "10.244.5.0/24", publicIp: "192.168.62.2", node: n2 }]), []);
});

Deno.test("vxlan routes and structured diffs", () => {
  const sc = parseScenario(
    "s.yml",
    "network: {Network: 10.244.0.0/16, Backend: {Type: vxlan}}\nsteps: []\n",
    topo,
  );
  const n1 = topo.nodes.find((n) => n.name === "n1")!;
  const want = expectedRoutes(sc, n1, [{ subnet: "10.244.5.0/24", publicIp: "192.168.62.2" }]);
  assertEquals(want, [{ dst: "10.244.5.0/24", gateway: "10.244.5.0", dev: "flannel.1", onlink: true }]);
  const d = diffRoutes(want, [{ dst: "10.244.9.0/24", dev: "flannel.1", onlink: true }]);
  assertEquals([d.missing.length, d.extra.length, d.different.length], [1, 1, 0]);
  assertEquals(parseDuration("1.5s"), 1500);
});
