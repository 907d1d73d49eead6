import { ok as assert } from "node:assert/strict";
import { run } from "../../cli/process/mod.ts";
import { ownedNamespaces } from "../../harness/runtime/mod.ts";
import type { StoredResults } from "../../harness/report/results.ts";

const MOD = new URL("../../mod.ts", import.meta.url).pathname;
const TOPO = new URL("../../topologies/vxlan-same-subnet.clab.yml", import.meta.url).pathname;

async function flannelLab(args: string[]) {
  return await run([Deno.execPath(), "run", "-A", "--unstable-net", "--no-check", MOD, ...args], {
    check: false,
    timeoutMs: 300_000,
  });
}

Deno.test({
  name:
    "e2e: --repeat reports a pass rate, results.json and report.html are kept, --rerun-failed runs only what failed",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "flannel-lab-e2e-reports-" });
    const lab = `rep-e2e${Deno.pid}`;
    try {
      await Deno.copyFile(TOPO, `${dir}/x.clab.yml`);
      await Deno.writeTextFile(
        `${dir}/x.scenario.yml`,
        [
          "network: {Network: 10.244.0.0/16, Backend: {Type: vxlan}}",
          "pods: {per-node: 1}",
          "steps:",
          "  - wait: agents-ready",
          "    timeout: 60s",
          "    critical: true",
          "  - ping: {from: n1/p1, to: n2/p1, count: 2}",
          "  - name: a wrong expectation (the pods can reach each other)",
          "    ping: {from: n1/p1, to: n2/p1, count: 1}",
          "    expect: failure",
          "",
        ].join("\n"),
      );
      const args = ["test", "-t", `${dir}/x.clab.yml`, "--name", lab, "--lab-dir", dir];
      const r = await flannelLab([...args, "--repeat", "2", "--junit", `${dir}/junit.xml`]);
      assert(r.code === 1, r.stdout + r.stderr);
      // JUnit keeps every run, one testsuite each.
      const junit = await Deno.readTextFile(`${dir}/junit.xml`);
      assert(junit.includes(`<testsuite name="${lab} (run 1 of 2)"`), junit);
      assert(junit.includes(`<testsuite name="${lab} (run 2 of 2)"`), junit);
      assert(/<testsuites tests="6" failures="2"/.test(junit), junit.slice(0, 300));
      assert(r.stdout.includes("0 of 2 runs passed"), r.stdout);
      assert(
        r.stdout.includes("step 3 a wrong expectation (the pods can reach each other): 0/2 passed"),
        r.stdout,
      );
      const stored = JSON.parse(await Deno.readTextFile(`${dir}/clab-${lab}/results.json`)) as StoredResults;
      assert(stored.runs.length === 2 && stored.runs.every((x) => x.steps[2]!.status === "fail"));
      const html = await Deno.readTextFile(`${dir}/clab-${lab}/report.html`);
      assert(html.includes("0/2 runs passed") && html.includes("FAIL"), html.slice(0, 400));

      const again = await flannelLab([...args, "--rerun-failed"]);
      assert(again.code === 1, again.stdout + again.stderr);
      assert(again.stdout.includes("Rerunning steps 1, 3"), again.stdout);
      assert(/\[SKIP\] \[2\] .*passed in the previous run/.test(again.stdout), again.stdout);

      // The expectation fixed: rerunning the failed step passes, and the skipped step does not fail the run.
      const scenario = await Deno.readTextFile(`${dir}/x.scenario.yml`);
      await Deno.writeTextFile(
        `${dir}/x.scenario.yml`,
        scenario.replace("expect: failure", "expect: success"),
      );
      const fixed = await flannelLab([...args, "--rerun-failed"]);
      assert(fixed.code === 0, `a rerun whose steps all pass exits 0\n${fixed.stdout}${fixed.stderr}`);
      assert(fixed.stdout.includes("Rerunning steps 1, 3"), fixed.stdout);
      assert(/\[SKIP\] \[2\] .*passed in the previous run/.test(fixed.stdout), fixed.stdout);
      assert((await ownedNamespaces()).filter((o) => o.lab === lab).length === 0);
    } finally {
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});
