/**
 * Healing a recreated external interface (user-pain S12): `eth1` deleted and recreated under the same name with
 * the same address (a network restart) takes flannel.1 with it; the agent re-binds to the new ifindex,
 * recreates flannel.1 on it with its published MAC, restores the entries, and pods talk again.
 */
import assert from "node:assert/strict";
import { run } from "../../cli/process/mod.ts";
import {
  agentLog,
  fdbs,
  type LabNode,
  linkInfo,
  ping,
  startDataLab,
  waitFor,
  waitPing,
} from "../helpers/backend_lab.ts";

const VXLAN = '{"Network":"10.244.0.0/16","Backend":{"Type":"vxlan"}}';

Deno.test("agent heal: eth1 deleted and recreated (new ifindex) → flannel.1 re-bound with its MAC; pods talk again", async () => {
  await using lab = await startDataLab({ nodes: 2, config: VXLAN });
  const [a, b] = lab.nodes as [LabNode, LabNode];
  await waitPing(lab, a, b.podIp);
  const before = await linkInfo(a, "flannel.1");
  const ethBefore = await linkInfo(a, "eth1");
  assert.ok(before && ethBefore);

  const sw = `clab-${lab.prefix}-swa`;
  await a.node.ns.ip(["link", "del", "eth1"]);
  assert.equal(await linkInfo(a, "flannel.1"), undefined, "the kernel deletes flannel.1 with its underlay");
  await new Promise((r) => setTimeout(r, 500));
  const started = performance.now();
  await a.node.ns.ip(["link", "add", "eth1", "type", "veth", "peer", "name", a.node.name, "netns", sw]);
  await run(["ip", "-n", sw, "link", "set", a.node.name, "master", "br0", "up"]);
  await a.node.ns.ip(["addr", "add", `${a.node.ip}/24`, "dev", "eth1"]);
  await a.node.ns.ip(["link", "set", "eth1", "up"]);
  const ethAfter = await linkInfo(a, "eth1");
  assert.notEqual(ethAfter?.ifindex, ethBefore.ifindex, "eth1 has a new ifindex");

  const after = await waitFor("flannel.1 bound to the new eth1", async () => {
    const l = await linkInfo(a, "flannel.1");
    const data = (l?.linkinfo as { info_data?: { link?: string } } | undefined)?.info_data;
    return l && data?.link === "eth1" && (l.flags as string[]).includes("UP") ? l : undefined;
  }, 10_000).catch(async (e) => {
    throw new Error(`${e.message}\n${await agentLog(a.node)}`);
  });
  assert.equal(after.address, before.address, "the published VTEP MAC is kept, so peers need no update");
  await waitFor(
    "a's FDB entry for b",
    async () => (await fdbs(a, "flannel.1")).some((f) => f.dst === b.node.ip) || undefined,
    10_000,
  );
  await waitPing(lab, a, b.podIp, 15_000);
  await waitPing(lab, b, a.podIp, 15_000);
  const healedMs = performance.now() - started;
  assert.ok(healedMs < 10_000, `healed in ${Math.round(healedMs)} ms`);
  assert.ok((await ping(lab, a, b.podIp, { size: 1450 - 28, df: true })).ok);
  assert.match(await agentLog(a.node), /eth1 was recreated/);
});
