/**
 * The harness's data-plane verdicts fail on broken labs: a node whose firewall drops the overlay port (inside a
 * fault window and while a connectivity matrix runs) and a node whose masquerade rules are gone. Each broken
 * case sits beside a control that passes on the same lab, so the failures come from the checks, and every case
 * asserts what the failure says.
 */
import { equal, match, ok as assert } from "node:assert/strict";
import { runTopology } from "./_run.ts";
import { testcase } from "./_junit.ts";

const SCENARIO = `
description: broken data planes that the connectivity and fault checks must report
network: { Network: 10.244.0.0/16, Backend: { Type: vxlan } }
pods: { per-node: 1 }
steps:
  - wait: agents-ready
    timeout: 60s
    critical: true
  - name: the overlay port firewalled longer than allowed
    fault: { firewall: n2, drop: udp/8472, for: 2s }
    expect: { max-outage: 500ms, recovers-within: 5s }
  - name: n2 drops the overlay port
    fault: { firewall: n2, drop: udp/8472 }
  - name: the matrix sees the firewalled node
    connectivity: all-pods
    timeout: 2s
  - name: n2 lets the overlay port in again
    fault: { firewall: n2, allow: udp/8472 }
  - name: control, the matrix after the drop is lifted
    connectivity: all-pods
  - name: lifting a drop that is not there
    fault: { firewall: n2, allow: udp/8472 }
  - name: stop n1's agent
    fault: { agent: n1, action: stop }
  - name: n1's masquerade rules deleted while its agent is stopped
    fault: { delete: masquerade, node: n1 }
  - name: the matrix sees n1's pod cut off from outside
    connectivity: all-pods
    timeout: 2s
  - name: start n1's agent
    fault: { agent: n1, action: start }
  - name: control, n1's agent puts its masquerade rules back
    connectivity: all-pods
    timeout: 15s
`;

Deno.test({
  name:
    "e2e: connectivity and fault checks fail on a firewalled overlay port and on missing masquerade rules",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const file = await Deno.makeTempFile({ suffix: ".scenario.yml" });
    try {
      await Deno.writeTextFile(file, SCENARIO);
      const r = await runTopology("vxlan-same-subnet", ["--scenario", file]);
      assert(r.code === 1, `the run must fail (exit 1), got ${r.code}\n${r.out}`);

      const windowed = testcase(r.junit, "the overlay port firewalled longer than allowed");
      match(windowed, /<failure/);
      match(windowed, /the probe saw an outage of (\d+) ms, longer than max-outage 500 ms/);
      const ms = Number(/outage of (\d+) ms/.exec(windowed)![1]);
      assert(ms >= 1500, `a 2 s drop of udp/8472 measured as a ${ms} ms outage`);

      // Every cell that crosses the overlay into or out of n2 dies (requests and replies alike are VXLAN
      // arriving at n2); cells to node addresses and outside are plain routed traffic and still answer.
      const firewalled = testcase(r.junit, "the matrix sees the firewalled node");
      match(firewalled, /<failure/);
      const cells = /(\d+) of (\d+) cells differ from the expectation: ([^\n<"]*)/.exec(firewalled);
      assert(cells, firewalled);
      equal(cells[2], "12");
      equal(
        cells[3]!.split(", ").sort().join(", "),
        "n1 -> n2/p1, n1/p1 -> n2/p1, n2 -> n1/p1, n2/p1 -> n1/p1",
      );
      assert(!testcase(r.junit, "control, the matrix after the drop is lifted").includes("<failure"));

      const lift = testcase(r.junit, "lifting a drop that is not there");
      match(lift, /<failure/);
      match(lift, /n2's firewall has no flannel-lab drop of udp\/8472 to lift/);

      // Without FLANNEL-POSTRTG the pod's packets leave n1 with their pod source address: n2 routes the reply
      // back over the overlay, but the outside host has no route to the pod network.
      const masq = testcase(r.junit, "the matrix sees n1's pod cut off from outside");
      match(masq, /<failure/);
      match(masq, /1 of 12 cells differ from the expectation: n1\/p1 -> outside/);
      const control = testcase(r.junit, "control, n1's agent puts its masquerade rules back");
      assert(!control.includes("<failure"), control);
    } finally {
      await Deno.remove(file);
    }
  },
});
