/**
 * The starting files `flannel-lab repro new <name> --template KIND` writes for a user's own bug report: a
 * containerlab topology of one of five shapes and a scenario with a `repro:` block of placeholders. Both are
 * built like the shipped labs (same defaults, addresses and step syntax), so that they deploy and parse
 * before the user has edited a line. Pure: text out, nothing written.
 *
 * @module
 */
import { UserError } from "../../cli/errors.ts";

/** The shape of a template's lab. */
export type TemplateKind = "l2" | "l3-split" | "nat" | "mtu-pinch" | "two-nics";

/** Every template, with one line for `repro new --help`. */
export const TEMPLATES: readonly { readonly kind: TemplateKind; readonly summary: string }[] = [
  { kind: "l2", summary: "two nodes and etcd on one switch, 192.168.50.0/24" },
  {
    kind: "l3-split",
    summary: "two nodes on two subnets joined by router r1, etcd on a third, an internet behind r1",
  },
  {
    kind: "nat",
    summary: "n2 behind a masquerading router r1 that forwards UDP 8472; n2 publishes r1's address",
  },
  { kind: "mtu-pinch", summary: "two nodes behind routers r1 and r2, joined by a 1400-byte link" },
  { kind: "two-nics", summary: "two nodes with a NAT NIC of the same address each, agents without --iface" },
];

/**
 * Whether a string names a template.
 *
 * @param s the string (from the command line)
 * @returns whether it is a {@linkcode TemplateKind}
 */
export function isTemplateKind(s: string): s is TemplateKind {
  return TEMPLATES.some((t) => t.kind === s);
}

// The name goes into file names, containerlab's container names (`clab-<name>-<node>`) and the netns
// runtime's namespace names, so it is kept to what all of them take, and short enough to leave room for the
// prefix.
const NAME = /^[a-z0-9][a-z0-9-]*$/;
const NAME_MAX = 40;

/** The defaults block of every shipped topology: what lets containerlab deploy the file unchanged. */
const DEFAULTS = `  defaults:
    kind: linux
    image: flannel-lab/node:latest
    cmd: sleep infinity
    restart-policy: "no"
    privileged: false
    cap-add: [NET_ADMIN, NET_RAW, SYS_ADMIN]`;

/** What a user edits, said once for every template (the shape's own lines come before it). */
const TOPOLOGY_HINTS = [
  "Edit it to look like the cluster in your bug report:",
  "- what a host does before its agent starts (firewall rules, routes, MTUs, leftovers) goes in that node's",
  "  exec lines, after its addresses; sysctls go under sysctls;",
  '- agent flags go in the label flannel-lab.agent-flags: "--iface=eth1 --ip-masq" (split like a shell);',
  "- a node runs our agent unless labelled flannel-lab.agent: upstream (flannel-lab test --agent A sets",
  "  every node's);",
  "- to add a node, copy n2 and give it a link of its own (a switch port or a router leg).",
  "It deploys unchanged with `containerlab deploy -t` and with flannel-lab's netns runtime.",
];

interface NodeOptions {
  /** Comment lines above the node's labels. */
  readonly note?: readonly string[];
  /** Labels besides the role, as written inside the flow mapping. */
  readonly labels?: string;
  readonly exec: readonly string[];
}

/** One node of `topology.nodes`; routers and agent nodes forward, as the shipped ones do. */
function node(name: string, role: "node" | "router" | "etcd", o: NodeOptions): string {
  return [
    `    ${name}:`,
    ...(o.note ?? []).map((l) => `      # ${l}`),
    `      labels: { flannel-lab.role: ${role}${o.labels ? `, ${o.labels}` : ""} }`,
    ...(role === "etcd" ? [] : ["      sysctls: { net.ipv4.ip_forward: 1 }"]),
    "      exec:",
    ...o.exec.map((l) => `        - ${l}`),
  ].join("\n");
}

/** A switch as the shipped files make one: a bridge over ports eth1..ethN, made by exec (containerlab's own
 * bridge kind lives in the host's namespace, which labs never touch). */
