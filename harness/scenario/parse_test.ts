import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { resolveTopology } from "../topology/mod.ts";
import { InputError } from "../topology/errors.ts";
import { expectedReach, parseDuration, parseScenario } from "./mod.ts";
import { parsePercentBound, parseRatioBand } from "./parse.ts";

const topoText = await Deno.readTextFile(
  new URL("../../topologies/hostgw-split-subnet.clab.yml", import.meta.url),
);
const topo = resolveTopology("/t/hostgw-split-subnet.clab.yml", topoText);

function errorOf(text: string): string {
  try {
    parseScenario("s.yml", text, topo);
  } catch (error) {
    if (!(error instanceof InputError)) throw error;
    return error.message;
  }
  throw new Error("expected an error");
}

Deno.test("every shipped scenario parses against its topology", async () => {
  const dir = new URL("../../topologies/", import.meta.url);
  for await (const e of Deno.readDir(dir)) {
    if (!e.name.endsWith(".scenario.yml")) continue;
    const t = resolveTopology(
      `/t/x.clab.yml`,
      await Deno.readTextFile(new URL(e.name.replace(".scenario.yml", ".clab.yml"), dir)),
    );
    const sc = parseScenario(e.name, await Deno.readTextFile(new URL(e.name, dir)), t);
    assert(sc.steps.length > 0);
  }
});

Deno.test("unknown keys are errors with line and the allowed keys", () => {
  const msg = errorOf("network: {Network: 10.244.0.0/16}\nsteps:\n  - wait: agents-ready\n    timout: 5s\n");
  assert(msg.includes("s.yml:4:5") && msg.includes("timout") && msg.includes("allowed here"), msg);
});

Deno.test("names are checked against the topology", () => {
  assert(
    errorOf("network: {Network: 10.244.0.0/16}\nsteps:\n  - kernel: {node: n9}\n").includes(`node "n9"`),
  );
  assert(
    errorOf(
      "network: {Network: 10.244.0.0/16}\nsteps:\n  - capture: {link: r1:eth9, during: {ping: {from: n1/p1, to: n2/p1}}}\n",
    ).includes("eth9"),
  );
  assert(
    errorOf(
      "network: {Network: 10.244.0.0/16}\npods: {per-node: 1}\nsteps:\n  - ping: {from: n1/p1, to: n2/p2}\n",
    ).includes("does not exist"),
  );
});

Deno.test("host-gw across a router is expected unreachable, with the reason", () => {
  const sc = parseScenario(
    "s.yml",
    "network: {Network: 10.244.0.0/16, Backend: {Type: host-gw}}\nsteps: []\n",
    topo,
  );
  const n1 = topo.nodes.find((n) => n.name === "n1")!;
  const n2 = topo.nodes.find((n) => n.name === "n2")!;
  const r = expectedReach(sc, n1, n2);
  assertEquals(r.pass, false);
  assert(r.why.includes("different subnets"));
});

