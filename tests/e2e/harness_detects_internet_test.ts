/**
 * The matrix's `outside` column is the router's stand-in for the internet (203.0.113.1 on r1's loopback in the
 * L3-split topology): with n1's masquerade rules gone, n1's pods cannot reach it, and the matrix says so; once
 * n1's agent puts the rules back, the same matrix passes.
 */
import { match, ok as assert } from "node:assert/strict";
import { runBrokenLab, testcase } from "../helpers/broken_lab.ts";

const SCENARIO = `
description: pods behind a node without ip-masq cannot reach the internet
network: { Network: 10.244.0.0/16, Backend: { Type: vxlan } }
pods: { per-node: 1 }
steps:
  - wait: agents-ready
    timeout: 60s
    critical: true
  - name: control, every pod reaches the internet
    connectivity: all-pods
    timeout: 15s
  - name: stop n1's agent
    fault: { agent: n1, action: stop }
  - name: n1's masquerade rules deleted while its agent is stopped
    fault: { delete: masquerade, node: n1 }
  - name: the matrix sees n1's pod cut off from the internet
    connectivity: all-pods
    timeout: 2s
  - name: start n1's agent
    fault: { agent: n1, action: start }
  - name: control, n1's agent puts its masquerade rules back
    connectivity: all-pods
    timeout: 15s
`;

Deno.test({
  name: "e2e: the matrix's outside column is the router's internet address, and lost masquerade cuts it off",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const r = await runBrokenLab("vxlan-split-subnet", SCENARIO);
    const before = testcase(r.junit, "control, every pod reaches the internet");
    assert(!before.includes("<failure"), before);
    match(before, /outside: 203\.0\.113\.1 on r1, the internet/);

    // Unmasqueraded, n1/p1's echo request reaches r1 with its pod source address; r1 has no route to the pod
    // network, so the reply never comes back. n2's pod still masquerades and gets through.
    const cut = testcase(r.junit, "the matrix sees n1's pod cut off from the internet");
    match(cut, /<failure/);
    match(cut, /1 of \d+ cells differ from the expectation: n1\/p1 -> outside\b/);
    const after = testcase(r.junit, "control, n1's agent puts its masquerade rules back");
    assert(!after.includes("<failure"), after);
  },
});
