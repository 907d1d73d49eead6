/**
 * The harness's data-plane verdicts fail on broken labs: a node whose firewall drops the overlay port (inside a
 * fault window, and while a matrix, a ping and a latency step run), a node whose masquerade rules are gone, a
 * narrowed underlay link, a route deleted while its agent is stopped (mirror, wait), and a restarted agent whose
 * subnet another host took while it was down (leases, same-subnet). Broken cases sit beside controls that pass
 * on the same lab, so the failures come from the checks, and every case asserts what the failure says.
 */
import { equal, match, ok as assert } from "node:assert/strict";
import { runBrokenLab, testcase } from "../helpers/broken_lab.ts";

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
  - name: a ping across the firewalled port
    ping: { from: n1/p1, to: n2/p1, count: 2 }
    timeout: 2s
  - name: latency across the firewalled port
    latency: { from: n1/p1, to: n2/p1, count: 10, repeats: 1 }
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
  - name: n2's underlay link narrowed to 1400 bytes
    fault: { link: n2:eth1, mtu: 1400 }
  - name: the mtu step sees the narrowed link
    mtu: all-pod-paths
    timeout: 2s
  - name: n2's underlay link back to 1500 bytes
    fault: { link: n2:eth1, mtu: 1500 }
  - name: control, the mtu step after the link is restored
    mtu: all-pod-paths
  - name: etcd stopped
    fault: { etcd: stop }
  - name: stop n1's agent again
    fault: { agent: n1, action: stop }
  - name: start n1's agent while etcd is down
    fault: { agent: n1, action: start }
  - name: wait for an agent that cannot lease
    wait: agents-ready
    timeout: 3s
  - name: etcd started
    fault: { etcd: start }
  - name: control, wait once etcd is back
    wait: agents-ready
    timeout: 30s
  - name: stop n2's agent
    fault: { agent: n2, action: stop }
  - name: a route on n2 deleted by hand while its agent is stopped
    fault: { delete: route, node: n2, peer: n1 }
  - name: the mirror check sees n2 lacking what n1 has
    mirror: { nodes: [n1, n2] }
    timeout: 2s
  - name: n2's subnet taken by another host while its agent is down
    fault: { lease: take, node: n2 }
  - name: the lease check sees a lease held by no node of the lab
    leases: {}
    timeout: 2s
  - name: a restarted agent given a new subnet
    fault: { agent: n2, action: restart }
    expect: { same-subnet: true }
    timeout: 20s
  - name: etcd cut off from every agent
    fault: { firewall: etcd, drop: tcp/2379 }
  - name: a lease deleted while its peer cannot hear etcd
    fault: { lease: delete, node: n2 }
    expect: { gone-from-peers-within: 3s }
    timeout: 5s
  - name: etcd reachable again
    fault: { firewall: etcd, allow: tcp/2379 }
`;

Deno.test({
  name:
    "e2e: data-plane checks fail on a firewalled port, lost masquerade, a narrowed link, a lost route, a taken subnet",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const r = await runBrokenLab("vxlan-same-subnet", SCENARIO);

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

    const ping = testcase(r.junit, "a ping across the firewalled port");
    match(ping, /<failure/);
    match(ping, /n1\/p1 did not reach n2\/p1, expected success/);
    const latency = testcase(r.junit, "latency across the firewalled port");
    match(latency, /<failure/);
    match(
      latency,
      /no latency to measure: n1\/p1 -> n2\/p1 got 0 of 10 ping answers, n1 -> n2 got 10 of 10/,
    );

    const narrow = testcase(r.junit, "the mtu step sees the narrowed link");
    match(narrow, /<failure/);
    match(narrow, /carries at most 1400 bytes/);
    const mtuControl = testcase(r.junit, "control, the mtu step after the link is restored");
    assert(!mtuControl.includes("<failure"), mtuControl);

    const mirror = testcase(r.junit, "the mirror check sees n2 lacking what n1 has");
    match(mirror, /<failure/);
    match(mirror, /route/);
    // The subnet.env the stopped agent left behind does not count as the new one holding a lease.
    const wait = testcase(r.junit, "wait for an agent that cannot lease");
    match(wait, /<failure/);
    match(wait, /no subnet.env written since the agent started on n1: not holding a lease yet/);
    assert(!testcase(r.junit, "control, wait once etcd is back").includes("<failure"));
    const leases = testcase(r.junit, "the lease check sees a lease held by no node of the lab");
    match(leases, /<failure/);
    match(
      leases,
      /the lease 10\.244\.\d+\.0\/24 carries PublicIP 192\.0\.2\.1, which is no node of this lab/,
    );

    // The restarted agent finds its old subnet held by 192.0.2.1 and must lease another; same-subnet says so.
    const moved = testcase(r.junit, "a restarted agent given a new subnet");
    match(moved, /<failure/);
    match(moved, /n2 did not keep its subnet (10\.244\.\d+\.0\/24) \(now (10\.244\.\d+\.0\/24)\)/);
    const [, was, now] = /did not keep its subnet (\S+) \(now (\S+)\)/.exec(moved)!;
    assert(was !== now, moved);

    // A peer cut off from etcd (both directions of tcp/2379 dropped on the etcd node) keeps a deleted
    // lease's entries.
    const partitioned = testcase(r.junit, "a lease deleted while its peer cannot hear etcd");
    match(partitioned, /<failure/);
    match(partitioned, /n2's entries are still on its peers/);
  },
});