Deno.test("fault steps: deletes, windows, impairments and their expectations", () => {
  const sc = parseScenario(
    "s.yml",
    [
      "network: {Network: 10.244.0.0/16}",
      "steps:",
      "  - fault: {delete: fdb, node: n1, peer: n2}",
      "    expect: {restored-within: 1s}",
      "  - fault: {link: r1:eth1, loss: 20%, for: 3s}",
      '    expect: {probe-loss: "<= 50%", recovers-within: 2s}',
      "  - fault: {link: r1:eth1, rate: 10mbit, for: 1s}",
      "  - fault: {etcd: stop, for: 5s}",
      '    expect: {probe-loss: "0%"}',
      "  - fault: {lease: delete, node: n2}",
      "    expect: {gone-from-peers-within: 5s}",
      "  - throughput: {from: n1/p1, to: n2/p1, repeats: 2}",
      '    expect: {ratio: ">= 0.5"}',
      "  - latency: {from: n1/p1, to: n2/p1}",
      "    expect: {ratio: 0.5..3}",
      "",
    ].join("\n"),
    topo,
  );
  const [del, loss, rate, etcd, lease, tp, lat] = sc.steps;
  assertEquals(del!.action, {
    kind: "fault",
    fault: { kind: "delete", what: "fdb", node: "n1", peer: "n2" },
  });
  assertEquals(del!.expect, { restoredWithinMs: 1000 });
  assertEquals(loss!.action, {
    kind: "fault",
    fault: { kind: "netem", node: "r1", iface: "eth1", reset: false, lossPct: 20, forMs: 3000 },
  });
  assertEquals(loss!.expect, { probeLoss: { op: "<=", pct: 50 }, recoversWithinMs: 2000 });
  assertEquals((rate!.action as { fault: { rateKbit: number } }).fault.rateKbit, 10_000);
  assertEquals(etcd!.expect, { probeLoss: { op: "<=", pct: 0 } });
  assertEquals(lease!.expect, { goneFromPeersWithinMs: 5000 });
  assertEquals(tp!.action, { kind: "throughput", from: "n1/p1", to: "n2/p1", seconds: 2, repeats: 2 });
  assertEquals(tp!.expect, { ratio: { min: 0.5 } });
  assertEquals(lat!.expect, { ratio: { min: 0.5, max: 3 } });
  assertEquals(parsePercentBound("< 1.5 %"), { op: "<", pct: 1.5 });
  assertEquals(parsePercentBound("150%"), undefined);
  assertEquals(parseRatioBand({ max: 2 }), { max: 2 });
  assertEquals(parseRatioBand("fast"), undefined);
  assertEquals(parseDuration("1.5s"), 1500);
});

Deno.test("bad fault keys name what is allowed", () => {
  assert(
    errorOf("network: {Network: 10.244.0.0/16}\nsteps:\n  - fault: {delete: rule, node: n1}\n").includes(
      "route, neigh, fdb, vxlan-device",
    ),
  );
  assert(
    errorOf("network: {Network: 10.244.0.0/16}\nsteps:\n  - fault: {delete: route, node: n1}\n").includes(
      "needs peer",
    ),
  );
  assert(
    errorOf(
      'network: {Network: 10.244.0.0/16}\nsteps:\n  - fault: {etcd: stop}\n    expect: {probe-loss: "lots"}\n',
    )
      .includes("probe-loss"),
  );
});

Deno.test("mirror steps and the same-form lease expectation", () => {
  const sc = parseScenario(
    "s.yml",
    [
      "network: {Network: 10.244.0.0/16}",
      "steps:",
      "  - leases: {}",
      "    expect: {count: 2, same-form: true}",
      "  - mirror: {nodes: [n1, n2]}",
      "",
    ].join("\n"),
    topo,
  );
  assertEquals(sc.steps[0]!.expect, { count: 2, sameForm: true });
  assertEquals(sc.steps[1]!.action, { kind: "mirror", a: "n1", b: "n2" });
  assertEquals(sc.steps[1]!.name, "kernel state on n1 mirrors n2's");
  for (const bad of ["{nodes: [n1]}", "{nodes: [n1, n1]}", "{nodes: [n1, r1]}", "{node: n1}"]) {
    let error: unknown;
    try {
      parseScenario("s.yml", `network: {Network: 10.244.0.0/16}\nsteps:\n  - mirror: ${bad}\n`, topo);
    } catch (e) {
      error = e;
    }
    assert(error instanceof InputError, `mirror: ${bad} is refused`);
  }
});

