/**
 * A scenario that needs a kernel feature this machine lacks is refused before anything is deployed, with the
 * step's file and line: delay/jitter need the netem qdisc (this kernel family has none); loss and rate do not.
 */
import assert from "node:assert/strict";
import { kernelHasNetem } from "../../harness/runtime/kernel_features.ts";
import { run } from "../../cli/process/mod.ts";

const MOD = new URL("../../mod.ts", import.meta.url).pathname;
const TOPO = new URL("../../topologies/vxlan-same-subnet.clab.yml", import.meta.url).pathname;

async function dryRun(steps: string): Promise<{ code: number; out: string; file: string }> {
  const file = await Deno.makeTempFile({ suffix: ".scenario.yml" });
  try {
    await Deno.writeTextFile(
      file,
      `network: { Network: 10.244.0.0/16, Backend: { Type: vxlan } }\nsteps:\n  - wait: agents-ready\n${steps}`,
    );
    const r = await run([
      Deno.execPath(),
      "run",
      "-A",
      "--no-check",
      MOD,
      "test",
      TOPO,
      "--scenario",
      file,
      "--dry-run",
    ], {
      check: false,
      timeoutMs: 60_000,
    });
    return { code: r.code, out: r.stdout + r.stderr, file };
  } finally {
    await Deno.remove(file);
  }
}

Deno.test("kernel features: delay and jitter are refused up front on a kernel without netem", async () => {
  const netem = await kernelHasNetem();
  const r = await dryRun("  - fault: { link: n1:eth1, netem: { delay: 50ms, jitter: 5ms }, for: 1s }\n");
  if (netem) {
    assert.equal(r.code, 0, r.out);
  } else {
    assert.notEqual(r.code, 0, r.out);
    assert.match(r.out, /This kernel has no netem qdisc \(CONFIG_NET_SCH_NETEM\)/);
    assert.ok(r.out.includes(`${r.file}:4 (step 2`), r.out);
    assert.match(r.out, /flannel-lab doctor/);
  }
});

Deno.test("kernel features: loss and rate need no netem and pass the up-front check", async () => {
  const r = await dryRun(
    "  - fault: { link: n1:eth1, loss: 10%, for: 1s }\n  - fault: { link: n1:eth1, rate: 10mbit, for: 1s }\n",
  );
  assert.equal(r.code, 0, r.out);
});
