/**
 * Regenerates `upstream_delegate_configs.json`: the delegate configurations upstream's flannel CNI plugin saves,
 * for the cases below. Needs upstream's plugin binary, built from flannel-io/cni-plugin (libcni v1.3.0):
 *
 *     git clone https://github.com/flannel-io/cni-plugin /tmp/upcni && (cd /tmp/upcni && go build -o flannel-upstream .)
 *     deno run -A agent/cni/testdata/gen_upstream_golden.ts /tmp/upcni/flannel-upstream
 *
 * Each case runs upstream's ADD with a fake delegate that fails; upstream saves the configuration before invoking
 * the delegate (and leaves it behind on failure), so the saved file is exactly what it would hand to the bridge.
 *
 * @module
 */

interface Case {
  readonly name: string;
  readonly subnetEnv: string;
  /** The network configuration without subnetFile/dataDir (the generator adds them). */
  readonly netconf: Record<string, unknown>;
}

const V4 =
  "FLANNEL_NETWORK=10.1.0.0/16\nFLANNEL_SUBNET=10.1.17.1/24\nFLANNEL_MTU=1472\nFLANNEL_IPMASQ=true\n";
const V4_NOMASQ =
  "FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.1.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=false\n";
const V6 =
  "FLANNEL_IPV6_NETWORK=fc00::/48\nFLANNEL_IPV6_SUBNET=fc00::1/64\nFLANNEL_MTU=1472\nFLANNEL_IPMASQ=true\n";
const DUAL = "FLANNEL_NETWORK=10.1.0.0/16\nFLANNEL_SUBNET=10.1.17.1/24\nFLANNEL_IPV6_NETWORK=fc00::/48\n" +
  "FLANNEL_IPV6_SUBNET=fc00:0:0:1::1/64\nFLANNEL_MTU=1472\nFLANNEL_IPMASQ=false\n";
const MULTI = "FLANNEL_NETWORK=10.1.0.0/16,192.168.0.0/16,10.1.0.0/16\nFLANNEL_SUBNET=10.1.17.1/24\n" +
  "FLANNEL_MTU=1472\nFLANNEL_IPMASQ=true\n";