Deno.test("keys that a fault kind would ignore are errors with line and what applies there", () => {
  const scenario = (step: string) => `network: {Network: 10.244.0.0/16}\nsteps:\n${step}`;
  const cases: [string, RegExp][] = [
    [
      "  - fault: {link: n1:eth1, set: down, for: 1s}\n    expect: {restored-within: 2s}\n",
      /s\.yml:4:\d+.*"restored-within" does not apply to a link set down; allowed there: recovers-within, probe-loss, max-outage, late-after/,
    ],
    [
      "  - fault: {agent: n1, action: stop, signal: KILL}\n",
      /s\.yml:3:\d+.*"signal" does not apply to agent action stop; allowed there: agent, action, restart-after, for/,
    ],
    [
      "  - fault: {lease: delete, node: n1, for: 2s}\n",
      /"for" does not apply to a lease deletion; allowed there: lease, node/,
    ],
    [
      "  - fault: {link: n1:eth1, set: down, loss: 10%}\n",
      /"loss" does not apply to a link set down\/up; allowed there: link, set, for/,
    ],
    [
      "  - fault: {delete: vxlan-device, node: n1, peer: n2}\n",
      /"peer" does not apply to deleting a vxlan-device; allowed there: delete, node/,
    ],
    ["  - fault: {delete: route, node: n1, peer: n2, for: 1s}\n", /"for" does not apply to deleting a route/],
    [
      "  - fault: {agent: n1, action: kill}\n    expect: {same-subnet: true}\n",
      /"same-subnet" does not apply to agent action kill; allowed there: .*gone-from-peers-within/,
    ],
    [
      // Started for a while, the agent ends stopped: there is no new process to compare with.
      "  - fault: {agent: n1, action: start, for: 2s}\n    expect: {same-subnet: true}\n",
      /"same-subnet" does not apply to agent action start; allowed there: .*gone-from-peers-within/,
    ],
    [
      "  - fault: {agent: n1, action: kill, restart-after: 1s, for: 2s}\n",
      /restart-after and for both bring the agent back/,
    ],
    ["  - fault: {etcd: stop, node: n1}\n", /"node" does not apply to etcd stop; allowed there: etcd, for/],
  ];
  for (const [step, want] of cases) {
    const msg = errorOf(scenario(step));
    assert(want.test(msg), `${step.trim()}\n  gave: ${msg}`);
  }
  // The keys that do apply still parse.
  const ok = parseScenario(
    "s.yml",
    scenario(
      "  - fault: {agent: n1, action: kill, restart-after: 1s}\n    expect: {same-subnet: true, max-outage: 2s, late-after: 300ms}\n",
    ),
    topo,
  );
  assertEquals(ok.steps[0]!.expect, { sameSubnet: true, maxOutageMs: 2000, lateAfterMs: 300 });
});

Deno.test("firewall drops, masquerade deletion and the fragment count parse, and their mistakes are named", () => {
  const scenario = (step: string) => `network: {Network: 10.244.0.0/16}\nsteps:\n${step}`;
  const sc = parseScenario(
    "s.yml",
    scenario(
      "  - fault: {firewall: n2, drop: udp/8472, for: 2s}\n    expect: {max-outage: 3s}\n" +
        "  - fault: {delete: masquerade, node: n1}\n" +
        "  - capture: {link: r1:eth1, during: {ping: {from: n1/p1, to: n2/p1, size: 1400}}}\n" +
        "    expect: {fragments: 0}\n",
    ),
    topo,
  );
  assertEquals(sc.steps[0]!.action, {
    kind: "fault",
    fault: { kind: "firewall", node: "n2", rule: "drop", proto: "udp", port: 8472, forMs: 2000 },
  });
  assertEquals(sc.steps[0]!.expect, { maxOutageMs: 3000 });
  assertEquals(sc.steps[1]!.action, {
    kind: "fault",
    fault: { kind: "delete", what: "masquerade", node: "n1" },
  });
  assertEquals(sc.steps[2]!.expect, { fragments: 0 });
  const take = parseScenario("s.yml", scenario("  - fault: {lease: take, node: n2}\n"), topo);
  assertEquals(take.steps[0]!.action, { kind: "fault", fault: { kind: "lease-take", node: "n2" } });
  const cases: [string, RegExp][] = [
    ["  - fault: {firewall: n2, drop: icmp}\n", /fault\.drop: must be a protocol and port like udp\/8472/],
    ["  - fault: {firewall: n2, drop: udp/70000}\n", /must be a protocol and port/],
    ["  - fault: {firewall: n9, drop: udp/8472}\n", /node "n9"/],
    ["  - fault: {firewall: n2, drop: udp/8472, peer: n1}\n", /"peer" does not apply to a firewall drop/],
    [
      "  - fault: {firewall: n2, allow: udp/8472, for: 2s}\n",
      /"for" does not apply to lifting a firewall drop/,
    ],
    ["  - fault: {firewall: n2, allow: udp/8472, drop: udp/8472}\n", /either drops a port or allows it/],
    [
      "  - fault: {delete: masquerade, node: n1, peer: n2}\n",
      /"peer" does not apply to deleting a masquerade/,
    ],
    ["  - fault: {lease: take, node: n2, for: 2s}\n", /"for" does not apply to a lease given away/],
    ["  - fault: {lease: steal, node: n2}\n", /fault: a lease fault needs one of lease: delete, lease: take/],
    [
      "  - fault: {delete: masquerade, node: n1}\n    expect: {restored-within: 5s}\n",
      /"restored-within" does not apply/,
    ],
  ];
  for (const [step, want] of cases) {
    const msg = errorOf(scenario(step));
    assert(want.test(msg), `${step.trim()}\n  gave: ${msg}`);
  }
});