function switchNode(ports: number): string {
  const enslave = Array.from({ length: ports }, (_, i) => `ip link set eth${i + 1} master br0`);
  return [
    "    sw:",
    "      labels: { flannel-lab.role: switch }",
    "      exec:",
    ...["ip link add br0 type bridge", "ip link set br0 up", ...enslave].map((l) => `        - ${l}`),
  ].join("\n");
}

/** A veth link between `node:iface` ends, 1500 bytes unless said (containerlab's default is 9500). */
function link(a: string, b: string, mtu = 1500): string {
  const end = (e: string) => {
    const [n, i] = e.split(":");
    return `{ node: ${n}, interface: ${i} }`;
  };
  return `    - type: veth\n      mtu: ${mtu}\n      endpoints: [${end(a)}, ${end(b)}]`;
}

/** What differs between the templates. */
interface Shape {
  /** Header lines saying what the shape is. */
  readonly about: readonly string[];
  readonly nodes: readonly string[];
  readonly links: readonly string[];
  /** The connectivity step, when the plain `connectivity: all-pods` does not hold on this shape. */
  readonly connectivity?: string;
  /** `fails-with` lines for the ping, when the shape itself breaks pod traffic. */
  readonly pingFails?: string;
  /** The step that shows the bug: the shape's own check, marked `fails-with`. */
  readonly bug: string;
  /** Lines after `pods:` (late agents), for a shape whose bug depends on the order nodes start in. */
  readonly preamble?: string;
  /** The steps between the first wait and the bug, replacing the working-cluster checks. */
  readonly cluster?: string;
}

const FAILS_ANY = `    fails-with: "."`;

const L2: Shape = {
  about: ["Two nodes on one switch (L2), vxlan: n1, n2 and etcd on 192.168.50.0/24."],
  nodes: [
    switchNode(3),
    node("etcd", "etcd", { exec: ["ip addr add 192.168.50.250/24 dev eth1"] }),
    node("n1", "node", { exec: ["ip addr add 192.168.50.1/24 dev eth1"] }),
    node("n2", "node", { exec: ["ip addr add 192.168.50.2/24 dev eth1"] }),
  ],
  links: [link("sw:eth1", "etcd:eth1"), link("sw:eth2", "n1:eth1"), link("sw:eth3", "n2:eth1")],
  bug: `  - name: pod traffic crosses the switch as VXLAN (port 8472, VNI 1), never bare
    capture: { link: sw:eth2, during: { ping: { from: n1/p1, to: n2/p1, count: 5 } } }
    expect: { vxlan: { vni: 1, port: 8472, min: 5 }, unencapsulated-pod-traffic: 0 }
${FAILS_ANY}`,
};

const L3_SPLIT: Shape = {
  about: [
    "Two nodes on two subnets joined by router r1 (L3-split), vxlan: n1 on 192.168.61.0/24, n2 on",
    "192.168.62.0/24, etcd on 192.168.63.0/24; 203.0.113.1 on r1 stands for the internet.",
  ],
  nodes: [
    node("r1", "router", {
      note: ["203.0.113.1 stands for the internet: pods reach it only through their node's ip-masq rules."],
      labels: "flannel-lab.internet: 203.0.113.1",
      exec: [
        "ip addr add 203.0.113.1/32 dev lo",
        "ip addr add 192.168.61.254/24 dev eth1",
        "ip addr add 192.168.62.254/24 dev eth2",
        "ip addr add 192.168.63.254/24 dev eth3",
      ],
    }),
    node("etcd", "etcd", {
      exec: ["ip addr add 192.168.63.250/24 dev eth1", "ip route add 192.168.60.0/22 via 192.168.63.254"],
    }),
    ...(["1", "2"] as const).map((i) =>
      node(`n${i}`, "node", {
        exec: [
          `ip addr add 192.168.6${i}.${i}/24 dev eth1`,
          `ip route add 192.168.60.0/22 via 192.168.6${i}.254`,
          `ip route add 203.0.113.0/24 via 192.168.6${i}.254`,
        ],
      })
    ),
  ],
  links: [link("r1:eth1", "n1:eth1"), link("r1:eth2", "n2:eth1"), link("r1:eth3", "etcd:eth1")],
  bug: `  - name: pod traffic crosses the router as VXLAN (port 8472, VNI 1), never bare
    capture: { link: r1:eth1, during: { ping: { from: n1/p1, to: n2/p1, count: 5 } } }
    expect: { vxlan: { vni: 1, port: 8472, min: 5 }, unencapsulated-pod-traffic: 0 }
${FAILS_ANY}`,
};

