import assert from "node:assert/strict";
import { buildDelegateConfig, renderDelegateConfig, validateDelegate } from "./delegate_config.ts";
import { CniError } from "./errors.ts";
import { parseFlannelNetConf } from "./netconf.ts";
import { parseSubnetEnv } from "./subnet_env.ts";
import golden from "./testdata/upstream_delegate_configs.json" with { type: "json" };

function render(netconf: Record<string, unknown>, subnetEnv: string): string {
  const conf = parseFlannelNetConf({ ...netconf, subnetFile: "/s", dataDir: "/d" });
  return renderDelegateConfig(buildDelegateConfig(conf, parseSubnetEnv(subnetEnv, "/s")));
}

Deno.test("delegate config is upstream's README example byte for byte", () => {
  assert.equal(
    render(
      { name: "cni-flannel", type: "flannel" },
      "FLANNEL_NETWORK=10.1.0.0/16\nFLANNEL_SUBNET=10.1.17.1/24\nFLANNEL_MTU=1472\nFLANNEL_IPMASQ=true\n",
    ),
    '{"ipMasq":false,"ipam":{"ranges":[[{"subnet":"10.1.17.0/24"}]],"routes":[{"dst":"10.1.0.0/16"}],' +
      '"type":"host-local"},"isGateway":true,"mtu":1472,"name":"cni-flannel","type":"bridge"}',
  );
});

// Golden files saved by upstream's plugin binary (see testdata/gen_upstream_golden.ts).
for (const c of golden) {
  Deno.test(`delegate config equals upstream's saved file: ${c.name}`, () => {
    assert.equal(render(c.netconf, c.subnetEnv), c.saved);
  });
}

Deno.test("delegate config does not modify the input configuration", () => {
  const netconf = { name: "n", type: "flannel", delegate: { hairpinMode: true }, ipam: { routes: [] } };
  const before = structuredClone(netconf);
  render(
    netconf,
    "FLANNEL_NETWORK=10.1.0.0/16\nFLANNEL_SUBNET=10.1.17.1/24\nFLANNEL_MTU=1\nFLANNEL_IPMASQ=true\n",
  );
  assert.deepEqual(netconf, before);
});

Deno.test("validateDelegate refuses what upstream refuses, with code 7", () => {
  const code7 = (e: unknown) => e instanceof CniError && e.code === 7;
  assert.throws(
    () => validateDelegate({ type: 1 }),
    (e: unknown) => code7(e) && /must have \(string\) 'type'/.test(`${e}`),
  );
  assert.throws(() => validateDelegate({ type: null }), code7);
  assert.throws(() => validateDelegate({ name: "x" }), /must not have 'name' field/);
  assert.throws(() => validateDelegate({ ipam: {} }), /must not have 'ipam' field/);
  assert.throws(() => validateDelegate({ type: "../../bin/sh" }), /is not a plugin name/);
  validateDelegate({ type: "bridge", hairpinMode: true });
  validateDelegate(undefined);
});

Deno.test("ipam.routes entries that upstream would render as garbage are refused", () => {
  const env =
    "FLANNEL_NETWORK=10.1.0.0/16\nFLANNEL_SUBNET=10.1.17.1/24\nFLANNEL_MTU=1\nFLANNEL_IPMASQ=true\n";
  const bad: unknown[] = [{}, { dst: "10.0.0.0" }, { dst: "10.0.0.0/8", gw: "x" }, {
    dst: "10.0.0.0/8",
    mtu: 1.5,
  }, 3];
  for (const route of bad) {
    assert.throws(() => render({ name: "n", ipam: { routes: [route] } }, env), /ipam\.routes\[0\]/);
  }
  assert.throws(() => render({ name: "n", ipam: { routes: "x" } }, env), /ipam\.routes must be a list/);
});