Deno.test("connectivity overrides name real matrix cells, normalized, and a cell that is not one is an error", () => {
  const scenario = (step: string) => `network: {Network: 10.244.0.0/16}\nsteps:\n${step}`;
  const sc = parseScenario(
    "s.yml",
    scenario(
      '  - connectivity: {scope: all-pods, override: {"n1/p1->outside": fail, " n2/p1 ->  n1 ": pass}}\n',
    ),
    topo,
  );
  assertEquals(sc.steps[0]!.action, {
    kind: "connectivity",
    scope: "all-pods",
    overrides: { "n1/p1 -> outside": false, "n2/p1 -> n1": true },
  });
  const cases: [string, RegExp][] = [
    ['{"n1/p1 to n2/p1": fail}', /must name a cell as "<pod or node> -> <pod, node or outside>"/],
    ['{"n1/p9 -> n2/p1": fail}', /p9/],
    ['{"n1 -> n2": fail}', /"n1 -> n2" is not one of its cells/],
    ['{"n1 -> outside": fail}', /not one of its cells/],
    ['{"n1/p1 -> n2/p1": maybe}', /must be pass or fail/],
  ];
  for (const [override, want] of cases) {
    const msg = errorOf(scenario(`  - connectivity: {scope: all-pods, override: ${override}}\n`));
    assert(want.test(msg), `${override}\n  gave: ${msg}`);
  }
});

Deno.test("a fault mapping is read by the one kind its trigger key and form select", () => {
  const scenario = (step: string) => `network: {Network: 10.244.0.0/16}\nsteps:\n${step}`;
  const cases: [string, RegExp][] = [
    [
      "  - fault: {node: n1}\n",
      /fault: a fault needs one of link, agent, etcd, lease, delete, firewall, exec, network$/,
    ],
    [
      "  - fault: {link: r1:eth1}\n",
      /fault: a link fault needs one of set: down\|up, mtu: N, recreate: true, loss: P%, rate: R, netem: \{delay, jitter, loss, rate\} \| reset$/,
    ],
    [
      "  - fault: {link: r1:eth1, set: down, agent: n1}\n",
      /fault: a fault does one thing; found link and agent$/,
    ],
    [
      "  - fault: {link: r1:eth1, set: down, mtu: 1400}\n",
      /"mtu" does not apply to a link set down\/up; allowed there: link, set, for/,
    ],
    [
      "  - fault: {etcd: stop, bogus: 1}\n",
      /unknown key "bogus"; allowed here: link, set, mtu, recreate, netem, loss, rate, agent, action, signal, restart-after, etcd, lease, node, delete, peer, firewall, drop, allow, exec, on, undo, network, for/,
    ],
    [
      "  - fault: {etcd: stop}\n    expect: {ratio: 1}\n",
      /unknown key "ratio"; allowed here: recovers-within, same-subnet, same-vtep-mac, restored-within, probe-loss, max-outage, late-after, gone-from-peers-within/,
    ],
  ];
  for (const [step, want] of cases) {
    const msg = errorOf(scenario(step));
    assert(want.test(msg), `${step.trim()}\n  gave: ${msg}`);
  }
  const sc = parseScenario("s.yml", scenario("  - fault: {link: r1:eth1, mtu: 1400, for: 2s}\n"), topo);
  assertEquals(sc.steps[0]!.action, {
    kind: "fault",
    fault: { kind: "link-mtu", node: "r1", iface: "eth1", mtu: 1400, forMs: 2000 },
  });
  assertEquals(sc.steps[0]!.name, "link r1:eth1 mtu 1400");
});

