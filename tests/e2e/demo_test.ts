/**
 * `flannel-lab demo` as a user runs it: the built-in lab stands up through the same plan, runtime and cluster
 * as any topology file, shows leases, subnet.env and kernel state, pings pod to pod, and leaves nothing behind.
 */
import assert from "node:assert/strict";
import { ownedNamespaces } from "../../harness/runtime/mod.ts";
import { flannelLab } from "../helpers/run_cli.ts";

for (const backend of ["vxlan", "host-gw"]) {
  Deno.test(`demo --backend ${backend}: leases, kernel state and a pod-to-pod ping, then nothing left`, async () => {
    const r = await flannelLab(["demo", "--backend", backend, "--nodes", "3"], 180_000);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.match(r.stdout, /All 3 agents hold leases/);
    assert.equal(r.stdout.match(/^ {2}\/coreos\.com\/network\/subnets\/10\.192\.\d+\.0-24/gm)?.length, 3);
    assert.equal(r.stdout.match(/FLANNEL_MTU=(\d+)/)?.[1], backend === "vxlan" ? "1450" : "1500");
    assert.match(
      r.stdout,
      backend === "vxlan" ? /10\.192\.\d+\.0\/24 via 10\.192\.\d+\.0 onlink/ : /via 192\.168\.101\.\d+/,
    );
    assert.match(r.stdout, / 0% packet loss/);
    const left = (await ownedNamespaces()).filter((n) => n.lab.startsWith("demo-"));
    assert.deepEqual(left, []);
  });
}

Deno.test("demo refuses a bad --nodes with the range", async () => {
  const r = await flannelLab(["demo", "--nodes", "1"]);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /--nodes must be a whole number from 2 to 50/);
});