const NAT: Shape = {
  about: [
    "A node behind NAT, vxlan: n1 and etcd on the LAN 192.168.50.0/24 with router r1 (192.168.50.254); n2 on",
    "192.168.100.0/24 behind r1, which masquerades what n2 sends to the LAN and forwards UDP 8472 that",
    "arrives on its LAN address to n2. n2's agent publishes r1's address (--public-ip).",
  ],
  nodes: [
    switchNode(3),
    node("etcd", "etcd", { exec: ["ip addr add 192.168.50.250/24 dev eth1"] }),
    node("r1", "router", {
      exec: [
        "ip addr add 192.168.50.254/24 dev eth1",
        "ip addr add 192.168.100.254/24 dev eth2",
        "iptables -t nat -A POSTROUTING -s 192.168.100.0/24 -o eth1 -j MASQUERADE",
        "iptables -t nat -A PREROUTING -i eth1 -p udp --dport 8472 -j DNAT --to-destination 192.168.100.2",
      ],
    }),
    node("n1", "node", {
      note: [
        "n1 knows n2 only by r1's address, 192.168.50.254 (n2's lease says so): it has no route to",
        "192.168.100.0/24, as a host on the internet has none to the private side of a NAT.",
      ],
      exec: ["ip addr add 192.168.50.1/24 dev eth1"],
    }),
    node("n2", "node", {
      note: ["Reaches etcd and n1 through its default route, masqueraded by r1."],
      labels: 'flannel-lab.agent-flags: "--public-ip=192.168.50.254"',
      exec: ["ip addr add 192.168.100.2/24 dev eth1", "ip route add default via 192.168.100.254"],
    }),
  ],
  links: [
    link("sw:eth1", "etcd:eth1"),
    link("sw:eth2", "n1:eth1"),
    link("sw:eth3", "r1:eth1"),
    link("r1:eth2", "n2:eth1"),
  ],
  // Observed with both agents on this lab: pods on n1 and n2 do not reach each other through the NAT, though
  // VXLAN reaches r1. The template says so, so that a baseline run is green and a user's change shows.
  connectivity:
    `  # n2's own address is behind the NAT, where n1 has no route: n1's pods cannot reach n2 itself. Both agents
  # fail pod-to-pod through this NAT as it stands (VXLAN reaches r1, the pods do not reach each other): the
  # known NAT failure this template starts from.
  - connectivity: { scope: all-pods, override: { "n1/p1 -> n2": fail } }
    fails-with: "cells differ from the expectation: n1/p1 -> n2/p1, n2/p1 -> n1/p1"`,
  pingFails: `    fails-with: "did not reach n2/p1"`,
  bug: `  - name: pod traffic crosses the NAT as VXLAN on r1's LAN side (port 8472, VNI 1)
    capture: { link: r1:eth1, during: { ping: { from: n1/p1, to: n2/p1, count: 5 } } }
    expect: { vxlan: { vni: 1, port: 8472, min: 5 }, unencapsulated-pod-traffic: 0 }
${FAILS_ANY}`,
};

