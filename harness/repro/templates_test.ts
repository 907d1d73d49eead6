/**
 * Tests of the `repro new` templates: every one resolves as a containerlab topology (schema included) and its
 * scenario parses against it as a reproduction, before the user has edited a line.
 *
 * @module
 */
import assert from "node:assert/strict";
import { UserError } from "../../cli/errors.ts";
import { parseScenario } from "../scenario/parse.ts";
import { resolveTopology } from "../topology/resolve.ts";
import { validateSchema } from "../topology/schema.ts";
import { parseSource } from "../topology/source.ts";
import { isTemplateKind, renderTemplate, type TemplateKind, TEMPLATES } from "./templates.ts";

const KINDS: readonly TemplateKind[] = TEMPLATES.map((t) => t.kind);

function render(kind: TemplateKind, name = `my-${kind}`) {
  const files = renderTemplate(kind, name);
  const topo = resolveTopology(`/t/${name}.clab.yml`, files.topology);
  const scenario = parseScenario(`/t/${name}.scenario.yml`, files.scenario, topo);
  return { files, topo, scenario };
}

Deno.test("there are five templates, each with a one-line summary", () => {
  assert.deepEqual([...KINDS].sort(), ["l2", "l3-split", "mtu-pinch", "nat", "two-nics"]);
  for (const t of TEMPLATES) assert.ok(t.summary.length > 10 && !t.summary.includes("\n"), t.kind);
  assert.ok(KINDS.every(isTemplateKind));
  assert.ok(!isTemplateKind("l3") && !isTemplateKind(""));
});

Deno.test("every template resolves and its scenario parses as a reproduction both agents reproduce", () => {
  for (const kind of KINDS) {
    const { files, topo, scenario } = render(kind);
    assert.equal(topo.name, `my-${kind}`);
    assert.ok(scenario.repro, `${kind} has a repro block`);
    assert.deepEqual(scenario.repro.verdict, { ours: "reproduced", upstream: "reproduced" });
    for (const k of ["title", "symptom", "cause", "fix"] as const) {
      assert.match(scenario.repro[k], /^TODO: \S/, `${kind} ${k}`);
    }
    assert.equal(scenario.backend, "vxlan");
    assert.equal(scenario.podsPerNode, 1);
    const kinds = scenario.steps.map((s) => s.action.kind);
    // two-nics starts n2 after n1 and checks the leases only: nodes sharing one lease share pod addresses.
    const want = kind === "two-nics"
      ? ["wait", "fault", "leases"]
      : ["wait", "connectivity", "ping", "kernel"];
    for (const k of want) assert.ok(kinds.includes(k as never), `${kind} ${k}`);
    if (kind === "two-nics") assert.deepEqual(scenario.deferAgents, ["n2"]);
    assert.ok(scenario.steps[0]!.critical && scenario.steps[0]!.timeoutMs === 60_000, `${kind} waits 60 s`);
    // Both verdicts say reproduced, so some step must be expected to fail for every agent.
    assert.ok(scenario.steps.some((s) => s.failsWith !== undefined), `${kind} has a step that fails`);
    for (const text of [files.topology, files.scenario]) {
      assert.match(text, /^# \S/, `${kind} starts with a comment`);
    }
    for (const l of topo.links) {
      const pinch = kind === "mtu-pinch" && l.label === "r1:eth2 <-> r2:eth2";
      assert.equal(l.mtu, pinch ? 1400 : 1500, `${kind} ${l.label}`);
    }
    for (const n of topo.nodes) {
      assert.equal(n.image, "flannel-lab/node:latest");
      if (n.role === "node" || n.role === "router") assert.equal(n.sysctls["net.ipv4.ip_forward"], "1");
    }
  }
});

Deno.test("each template has its own step that shows the shape", () => {
  const bug = (kind: TemplateKind) => render(kind).scenario.steps.at(-1)!;
  const capture = (kind: TemplateKind) => {
    const s = bug(kind);
    assert.equal(s.action.kind, "capture", kind);
    assert.ok(s.expect.vxlan, `${kind} expects vxlan`);
    return s.action.kind === "capture" ? `${s.action.node}:${s.action.iface}` : "";
  };
  assert.equal(capture("l2"), "sw:eth2");
  assert.equal(capture("l3-split"), "r1:eth1");
  assert.equal(capture("nat"), "r1:eth1");
  assert.equal(bug("mtu-pinch").action.kind, "mtu");
  const leases = bug("two-nics");
  assert.equal(leases.action.kind, "leases");
  assert.deepEqual([leases.expect.count, leases.expect.distinct], [2, true]);
});

Deno.test("the templates' files differ from each other", () => {
  const all = KINDS.map((k) => renderTemplate(k, "same-name"));
  assert.equal(new Set(all.map((f) => f.topology)).size, KINDS.length);
  assert.equal(new Set(all.map((f) => f.scenario)).size, KINDS.length);
});

Deno.test("nat: n2 publishes r1's address, which r1 forwards to it", () => {
  const { topo } = render("nat");
  const n2 = topo.nodes.find((n) => n.name === "n2")!;
  assert.ok(n2.agentFlags.includes("--public-ip=192.168.50.254"), n2.agentFlags.join(" "));
  const r1 = topo.nodes.find((n) => n.name === "r1")!;
  assert.equal(r1.role, "router");
  assert.ok(
    r1.execLines.some((l) => l.includes("MASQUERADE")) && r1.execLines.some((l) => l.includes("DNAT")),
  );
  // n1 knows nothing behind the NAT.
  const n1 = topo.nodes.find((n) => n.name === "n1")!;
  assert.ok(!n1.execLines.some((l) => l.includes("192.168.100.")), n1.execLines.join("; "));
});

Deno.test("l3-split stands the internet on r1, two-nics leaves the interface to the agent", () => {
  assert.equal(render("l3-split").topo.nodes.find((n) => n.name === "r1")!.internet, "203.0.113.1");
  for (const n of render("two-nics").topo.nodes.filter((n) => n.role === "node")) {
    assert.equal(n.ifaceAuto, true);
    assert.equal(n.agentIface, "eth1");
  }
});

Deno.test("every template passes containerlab's JSON schema, and a numeric name is quoted", () => {
  for (const kind of KINDS) {
    const { topology } = renderTemplate(kind, "x1");
    assert.deepEqual(validateSchema(parseSource("/t/x1.clab.yml", topology)), [], kind);
  }
  // A name like 123 is a YAML number; containerlab decodes it into its string name, and so does the resolver,
  // but the template quotes it so that no tool reading the file sees a number.
  const { topology } = renderTemplate("l2", "123");
  assert.ok(topology.includes('name: "123"'));
  assert.equal(resolveTopology("/t/123.clab.yml", topology.replace('name: "123"', "name: 123")).name, "123");
  assert.equal(resolveTopology("/t/123.clab.yml", topology).name, "123");
});

Deno.test("a bad lab name is refused with a UserError naming it", () => {
  for (const bad of ["", "My-Lab", "-lab", "lab_1", "lab 1", "a/b", "x".repeat(41)]) {
    assert.throws(
      () => renderTemplate("l2", bad),
      (e: unknown) => e instanceof UserError && e.message.includes(`"${bad}"`) && e.hint !== undefined,
      JSON.stringify(bad),
    );
  }
  assert.doesNotThrow(() => renderTemplate("l2", "x".repeat(40)));
});
