import { ok as assert } from "node:assert/strict";
import { run } from "../../cli/process/mod.ts";
import { ownedNamespaces } from "../../harness/runtime/mod.ts";

const MOD = new URL("../../mod.ts", import.meta.url).pathname;
const TOPO = new URL("../../topologies/vxlan-same-subnet.clab.yml", import.meta.url).pathname;

async function flannelLab(args: string[]) {
  return await run([Deno.execPath(), "run", "-A", "--unstable-net", "--no-check", MOD, ...args], {
    check: false,
    timeoutMs: 120_000,
  });
}

Deno.test({
  name: "e2e: a broken topology gives file, line and field, exit 1, and creates nothing",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const dir = await Deno.makeTempDir();
    try {
      const text = (await Deno.readTextFile(TOPO)).replace("    n1:\n", "    n1:\n      bogus-key: 1\n");
      await Deno.writeTextFile(`${dir}/broken.clab.yml`, text);
      const before = (await ownedNamespaces()).length;
      const r = await flannelLab(["test", `${dir}/broken.clab.yml`, "--lab-dir", dir]);
      assert(r.code === 1, r.stderr);
      assert(/broken\.clab\.yml:\d+:\d+: topology\.nodes\.n1\.bogus-key/.test(r.stderr), r.stderr);
      assert((await ownedNamespaces()).length === before);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "e2e: a broken scenario names the line and the allowed keys, and creates nothing",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const dir = await Deno.makeTempDir();
    try {
      await Deno.copyFile(TOPO, `${dir}/x.clab.yml`);
      await Deno.writeTextFile(
        `${dir}/x.scenario.yml`,
        "network: {Network: 10.244.0.0/16}\nsteps:\n  - ping: {from: n1/p1, too: n2/p1}\n",
      );
      const r = await flannelLab(["test", "-t", `${dir}/x.clab.yml`]);
      assert(r.code === 1, r.stderr);
      assert(
        r.stderr.includes("x.scenario.yml:3:") && r.stderr.includes(`"too"`) &&
          r.stderr.includes("allowed here"),
        r.stderr,
      );
      assert((await ownedNamespaces()).filter((o) => o.lab === "vxlan-same-subnet").length === 0);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
