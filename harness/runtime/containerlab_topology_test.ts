import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { parse } from "yaml";
import { throws as assertThrows } from "node:assert/strict";
import {
  mgmtNetworkOf,
  minimalTopology,
  prefixOf,
  refuseHostBridges,
  renderTopology,
  SHIPPED_IMAGE,
} from "./containerlab_topology.ts";
import type { NodeSpec } from "../topology/model.ts";

const FILE = new URL("../../topologies/udp-same-subnet.clab.yml", import.meta.url);

Deno.test("containerlab: the rendered copy carries the lab name, its own management network and the built image, everything else unchanged", async () => {
  const text = await Deno.readTextFile(FILE);
  const original = parse(text) as Record<string, unknown>;
  const rendered = parse(renderTopology(text, "udp-x1", "flannel-lab/node:0123456789ab")) as {
    name: string;
    topology: { defaults: Record<string, unknown> };
  };
  assertEquals(rendered.name, "udp-x1");
  assertEquals(rendered.topology.defaults["image"], "flannel-lab/node:0123456789ab");
  assertEquals(rendered.topology.defaults["devices"], ["/dev/net/tun"]);
  assertEquals((rendered as unknown as { mgmt: unknown }).mgmt, {
    network: mgmtNetworkOf("udp-x1"),
    "ipv4-subnet": "auto",
  });
  const back = structuredClone(rendered) as unknown as Record<string, unknown>;
  back["name"] = original["name"];
  delete back["mgmt"];
  (back["topology"] as { defaults: Record<string, unknown> }).defaults["image"] = SHIPPED_IMAGE;
  assertEquals(back, original);
});

Deno.test("containerlab: a topology's own management network is kept", () => {
  const text = "name: a\nmgmt: { network: mine }\ntopology:\n  nodes:\n    n1: { kind: linux }\n";
  assertEquals((parse(renderTopology(text, "a", "x")) as { mgmt: unknown }).mgmt, { network: "mine" });
});

Deno.test("containerlab: a node naming another image keeps it", () => {
  const text = "name: a\ntopology:\n  nodes:\n    n1: { kind: linux, image: alpine:3 }\n";
  assert(renderTopology(text, "a", "flannel-lab/node:x").includes("image: alpine:3"));
});

Deno.test("containerlab: the prefix is recovered from a container's long name", () => {
  assertEquals(prefixOf("clab-lab1-n1", "lab1", "n1"), "clab");
  assertEquals(prefixOf("n1", "lab1", "n1"), "");
  assertEquals(prefixOf("lab1-n1", "lab1", "n1"), "__lab-name");
  assertEquals(prefixOf("dc-lab1-n1", "lab1", "n1"), "dc");
  const t = parse(minimalTopology("lab1", "dc", ["n1", "n2"])) as {
    prefix: string;
    topology: { nodes: Record<string, unknown> };
  };
  assertEquals(t.prefix, "dc");
  assertEquals(Object.keys(t.topology.nodes), ["n1", "n2"]);
});

Deno.test("containerlab: kind: bridge nodes are refused (their bridge would be in the host's namespace)", () => {
  const node = (name: string, bridge?: true) =>
    ({ name, ...(bridge ? { bridge } : {}) }) as unknown as NodeSpec;
  refuseHostBridges({ name: "t", nodes: [node("n1"), node("sw")] });
  assertThrows(
    () => refuseHostBridges({ name: "t", nodes: [node("n1"), node("br1", true)] }),
    (e: Error & { hint?: string }) =>
      e.message.includes("br1") && e.message.includes("host's namespace") && !!e.hint?.includes("switch"),
  );
});