export const CASES: readonly Case[] = [
  { name: "readme example (ip-masq on)", subnetEnv: V4, netconf: { name: "cni-flannel", type: "flannel" } },
  {
    name: "kube-flannel.yml (ip-masq off, cniVersion 0.3.1)",
    subnetEnv: V4_NOMASQ,
    netconf: {
      name: "cbr0",
      cniVersion: "0.3.1",
      type: "flannel",
      delegate: { hairpinMode: true, isDefaultGateway: true },
    },
  },
  {
    name: "delegate overrides",
    subnetEnv: V4_NOMASQ,
    netconf: {
      name: "cbr0",
      cniVersion: "1.0.0",
      type: "flannel",
      delegate: {
        type: "bridge",
        bridge: "kube-br",
        ipMasq: true,
        mtu: 1400,
        isGateway: false,
        forceAddress: true,
        cniVersion: "0.4.0",
        hairpinMode: false,
      },
    },
  },
  {
    name: "ipam passthrough with user routes",
    subnetEnv: V4,
    netconf: {
      name: "cni-flannel",
      cniVersion: "1.0.0",
      type: "flannel",
      ipam: {
        type: "my-ipam",
        "unknown-param": "unknown-value",
        dataDir: "/var/lib/cni/networks-x",
        routes: [{ dst: "10.96.0.0/12" }, { dst: "192.168.244.0/24", gw: "10.1.17.20" }],
      },
    },
  },
  {
    name: "ipam routes re-encoded as libcni types.Route",
    subnetEnv: V4,
    netconf: {
      name: "n1",
      type: "flannel",
      ipam: {
        routes: [
          { dst: "10.96.0.1/12", gw: "", mtu: 0, priority: 5, table: 0, scope: 253, foo: 1, advmss: 1300 },
          { scope: 0, gw: "10.1.17.20", dst: "0.0.0.0/0", mtu: 1400 },
          { dst: "fc00:0:0:0::/48", gw: "fc00:0000::1" },
        ],
      },
    },
  },
  { name: "ipv6 only", subnetEnv: V6, netconf: { name: "v6", cniVersion: "0.4.0", type: "flannel" } },
  { name: "dual stack", subnetEnv: DUAL, netconf: { name: "ds", cniVersion: "1.0.0", type: "flannel" } },
  { name: "several networks, duplicates dropped", subnetEnv: MULTI, netconf: { name: "m", type: "flannel" } },
  {
    name: "runtimeConfig copied to the delegate",
    subnetEnv: V4,
    netconf: {
      name: "rc",
      cniVersion: "1.0.0",
      type: "flannel",
      runtimeConfig: {
        portMappings: [{ hostPort: 8080, containerPort: 80, protocol: "tcp" }],
        bandwidth: {},
      },
      delegate: { runtimeConfig: { ignored: true } },
    },
  },
  {
    name: "non-bridge delegate gets no isGateway",
    subnetEnv: V4,
    netconf: {
      name: "ipv",
      cniVersion: "0.3.0",
      type: "flannel",
      delegate: { type: "ipvlan", master: "eth0" },
    },
  },
  {
    name: "Go rendering: escapes, numbers, unicode key order",
    subnetEnv: V4,
    netconf: {
      name: "esc",
      cniVersion: "1.1.0",
      type: "flannel",
      delegate: {
        "note": "a<b>&c\u2028",
        "nums": [1.5, 1e21, 1e-7, 100, -0, 123456789012345680000],
        "keys": { "b": 1, "B": 2, "é": 3, "😀": 4, "\uff61": 5, "a": { "z": null, "y": [] } },
      },
    },
  },
];

if (import.meta.main) {
  const upstream = Deno.args[0];
  if (!upstream) throw new Error("usage: gen_upstream_golden.ts <upstream flannel plugin binary>");
  const work = await Deno.makeTempDir({ prefix: "flannel-golden-" });
  try {
    const bin = `${work}/bin`;
    await Deno.mkdir(bin);
    for (const type of ["bridge", "ipvlan"]) {
      await Deno.writeTextFile(
        `${bin}/${type}`,
        '#!/bin/sh\necho \'{"code":999,"msg":"fake delegate"}\'\nexit 1\n',
        {
          mode: 0o755,
        },
      );
    }
    const out = [];
    for (const [i, c] of CASES.entries()) {
      const subnetFile = `${work}/subnet-${i}.env`;
      const dataDir = `${work}/data-${i}`;
      await Deno.writeTextFile(subnetFile, c.subnetEnv);
      const stdin = JSON.stringify({ ...c.netconf, subnetFile, dataDir });
      const child = new Deno.Command(upstream, {
        stdin: "piped",
        stdout: "piped",
        stderr: "piped",
        env: {
          CNI_COMMAND: "ADD",
          CNI_CONTAINERID: "golden",
          CNI_NETNS: "/proc/self/ns/net",
          CNI_NETNS_OVERRIDE: "1",
          CNI_IFNAME: "eth0",
          CNI_PATH: bin,
        },
      }).spawn();
      const w = child.stdin.getWriter();
      await w.write(new TextEncoder().encode(stdin));
      await w.close();
      await child.output();
      const saved = await Deno.readTextFile(`${dataDir}/golden`);
      out.push({ name: c.name, subnetEnv: c.subnetEnv, netconf: c.netconf, saved });
    }
    const target = new URL("./upstream_delegate_configs.json", import.meta.url);
    await Deno.writeTextFile(target, JSON.stringify(out, null, 2) + "\n");
    Deno.stdout.writeSync(new TextEncoder().encode(`wrote ${out.length} cases to ${target.pathname}\n`));
  } finally {
    await Deno.remove(work, { recursive: true });
  }
}
