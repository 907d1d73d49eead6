/** The udp backend wired into the agent: pods on two nodes talk through flannel0, and SIGTERM still exits 0. */
import assert from "node:assert/strict";
import { etcdLeases } from "../helpers/mini_lab.ts";
import { agentLog, type LabNode, linkInfo, startDataLab, waitPing } from "../helpers/backend_lab.ts";

const UDP = '{"Network":"10.244.0.0/16","Backend":{"Type":"udp"}}';

Deno.test("udp: the agent runs the udp backend end to end and exits cleanly on SIGTERM", async () => {
  await using lab = await startDataLab({ nodes: 2, config: UDP });
  const [a, b] = lab.nodes as [LabNode, LabNode];
  await waitPing(lab, a, b.podIp);
  await waitPing(lab, b, a.podIp);
  const tun = await linkInfo(a, "flannel0");
  assert.ok(tun, await agentLog(a.node));
  assert.equal(tun.mtu, 1472);
  const values = [...(await etcdLeases(lab.lab)).values()].sort();
  assert.deepEqual(values, [
    '{"PublicIP":"192.168.77.1","PublicIPv6":null}',
    '{"PublicIP":"192.168.77.2","PublicIPv6":null}',
  ]);
  assert.equal((await a.agent.stop("SIGTERM")).code, 0);
  assert.match(await agentLog(a.node), /Exiting cleanly/);
});
