/**
 * Two nodes, each a network namespace with its own subnet.env and pods added through the flannel CNI plugin,
 * joined by a veth underlay. The test programs host-gw-style routes itself; pods on different nodes must reach
 * each other, and must not before the routes exist. Root; nothing touches the main namespace.
 */
import assert from "node:assert/strict";
import { addVeth, Netns } from "../../harness/netns.ts";
import { run } from "../../cli/process/mod.ts";
import { tempDir, uniqueName } from "../helpers/tmpdir.ts";
import { installPlugin } from "../../agent/cni/install.ts";

interface Node {
  readonly ns: Netns;
  readonly underlay: string;
  readonly subnet: string;
  readonly pods: { ns: Netns; ip: string }[];
}

Deno.test("CNI two nodes: pods on different nodes ping each other over host-gw-style routes", async () => {
  await using dir = await tempDir("flannel-cni-2n-");
  const bin = `${dir.path}/bin`;
  await installPlugin({ dir: bin });
  for (const p of ["bridge", "host-local"]) await Deno.symlink(`/usr/lib/cni/${p}`, `${bin}/${p}`);
  const owned: Netns[] = [];
  const netns = async (prefix: string) => {
    const ns = await Netns.create(uniqueName(prefix));
    owned.push(ns);
    return ns;
  };
  try {
    const nodes: Node[] = [];
    for (const octet of [1, 2]) {
      nodes.push({
        ns: await netns("fltn"),
        underlay: `192.168.77.${octet}`,
        subnet: `10.244.${octet}.0/24`,
        pods: [],
      });
    }
    const [n1, n2] = nodes as [Node, Node];
    await addVeth(
      { ns: n1.ns, name: "eth1", addrs: [`${n1.underlay}/24`] },
      { ns: n2.ns, name: "eth1", addrs: [`${n2.underlay}/24`] },
      { mtu: 1500 },
    );

    for (const [i, node] of nodes.entries()) {
      const subnetFile = `${dir.path}/subnet-${i}.env`;
      const gateway = node.subnet.replace(".0/24", ".1/24");
      await Deno.writeTextFile(
        subnetFile,
        `FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=${gateway}\nFLANNEL_MTU=1500\nFLANNEL_IPMASQ=true\n`,
      );
      const conf = JSON.stringify({
        cniVersion: "0.3.1",
        name: "cbr0",
        type: "flannel",
        subnetFile,
        dataDir: `${dir.path}/flannel-${i}`,
        ipam: { dataDir: `${dir.path}/ipam-${i}` },
        delegate: { hairpinMode: true, isDefaultGateway: true },
      });
      for (let p = 0; p < 2; p++) {
        const pod = await netns("fltp");
        const res = await run([
          "ip",
          "netns",
          "exec",
          node.ns.name,
          "env",
          "CNI_COMMAND=ADD",
          `CNI_CONTAINERID=n${i}p${p}`,
          `CNI_NETNS=/run/netns/${pod.name}`,
          "CNI_IFNAME=eth0",
          `CNI_PATH=${bin}`,
          `${bin}/flannel`,
        ], { stdin: conf, check: false, timeoutMs: 30_000 });
        assert.equal(res.code, 0, res.stdout + res.stderr);
        const ip = (JSON.parse(res.stdout) as { ips: { address: string }[] }).ips[0]!.address.split("/")[0]!;
        assert.ok(ip.startsWith(node.subnet.slice(0, -4)), `${ip} outside ${node.subnet}`);
        node.pods.push({ ns: pod, ip });
      }
    }

    const ping = async (from: Netns, to: string) =>
      (await from.exec(["ping", "-c", "1", "-W", "1", to], { check: false })).code === 0;

    // Without routes between the nodes, a pod cannot reach the other node's pods (negative check).
    assert.equal(await ping(n1.pods[0]!.ns, n2.pods[0]!.ip), false);

    await n1.ns.ip(["route", "add", n2.subnet, "via", n2.underlay]);
    await n2.ns.ip(["route", "add", n1.subnet, "via", n1.underlay]);

    for (const [a, b] of [[n1, n2], [n2, n1]] as const) {
      for (const src of a.pods) {
        for (const dst of b.pods) {
          assert.ok(await ping(src.ns, dst.ip), `${src.ip} (${src.ns.name}) cannot reach ${dst.ip}`);
        }
      }
    }
  } finally {
    for (const ns of owned.reverse()) await ns.delete();
  }
});
