import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { resolveTopology } from "../topology/mod.ts";
import { InputError } from "../topology/errors.ts";
import { parseScenario } from "./parse.ts";

const topo = resolveTopology(
  "/t/hostgw-split-subnet.clab.yml",
  await Deno.readTextFile(new URL("../../topologies/hostgw-split-subnet.clab.yml", import.meta.url)),
);

function errorOf(text: string): string {
  try {
    parseScenario("s.yml", text, topo);
  } catch (error) {
    if (!(error instanceof InputError)) throw error;
    return error.message;
  }
  throw new Error("expected an error");
}

Deno.test("the network config is read by the agent's parser: its defaults, and what it refuses at its field", () => {
  const sc = (network: string) => parseScenario("s.yml", `network: ${network}\nsteps: []\n`, topo);
  const vxlan = sc("{Network: 10.244.0.0/16}");
  assertEquals([vxlan.backend, vxlan.vni, vxlan.port, vxlan.directRouting], ["vxlan", 1, 8472, false]);
  const vx = sc("{Network: 10.244.0.0/16, Backend: {Type: VXLAN, VNI: 7, Port: 4790, DirectRouting: true}}");
  assertEquals([vx.backend, vx.vni, vx.port, vx.directRouting], ["vxlan", 7, 4790, true]);
  const udp = sc("{Network: 10.244.0.0/16, Backend: {Type: udp}}");
  assertEquals([udp.backend, udp.port], ["udp", 8285]);
  // host-gw has no DirectRouting, no VNI and sends no UDP: the agent ignores them, so does the harness.
  const hg = sc("{Network: 10.244.0.0/16, Backend: {Type: host-gw, DirectRouting: true, VNI: 4}}");
  assertEquals([hg.backend, hg.vni, hg.port, hg.directRouting], ["host-gw", 1, 0, false]);
  const bad: [string, RegExp][] = [
    [
      "{Network: 10.244.0.0/16, Backend: {Type: ipip}}",
      /s\.yml:1:.*network\.Backend\.Type: .*not implemented/,
    ],
    [
      "{Network: 10.244.0.0/16, Backend: {Type: vxlan, VNI: 99999999}}",
      /network\.Backend\.VNI: .*0 to 16777215/,
    ],
    ["{Network: 10.244.0.0/16, SubnetLen: 31}", /network\.SubnetLen: .*at most 30/],
    ["{Network: 10.244.0.0/33}", /network\.Network: .*CIDR/],
  ];
  for (const [network, want] of bad) {
    const msg = errorOf(`network: ${network}\nsteps: []\n`);
    assert(want.test(msg), `${network}\n  gave: ${msg}`);
    assert(!msg.includes("Invalid network config:"), msg);
  }
  // A mapping with a missing key is one problem, not a second one from the agent's parser.
  const missing = errorOf("network: {SubnetLen: 24}\nsteps: []\n");
  assert(/missing key "Network"/.test(missing) && !/problems/.test(missing), missing);
});
