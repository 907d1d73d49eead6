/**
 * Bring-up with an agent that exits at once (an unknown flag): the wait fails at once with the end of its log,
 * not after the whole timeout with a pointer to a log the teardown removes; with `restartExitedAgents` it is
 * started again, as a supervisor would, until the deadline.
 */
import assert from "node:assert/strict";
import { planLab, upLab } from "../../harness/lab/mod.ts";
import { ownedNamespaces } from "../../harness/runtime/mod.ts";

const TOPOLOGIES = new URL("../../topologies/", import.meta.url);

/** vxlan-same-subnet with n2's agent given a flag it refuses; returns the topology file. */
async function brokenLab(dir: string): Promise<string> {
  const text = await Deno.readTextFile(new URL("vxlan-same-subnet.clab.yml", TOPOLOGIES));
  const broken = text.replace(
    "    n2:\n      labels: { flannel-lab.role: node }",
    '    n2:\n      labels: { flannel-lab.role: node, flannel-lab.agent-flags: "--no-such-flag" }',
  );
  assert.notEqual(broken, text, "the topology's n2 block moved");
  const file = `${dir}/vxlan-same-subnet.clab.yml`;
  await Deno.writeTextFile(file, broken);
  await Deno.copyFile(
    new URL("vxlan-same-subnet.scenario.yml", TOPOLOGIES),
    `${dir}/vxlan-same-subnet.scenario.yml`,
  );
  return file;
}

Deno.test({
  name:
    "lab: an agent that exits before subnet.env fails the bring-up at once, with its log; or is restarted",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "flannel-lab-exit-" });
    const name = `exit${Deno.pid}`;
    try {
      const file = await brokenLab(dir);
      const started = Date.now();
      const error = await upLab(await planLab(file, { labDirBase: dir, name }), { readyTimeoutMs: 60_000 })
        .then(() => undefined, (e: Error) => e);
      assert.ok(error, "the bring-up succeeded with a broken agent");
      assert.match(error.message, /^n2's agent exited before writing subnet\.env; its log ends:\n/);
      assert.match(error.message, /no-such-flag/, "the log's end names the refused flag");
      assert.ok(Date.now() - started < 30_000, `failed only after ${Date.now() - started} ms`);

      const lines: string[] = [];
      const again = await upLab(await planLab(file, { labDirBase: dir, name }), {
        readyTimeoutMs: 6_000,
        restartExitedAgents: true,
        log: (l) => lines.push(l),
      }).then(() => undefined, (e: Error) => e);
      assert.ok(again, "the bring-up succeeded with a broken agent");
      assert.match(again.message, /^n2's agent wrote no subnet\.env within 6 s; its log ends:\n/);
      assert.ok(
        lines.some((l) => l === "n2's agent exited before writing subnet.env; starting it again"),
        lines.join("\n"),
      );
      assert.deepEqual((await ownedNamespaces()).filter((o) => o.lab === name), [], "namespaces left behind");
    } finally {
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});
