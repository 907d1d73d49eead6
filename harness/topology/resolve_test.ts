import { deepStrictEqual as assertEquals, ok as assert, throws as assertThrows } from "node:assert/strict";
import {
  expandEnv,
  longName,
  parseSource,
  refuseNetnsLimits,
  resolveTopology,
  shellSplit,
  validateSchema,
} from "./mod.ts";
import { GOOD, problemsOf } from "./_testing.ts";

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

Deno.test("shellSplit and expandEnv behave like containerlab's", () => {
  assertEquals(shellSplit(`bash -c 'echo "a b"' x\\ y`), ["bash", "-c", `echo "a b"`, "x y"]);
  assertThrows(() => shellSplit("echo 'a"), SyntaxError);
  assertEquals(expandEnv("$A ${B:-d} $C ${A}", { A: "1" }), "1 d $C 1");
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