const MTU_PINCH: Shape = {
  about: [
    "An MTU pinch on the underlay, vxlan: n1 behind r1 (192.168.71.0/24), n2 behind r2 (192.168.72.0/24),",
    "r1-r2 a 1400-byte link, etcd on r1 (192.168.73.0/24). Pods get MTU 1450 from their 1500-byte links, so",
    "full-size VXLAN packets do not fit the middle link; they carry no DF, so the routers fragment them.",
  ],
  nodes: [
    node("r1", "router", {
      exec: [
        "ip addr add 192.168.71.254/24 dev eth1",
        "ip addr add 10.71.72.1/30 dev eth2",
        "ip addr add 192.168.73.254/24 dev eth3",
        "ip route add 192.168.72.0/24 via 10.71.72.2",
      ],
    }),
    node("r2", "router", {
      exec: [
        "ip addr add 192.168.72.254/24 dev eth1",
        "ip addr add 10.71.72.2/30 dev eth2",
        "ip route add 192.168.71.0/24 via 10.71.72.1",
        "ip route add 192.168.73.0/24 via 10.71.72.1",
      ],
    }),
    node("etcd", "etcd", {
      exec: ["ip addr add 192.168.73.250/24 dev eth1", "ip route add 192.168.64.0/18 via 192.168.73.254"],
    }),
    ...(["1", "2"] as const).map((i) =>
      node(`n${i}`, "node", {
        exec: [
          `ip addr add 192.168.7${i}.${i}/24 dev eth1`,
          `ip route add 192.168.64.0/18 via 192.168.7${i}.254`,
        ],
      })
    ),
  ],
  links: [
    link("r1:eth1", "n1:eth1"),
    link("r1:eth2", "r2:eth2", 1400),
    link("r2:eth1", "n2:eth1"),
    link("r1:eth3", "etcd:eth1"),
  ],
  bug: `  - name: the mtu step finds the pinch and names the MTU that would fit
    mtu: all-pod-paths
    fails-with: "carries at most 1400 bytes"`,
};

const TWO_NICS: Shape = {
  about: [
    'Two NICs per node: eth1 a "NAT NIC" with the same address on every node, 10.0.2.15/24, behind its own',
    "private router that holds the default route (Vagrant, VirtualBox); eth2 on the shared LAN",
    "192.168.56.0/24.",
    "The agents start without --iface (flannel-lab.iface: auto) and pick the default route's NIC.",
  ],
  nodes: [
    switchNode(3),
    node("etcd", "etcd", { exec: ["ip addr add 192.168.56.250/24 dev eth1"] }),
    ...["nat1", "nat2"].map((n) => node(n, "router", { exec: ["ip addr add 10.0.2.2/24 dev eth1"] })),
    ...(["1", "2"] as const).map((i) =>
      node(`n${i}`, "node", {
        labels: "flannel-lab.iface: auto",
        exec: [
          "ip addr add 10.0.2.15/24 dev eth1",
          "ip route add default via 10.0.2.2 dev eth1",
          `ip addr add 192.168.56.${i}/24 dev eth2`,
        ],
      })
    ),
  ],
  links: [
    link("sw:eth1", "etcd:eth1"),
    link("nat1:eth1", "n1:eth1"),
    link("nat2:eth1", "n2:eth1"),
    link("sw:eth2", "n1:eth2"),
    link("sw:eth3", "n2:eth2"),
  ],
  // n2 starts once n1 holds its lease, as machines booted one after the other do; started together, which node
  // takes whose lease is a race.
  preamble: "defer-agents: [n2]",
  cluster: `  - name: n2's agent starts once n1 holds its lease
    fault: { agent: n2, action: start }
  - wait: agents-ready
    timeout: 60s
    critical: true
  # Sharing one lease, the two nodes give their pods the same addresses, so pod-to-pod checks would prove
  # nothing here: the leases show the bug.`,
  bug: `  - name: each node holds a lease of its own
    leases: {}
    expect: { count: 2, distinct: true }
    fails-with: "expected 2 leases, found 1"`,
};

const SHAPES: Readonly<Record<TemplateKind, Shape>> = {
  l2: L2,
  "l3-split": L3_SPLIT,
  nat: NAT,
  "mtu-pinch": MTU_PINCH,
  "two-nics": TWO_NICS,
};

