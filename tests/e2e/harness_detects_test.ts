/**
 * The harness's verdicts fail on broken labs. Each case is a real fault on a running vxlan lab (netns runtime)
 * whose expectation a working check must reject; a control step beside them passes, so the failures come from
 * the checks and not from a broken lab. Every case asserts what the failure says.
 */
import { match, ok as assert } from "node:assert/strict";
import { runBrokenLab, testcase } from "../helpers/broken_lab.ts";

const SCENARIO = `
description: broken labs that the fault checks must report
network: { Network: 10.244.0.0/16, Backend: { Type: vxlan } }
pods: { per-node: 1 }
steps:
  - wait: agents-ready
    timeout: 60s
    critical: true
  - name: a log line from before the step
    agent-log: { node: n1, matches: "Starting flannel-lab agent" }
    timeout: 1s
  - name: control, the same line since the agent started
    agent-log: { node: n1, matches: "Starting flannel-lab agent", since: start }
  - name: outage longer than allowed
    fault: { link: n1:eth1, set: down, for: 2s }
    expect: { max-outage: 500ms, recovers-within: 5s }
  - name: loss where none is allowed
    fault: { link: n1:eth1, loss: 30%, for: 3s }
    expect: { probe-loss: "0%", recovers-within: 5s }
  - name: a loss fault that drops nothing
    fault: { link: n1:eth1, loss: 0%, for: 2s }
    expect: { probe-loss: ">= 10%" }
  - name: control, a 1 s outage within bounds
    fault: { link: n1:eth1, set: down, for: 1s }
    expect: { max-outage: 5s, recovers-within: 5s }
  - name: etcd down before a restart
    fault: { etcd: stop }
  - name: a restarted agent that never comes up
    fault: { agent: n2, action: kill, restart-after: 500ms }
    expect: { same-subnet: true }
    timeout: 6s
  - name: etcd back
    fault: { etcd: start }
  - wait: agents-ready
    timeout: 30s
  - name: control, a restarted agent keeps its subnet and MAC
    fault: { agent: n2, action: kill, restart-after: 500ms }
    expect: { same-subnet: true, same-vtep-mac: true, recovers-within: 10s }
    timeout: 30s
  - name: stop n2's agent
    fault: { agent: n2, action: stop }
  - name: a route deleted by hand on n2 while its agent is stopped
    fault: { delete: route, node: n2, peer: n1 }
  - name: the kernel check sees the missing route
    kernel: { node: n2 }
    expect: desired
    fails-with: "n2's kernel state differs from what the leases call for: 1 missing, 0 extra, 0 different"
  - name: stop n1's agent
    fault: { agent: n1, action: stop }
  - name: n2 leaves (its lease deleted) while n1's agent is down
    fault: { lease: delete, node: n2 }
  - name: the kernel check sees n1's stale entries for n2
    kernel: { node: n1 }
    expect: desired
    fails-with: "n1's kernel state differs from what the leases call for: 0 missing, 3 extra, 0 different"
  - name: start n1's agent
    fault: { agent: n1, action: start }
  - name: control, n1's agent removes the stale entries
    kernel: { node: n1 }
    expect: desired
    timeout: 15s
  - name: start n2's agent
    fault: { agent: n2, action: start }
  - name: control, n2's agent restores its route
    kernel: { node: n2 }
    expect: desired
    timeout: 15s
`;

Deno.test({
  name:
    "e2e: fault checks fail on a lab that is really broken (outage, loss, a fault that does nothing, a restart that never comes up)",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const r = await runBrokenLab("vxlan-same-subnet", SCENARIO);

    const early = testcase(r.junit, "a log line from before the step");
    match(early, /<failure/);
    match(
      early,
      /n1's agent log has no line matching \/Starting flannel-lab agent\/ written during this step/,
    );
    assert(!testcase(r.junit, "control, the same line since the agent started").includes("<failure"));

    const outage = testcase(r.junit, "outage longer than allowed");
    match(outage, /<failure/);
    match(outage, /the probe saw an outage of (\d+) ms, longer than max-outage 500 ms/);
    const ms = Number(/outage of (\d+) ms/.exec(outage)![1]);
    assert(ms >= 1500, `a 2 s link-down measured as a ${ms} ms outage`);

    const loss = testcase(r.junit, "loss where none is allowed");
    match(loss, /<failure/);
    match(loss, /probe loss [\d.]+% is not <= 0%/);

    const nothing = testcase(r.junit, "a loss fault that drops nothing");
    match(nothing, /<failure/);
    match(nothing, /probe loss 0% is not >= 10%/);

    const control = testcase(r.junit, "control, a 1 s outage within bounds");
    assert(!control.includes("<failure"), control);
    // The restart checks wait for the new process: with etcd down it never holds its lease, and the step
    // says so instead of reading what the killed agent left behind.
    const stuck = testcase(r.junit, "a restarted agent that never comes up");
    match(stuck, /<failure/);
    match(stuck, /n2's restarted agent did not write subnet.env within the step's timeout/);
    const restarted = testcase(r.junit, "control, a restarted agent keeps its subnet and MAC");
    assert(!restarted.includes("<failure"), restarted);
    const readyMs = Number(/name="agentReadyMs" value="(\d+)"/.exec(restarted)?.[1] ?? NaN);
    assert(
      readyMs >= 500,
      `the new agent held its lease ${readyMs} ms after the kill (restart-after 500ms)`,
    );
    match(
      r.out,
      /\[12\] control, a restarted agent keeps its subnet and MAC .*kept subnet 10\.244\.\d+\.0\/24 and kept VTEP MAC/,
    );

    // Kernel state: a route missing on a node whose agent is stopped, and stale entries left on a node whose
    // agent was down when a peer left, are both reported; the agents started again clear them.
    for (
      const name of [
        "the kernel check sees the missing route",
        "the kernel check sees n1's stale entries for n2",
      ]
    ) {
      assert(!testcase(r.junit, name).includes("<failure"), testcase(r.junit, name));
    }
    match(r.out, /failed as expected: n2's kernel state differs .*1 missing/);
    match(r.out, /failed as expected: n1's kernel state differs .*3 extra/);
    for (
      const name of [
        "control, n1's agent removes the stale entries",
        "control, n2's agent restores its route",
      ]
    ) {
      assert(!testcase(r.junit, name).includes("<failure"), testcase(r.junit, name));
    }

    const measured = Number(/longest outage (\d+) ms/.exec(r.out)?.[1] ?? NaN);
    assert(measured >= 800, `the control's 1 s link-down measured as a ${measured} ms outage\n${r.out}`);
  },
});
