import { deepStrictEqual as assertEquals, match } from "node:assert/strict";
import { classifyDfPing, linksWithMtu, ownerOf, pinchSymptom } from "./path_mtu.ts";
import { resolveTopology } from "../topology/mod.ts";

Deno.test("path MTU: ping's answers to a DF probe are told apart", () => {
  // iputils-ping 20240117 output, as seen from a node behind a 1400-byte link and from a pod.
  assertEquals(
    classifyDfPing(
      false,
      "PING 192.168.72.2 (192.168.72.2) 1472(1500) bytes of data.\nFrom 192.168.71.254 icmp_seq=1 Frag needed and DF set (mtu = 1400)\n",
    ),
    { kind: "frag-needed", from: "192.168.71.254", mtu: 1400 },
  );
  assertEquals(classifyDfPing(false, "ping: local error: message too long, mtu=1400"), {
    kind: "local",
    mtu: 1400,
  });
  assertEquals(classifyDfPing(false, "ping: sendmsg: Message too long"), { kind: "local" });
  assertEquals(classifyDfPing(false, "1 packets transmitted, 0 received, 100% packet loss"), {
    kind: "lost",
  });
  assertEquals(classifyDfPing(true, "1 packets transmitted, 1 received"), { kind: "passed" });
});

Deno.test("path MTU: the reporting router and its narrow link are found in the topology", async () => {
  const text = await Deno.readTextFile(new URL("../../topologies/vxlan-mtu-pinch.clab.yml", import.meta.url));
  const topo = resolveTopology("/t/vxlan-mtu-pinch.clab.yml", text);
  const owner = ownerOf(topo, "192.168.71.254");
  assertEquals([owner?.node.name, owner?.iface], ["r1", "eth1"]);
  assertEquals(linksWithMtu(topo, "r1", 1400).map((l) => l.label), ["r1:eth2 <-> r2:eth2"]);
  assertEquals(ownerOf(topo, "10.9.9.9"), undefined);
  match(pinchSymptom("vxlan"), /no DF/);
  match(pinchSymptom("udp"), /blackhole/);
});