function topology(name: string, kind: TemplateKind, s: Shape): string {
  return [
    ...s.about.map((l) => `# ${l}`),
    `# A starting point for a reproduction (flannel-lab repro new --template ${kind}).`,
    ...TOPOLOGY_HINTS.map((l) => `# ${l}`),
    // Quoted: a name like 123 or 1e5 would otherwise be a YAML number, which containerlab's schema refuses.
    `name: "${name}"`,
    "topology:",
    DEFAULTS,
    "  nodes:",
    ...s.nodes,
    "  links:",
    ...s.links,
  ].join("\n") + "\n";
}

/** The checks of a working cluster: the matrix, one pod-to-pod ping, both nodes' kernel state. */
function workingCluster(s: Shape): string {
  return `${s.connectivity ?? "  - connectivity: all-pods"}
  - name: a pod on n1 reaches a pod on n2
    ping: { from: n1/p1, to: n2/p1, count: 3 }
${s.pingFails ? `${s.pingFails}\n` : ""}  - name: n1 holds the routes, ARP and FDB entries the leases call for
    kernel: { node: n1 }
    expect: desired
  - name: and n2 too
    kernel: { node: n2 }
    expect: desired`;
}

function scenario(name: string, s: Shape): string {
  return `# The scenario of ${name}.clab.yml: run it with \`flannel-lab test ${name}.clab.yml\`, once with
# --agent ours and once with --agent upstream. Replace every TODO in the repro: block with your report's
# words. The verdicts say both agents reproduce the bug: make one handled (or { handled: "why" }) when it
# does not.
# Steps before the last check a working cluster; add your own (faults, agent-log, more pings) where your bug
# needs them, and \`agents: [ours]\` on a step that is for one agent only.
description: "TODO: one line saying what this lab shows"
repro:
  title: "TODO: the bug in a few words"
  symptom: >-
    TODO: what you see: which traffic fails or crawls, between which pods or nodes, what the agents log.
  cause: >-
    TODO: why it happens, once you know: what the agent or the host does wrong.
  fix: >-
    TODO: what makes it go away: a flag, a network config key, a host setting, a restart.
  # upstream: [flannel-io/flannel#1155]   the upstream issues that report it
  verdict: { ours: reproduced, upstream: reproduced }
network: { Network: 10.244.0.0/16, Backend: { Type: vxlan } }
pods: { per-node: 1 }
${s.preamble ? `${s.preamble}\n` : ""}steps:
  - wait: agents-ready
    timeout: 60s
    critical: true
${s.cluster ?? workingCluster(s)}
  # The step that shows the bug. fails-with marks a step expected to fail: it passes when it fails with a
  # message that matches the regular expression ("." matches any). Narrow it to your failure's message, move
  # it to the step where your bug shows, and write fails-with: { upstream: "…" } when only upstream fails.
${s.bug}
`;
}

/**
 * The two files of a new reproduction.
 *
 * @param kind the template
 * @param name the lab name (the topology's `name:` and the files' stem)
 * @returns the text of `<name>.clab.yml` and `<name>.scenario.yml`
 * @throws {UserError} when the name is not a valid lab name or the kind is not a template
 */
export function renderTemplate(
  kind: TemplateKind,
  name: string,
): { readonly topology: string; readonly scenario: string } {
  if (!NAME.test(name) || name.length > NAME_MAX) {
    throw new UserError(`"${name}" is not a valid lab name`, {
      hint:
        `use lower-case letters, digits and dashes, starting with a letter or digit, at most ${NAME_MAX} ` +
        `characters (like dns-timeout-1234)`,
    });
  }
  const shape = SHAPES[kind];
  // Guards callers that did not ask isTemplateKind first (the type says it cannot happen).
  if (!shape) {
    throw new UserError(`"${kind}" is not a template`, {
      hint: `one of ${TEMPLATES.map((t) => t.kind).join(", ")}`,
    });
  }
  return { topology: topology(name, kind, shape), scenario: scenario(name, shape) };
}
