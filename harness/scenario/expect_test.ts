import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { resolveTopology } from "../topology/mod.ts";
import type { NodeSpec } from "../topology/model.ts";
import { expectedPodMtu, OVERHEAD, sameSubnet } from "./expect.ts";
import type { Scenario } from "./model.ts";
import { networkFields } from "./network.ts";

const topo = resolveTopology(
  "/t/x.clab.yml",
  await Deno.readTextFile(new URL("../../topologies/hostgw-split-subnet.clab.yml", import.meta.url)),
);
const node = (name: string) => topo.nodes.find((n) => n.name === name)!;
const scenario = (net: Record<string, unknown>) =>
  ({ ...networkFields({ Network: "10.244.0.0/16", ...net }) }) as unknown as Scenario;

Deno.test("expected pod MTU is the agent's: the link MTU less the backend's overhead; vxlan's Backend.MTU wins", () => {
  const n1 = node("n1");
  const link = topo.links.find((l) =>
    (l.a.node === "n1" && l.a.iface === n1.agentIface) || (l.b.node === "n1" && l.b.iface === n1.agentIface)
  )!;
  const mtu = (net: Record<string, unknown>) => expectedPodMtu(topo, scenario(net), n1);
  assertEquals(mtu({}), link.mtu - 50);
  assertEquals(mtu({ Backend: { Type: "vxlan", MTU: 1400 } }), 1350);
  assertEquals(mtu({ Backend: { Type: "udp" } }), link.mtu - 28);
  // udp and host-gw have no MTU option: the agent sizes from the interface, whatever the config says.
  assertEquals(mtu({ Backend: { Type: "udp", MTU: 1400 } }), link.mtu - 28);
  assertEquals(mtu({ Backend: { Type: "host-gw", MTU: 1400 } }), link.mtu);
  assertEquals(OVERHEAD, { vxlan: 50, udp: 28, "host-gw": 0 });
});

Deno.test("sameSubnet compares the agent interfaces' addresses with the first node's prefix length", () => {
  const at = (name: string, cidr: string) =>
    ({ name, agentIface: "eth1", addresses: { eth1: [cidr] } }) as unknown as NodeSpec;
  assertEquals(sameSubnet(at("a", "192.168.50.1/24"), at("b", "192.168.50.2/24")), true);
  assertEquals(sameSubnet(at("a", "192.168.50.1/24"), at("b", "192.168.51.2/24")), false);
  assertEquals(sameSubnet(at("a", "192.168.50.1/16"), at("b", "192.168.51.2/24")), true);
  assertEquals(sameSubnet(at("a", "0.0.0.0/0"), at("b", "10.1.1.1/8")), true);
  assertEquals(sameSubnet(at("a", "garbage"), at("b", "10.1.1.1/8")), false);
  assertEquals(
    sameSubnet(at("a", "192.168.50.1/24"), { name: "b", addresses: {} } as unknown as NodeSpec),
    false,
  );
});