Deno.test("exec, network and link-recreate faults parse, and their mistakes are named", () => {
  const scenario = (step: string) => `network: {Network: 10.244.0.0/16}\nsteps:\n${step}`;
  const bad: [string, RegExp][] = [
    [
      '  - fault: {exec: "ip link set eth1 down", on: n1, for: 2s}\n',
      /needs the command that undoes it \(undo\)/,
    ],
    ["  - fault: {exec: 3, on: n1}\n", /exec: must be a command/],
    ['  - fault: {exec: "true", on: nope}\n', /node "nope" is not in the topology/],
    [
      "  - fault: {network: {Bogus: 1}}\n",
      /unknown key "Bogus"; allowed here: Network, SubnetLen, SubnetMin, SubnetMax, Backend/,
    ],
    [
      "  - fault: {network: {Backend: {Type: vxlan}}, for: 2s}\n",
      /"for" does not apply to a network config change/,
    ],
    ["  - fault: {link: r1:eth1, recreate: yes}\n", /recreate: must be true/],
    ["  - fault: {link: r1:eth1, recreate: true, for: 1s}\n", /"for" does not apply to a link recreated/],
  ];
  for (const [step, want] of bad) {
    const msg = errorOf(scenario(step));
    assert(want.test(msg), `${step.trim()}\n  gave: ${msg}`);
  }
  const sc = parseScenario(
    "s.yml",
    scenario(
      '  - fault: {exec: "ip link set flannel.1 address 02:00:00:00:00:01", on: n1}\n' +
        "  - fault: {network: {Backend: {Type: vxlan, Port: 4790}}}\n" +
        "  - fault: {link: r1:eth1, recreate: true}\n",
    ),
    topo,
  );
  assertEquals(sc.steps.map((s) => s.action), [
    {
      kind: "fault",
      fault: { kind: "exec", on: "n1", command: "ip link set flannel.1 address 02:00:00:00:00:01" },
    },
    { kind: "fault", fault: { kind: "network", config: '{"Backend":{"Type":"vxlan","Port":4790}}' } },
    { kind: "fault", fault: { kind: "link-recreate", node: "r1", iface: "eth1" } },
  ]);
});

