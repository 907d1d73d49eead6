import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { parse } from "yaml";
import { projectBinds } from "./containerlab_host.ts";
import { renderTopology } from "./containerlab_topology.ts";
import { isInsideRuntime, nsenterArgs, podNetnsArgs } from "./inside.ts";
import { ContainerlabRuntime } from "./containerlab.ts";
import { NetnsRuntime } from "./netns.ts";

Deno.test("inside: commands enter the container's mount, uts, ipc, net and pid namespaces, env in front", () => {
  assertEquals(nsenterArgs(42, ["etcd", "--x"]), [
    "nsenter",
    "-t",
    "42",
    "-m",
    "-u",
    "-i",
    "-n",
    "-p",
    "--",
    "etcd",
    "--x",
  ]);
  assertEquals(nsenterArgs(42, ["a"], { K: "v" }).slice(-3), ["env", "K=v", "a"]);
  assertEquals(podNetnsArgs(7, "lab-n1-p1", ["ping", "x"]), [
    "nsenter",
    "--net=/proc/7/root/run/netns/lab-n1-p1",
    "--",
    "ping",
    "x",
  ]);
});

Deno.test("inside: only the containerlab runtime starts processes inside its nodes", () => {
  assert(isInsideRuntime(new ContainerlabRuntime()));
  assert(!isInsideRuntime(new NetnsRuntime()));
});

Deno.test("inside: the rendered copy binds the project into every node, keeping a node's own binds", () => {
  const text =
    "name: a\ntopology:\n  defaults: { kind: linux }\n  nodes:\n    n1: { binds: [/x:/x] }\n    n2: {}\n";
  const binds = ["/p:/p:ro", "/lab:/lab:rw"];
  const t = parse(renderTopology(text, "a", "img", binds)) as {
    topology: { nodes: Record<string, { binds: string[] }> };
  };
  assertEquals(t.topology.nodes["n1"]!.binds, ["/x:/x", ...binds]);
  assertEquals(t.topology.nodes["n2"]!.binds, binds);
  assert(!renderTopology(text, "a", "img").includes("binds: [/p"));
});

Deno.test("inside: the binds are the project read-only and the lab directory read-write, at the host's paths", async () => {
  const lab = await Deno.makeTempDir();
  try {
    const binds = await projectBinds(lab);
    const root = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");
    assert(binds.includes(`${root}:${root}:ro`), binds.join(" "));
    assert(binds.some((b) => b.endsWith(`:${lab}:rw`)), binds.join(" "));
    assert(binds.every((b) => /^\/.*:\/.*:(ro|rw)$/.test(b)), binds.join(" "));
  } finally {
    await Deno.remove(lab, { recursive: true });
  }
});
