/**
 * Real masquerading through the rules the firewall module writes, in both modes. Four namespaces:
 *
 *     pod (10.5.3.2) --- node (10.5.3.1 | 10.5.4.1 | 192.168.50.1) --- remote pod (10.5.4.2)
 *                                                     \--- outside (192.168.50.2)
 *
 * The node runs the firewall with --ip-masq for Network 10.5.0.0/16 and subnet 10.5.3.0/24. The receivers count
 * pings by source address with an INPUT rule each, so the verdict does not depend on capture timing:
 * pod → outside must arrive from the node's address; pod → remote pod must keep the pod's address.
 */
import assert from "node:assert/strict";
import { addVeth, Netns } from "../../harness/netns.ts";
import { memoryLogger } from "../../cli/log.ts";
import { uniqueName } from "../helpers/tmpdir.ts";
import { Firewall, type FirewallMode } from "../../agent/firewall/mod.ts";
import { parseCidr } from "../../agent/ip.ts";

async function counter(ns: Netns, src: string): Promise<number> {
  const { stdout } = await ns.exec(["iptables", "-L", "INPUT", "-v", "-x", "-n"]);
  const line = stdout.split("\n").find((l) => l.includes(` ${src} `));
  return Number(line?.trim().split(/\s+/)[0] ?? NaN);
}

for (const mode of ["iptables", "nftables"] as FirewallMode[]) {
  Deno.test(`firewall ${mode}: pod → outside is masqueraded, pod → pod keeps its source`, async () => {
    const base = uniqueName("fltmq");
    const owned: Netns[] = [];
    try {
      const mk = async (n: string) => {
        const ns = await Netns.create(`${base}${n}`);
        owned.push(ns);
        return ns;
      };
      const node = await mk("n");
      const pod = await mk("p");
      const remote = await mk("r");
      const outside = await mk("o");
      await addVeth({ ns: node, name: "vpod", addrs: ["10.5.3.1/24"] }, {
        ns: pod,
        name: "eth0",
        addrs: ["10.5.3.2/24"],
      });
      await addVeth({ ns: node, name: "vrem", addrs: ["10.5.4.1/24"] }, {
        ns: remote,
        name: "eth0",
        addrs: ["10.5.4.2/24"],
      });
      await addVeth({ ns: node, name: "eth1", addrs: ["192.168.50.1/24"] }, {
        ns: outside,
        name: "eth0",
        addrs: ["192.168.50.2/24"],
      });
      await pod.ip(["route", "add", "default", "via", "10.5.3.1"]);
      await remote.ip(["route", "add", "default", "via", "10.5.4.1"]);
      await node.exec(["sysctl", "-qw", "net.ipv4.ip_forward=1"]);
      for (
        const [ns, srcs] of [[outside, ["192.168.50.1", "10.5.3.2"]], [remote, [
          "10.5.3.2",
          "10.5.4.1",
        ]]] as const
      ) {
        for (const s of srcs) {
          await ns.exec(["iptables", "-A", "INPUT", "-s", s, "-p", "icmp", "-j", "ACCEPT"]);
        }
      }
      const fw = await Firewall.create({
        mode,
        ipv4: { network: parseCidr("10.5.0.0/16"), subnet: parseCidr("10.5.3.0/24") },
        ipMasq: true,
        forwardRules: true,
        logger: memoryLogger(),
        exec: ["ip", "netns", "exec", node.name],
      });
      await fw.apply();
      await pod.exec(["ping", "-c", "3", "-i", "0.2", "-W", "5", "192.168.50.2"]);
      await pod.exec(["ping", "-c", "3", "-i", "0.2", "-W", "5", "10.5.4.2"]);
      assert.equal(await counter(outside, "192.168.50.1"), 3, "outside sees the node's address");
      assert.equal(await counter(outside, "10.5.3.2"), 0, "outside never sees the pod's address");
      assert.equal(await counter(remote, "10.5.3.2"), 3, "the remote pod sees the pod's own address");
      assert.equal(await counter(remote, "10.5.4.1"), 0, "pod-to-pod is not masqueraded");
    } finally {
      await Promise.allSettled(owned.map((n) => n.delete()));
    }
  });
}