Deno.test("repro blocks, per-agent fails-with and agents: resolve for the lab's agent", () => {
  const text = (extra = "") =>
    `repro:
  id: S1
  title: a title
  symptom: what a user sees
  cause: why
  fix: what to do
  upstream: [flannel-io/flannel#1033]
  verdict: { ours: { handled: "inserts its jump first" }, upstream: reproduced }
network: {Network: 10.244.0.0/16}
steps:
  - ping: { from: n1/p1, to: n2/p1 }
    fails-with: { upstream: "did not reach" }
  - ping: { from: n1/p1, to: n2/p1 }
    agents: [ours]
${extra}`;
  const ours = parseScenario("s.yml", text(), topo);
  assertEquals(ours.agent, "ours");
  assertEquals(ours.repro?.verdict, { ours: "handled", upstream: "reproduced" });
  assertEquals(ours.repro?.why, { ours: "inserts its jump first" });
  assertEquals(ours.steps.map((s) => s.failsWith), [undefined, undefined]);
  const upTopo = {
    ...topo,
    nodes: topo.nodes.map((n) => n.role === "node" ? { ...n, agent: "upstream" as const } : n),
  };
  const up = parseScenario("s.yml", text(), upTopo);
  assertEquals(
    up.steps.map((s) => [s.index, s.failsWith]),
    [[1, "did not reach"]],
    "the ours-only step is left out",
  );
  const bad: [string, RegExp][] = [
    [
      "  - ping: { from: n1/p1, to: n2/p1 }\n    agents: [theirs]\n",
      /agents: must list agents among ours, upstream/,
    ],
    [
      '  - ping: { from: n1/p1, to: n2/p1 }\n    fails-with: { ours: "(" }\n',
      /not a valid regular expression/,
    ],
    [
      "  - ping: { from: n1/p1, to: n2/p1 }\n    fails-with: { both: x }\n",
      /unknown key "both"; allowed here: ours, upstream/,
    ],
  ];
  for (const [step, want] of bad) {
    const msg = errorOf(text(step));
    assert(want.test(msg), `${step.trim()}\n  gave: ${msg}`);
  }
  assert(/verdict\.upstream: must be one of reproduced, handled, not-applicable/.test(
    errorOf(text().replace("upstream: reproduced", "upstream: broken")),
  ));
  assert(
    /upstream\[0\]: "1033" is not owner\/repo#number/.test(
      errorOf(text().replace("flannel-io/flannel#1033", "1033")),
    ),
  );
  const mixed = {
    ...topo,
    nodes: topo.nodes.map((n) => n.name === "n1" ? { ...n, agent: "upstream" as const } : n),
  };
  assert(/per-agent fails-with needs every node to run the same agent/.test(
    (() => {
      try {
        parseScenario("s.yml", text(), mixed);
        return "";
      } catch (e) {
        return (e as Error).message;
      }
    })(),
  ));
});

Deno.test("trace steps parse with their path expectations, and their mistakes are named", () => {
  const scenario = (step: string) =>
    `network: {Network: 10.244.0.0/16}\npods: {per-node: 1}\nsteps:\n${step}`;
  const sc = parseScenario(
    "s.yml",
    scenario(
      "  - trace: { from: n1/p1, to: n2/p1, proto: udp, size: 100 }\n" +
        "    expect: { crosses: [n1:eth1, r1:eth2], path: [n1/p1, n1, r1, n2, n2/p1], encap: vxlan 8472 }\n" +
        "  - trace: { from: n1/p1, to: n2/p1 }\n" +
        '    expect: { reaches: false, narrow-link: { link: "r1:eth2", mtu: 1400 } }\n',
    ),
    topo,
  );
  assertEquals(sc.steps[0]!.action, {
    kind: "trace",
    from: "n1/p1",
    to: "n2/p1",
    proto: "udp",
    size: 100,
    dontFragment: false,
  });
  assertEquals(sc.steps[0]!.expect, {
    crosses: ["n1:eth1", "r1:eth2"],
    path: ["n1/p1", "n1", "r1", "n2", "n2/p1"],
    encap: { kind: "vxlan", port: 8472 },
  });
  assertEquals(sc.steps[1]!.expect, { reaches: false, narrowLink: { link: "r1:eth2", mtu: 1400 } });
  assertEquals(sc.steps[1]!.name, "trace n1/p1 -> n2/p1 (icmp)");
  const bad: [string, RegExp][] = [
    ["  - trace: { from: n1/p1, to: n2/p1, proto: sctp }\n", /proto: must be icmp, udp or tcp/],
    ["  - trace: { from: n1, to: n2/p1 }\n", /must be a pod "node\/pN"/],
    [
      "  - trace: { from: n1/p1, to: n2/p1 }\n    expect: { encap: gre }\n",
      /encap: must be vxlan, udp or none/,
    ],
    [
      "  - trace: { from: n1/p1, to: n2/p1 }\n    expect: { crosses: [eth1] }\n",
      /crosses: must be a list of node:iface/,
    ],
    [
      "  - trace: { from: n1/p1, to: n2/p1 }\n    expect: { ratio: 1 }\n",
      /unknown key "ratio"; allowed here: reaches, lost-at, finds, crosses, path, encap, narrow-link/,
    ],
  ];
  for (const [step, want] of bad) {
    const msg = errorOf(scenario(step));
    assert(want.test(msg), `${step.trim()}\n  gave: ${msg}`);
  }
});
