import assert from "node:assert/strict";
import type { Hop } from "../../trace/follow.ts";
import type { TraceRun } from "../../trace/run.ts";
import { traceProblems } from "./trace.ts";

const hop = (where: string, iface: string, encap = false): Hop => ({
  tUs: 0,
  where,
  iface,
  kind: "request",
  packet: { src: "10.244.1.2", dst: "10.244.2.2", len: 84, ttl: 64, df: false },
  ...(encap
    ? {
      encap: {
        kind: "vxlan" as const,
        vni: 1,
        src: "192.168.61.1",
        dst: "192.168.62.2",
        sport: 4000,
        dport: 8472,
        len: 134,
        ttl: 64,
        df: false,
      },
    }
    : {}),
});

const probe = { proto: "icmp" as const, from: "n1/p1", to: "n2/p1", src: "10.244.1.2", dst: "10.244.2.2" };

const lost: TraceRun = {
  trace: {
    probe,
    request: [hop("n1/p1", "eth0"), hop("n1", "cni0")],
    reply: [],
    errors: [],
    reached: false,
    answered: false,
  },
  findings: ["lost at n1: it came in on cni0 and n1 cannot forward it to 10.244.2.2: network is unreachable"],
  lostAfter: hop("n1", "cni0"),
};

const through: TraceRun = {
  trace: {
    probe,
    request: [
      hop("n1/p1", "eth0"),
      hop("n1", "flannel.1"),
      hop("n1", "eth1", true),
      hop("r1", "eth1", true),
      hop("n2", "eth1", true),
      hop("n2/p1", "eth0"),
    ],
    reply: [hop("n1/p1", "eth0")],
    errors: [],
    reached: true,
    answered: true,
  },
  findings: [],
};

Deno.test("trace expectations: each fails on a trace that does not match it, and names what it saw", () => {
  assert.deepEqual(traceProblems(lost, { expect: { reaches: false, lostAt: "n1" } }), []);
  assert.match(
    traceProblems(lost, { expect: { reaches: false, lostAt: "r1" } }).join(),
    /lost after n1:cni0, expected at r1/,
  );
  assert.match(traceProblems(lost, { expect: {} }).join(), /was lost: lost at n1/);
  assert.match(traceProblems(through, { expect: { reaches: false } }).join(), /expected it lost/);
  assert.deepEqual(
    traceProblems(through, {
      expect: { encap: { kind: "vxlan", port: 8472 }, crosses: ["n1:flannel.1", "r1:eth1"] },
    }),
    [],
  );
  assert.match(
    traceProblems(through, { expect: { encap: { kind: "none" } } }).join(),
    /on n1:eth1 the request was vxlan to UDP 8472, expected none/,
  );
  assert.match(
    traceProblems(through, { expect: { crosses: ["r1:eth1", "n1:flannel.1"] } }).join(),
    /did not cross n1:flannel\.1 after r1:eth1/,
  );
  assert.match(
    traceProblems(through, { expect: { path: ["n1/p1", "n1", "n2", "n2/p1"] } }).join(),
    /passed n1\/p1 > n1 > r1 > n2 > n2\/p1/,
  );
  assert.match(
    traceProblems(through, { expect: { narrowLink: { mtu: 1400 } } }).join(),
    /no link split the probe/,
  );
  assert.match(
    traceProblems(lost, { expect: { reaches: false, finds: "firewall" } }).join(),
    /no finding matches/,
  );
});
