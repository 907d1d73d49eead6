import assert from "node:assert/strict";
import { formatCidr } from "../ip.ts";
import { parseSubnetEnv, SubnetEnvError } from "./subnet_env.ts";

/** Runs `fn` and returns what it threw (failing when it threw nothing). */
function caught(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error("expected an exception");
}

const P = "/run/flannel/subnet.env";

Deno.test("parseSubnetEnv reads the agent's file and masks the subnet", () => {
  const env = parseSubnetEnv(
    "FLANNEL_NETWORK=10.1.0.0/16\nFLANNEL_SUBNET=10.1.17.1/24\nFLANNEL_MTU=1472\nFLANNEL_IPMASQ=true\n",
    P,
  );
  assert.deepEqual(env.networks.map(formatCidr), ["10.1.0.0/16"]);
  assert.equal(env.subnet && formatCidr(env.subnet), "10.1.17.0/24");
  assert.equal(env.mtu, 1472);
  assert.equal(env.ipMasq, true);
  assert.deepEqual(env.ipv6Networks, []);
  assert.equal(env.ipv6Subnet, undefined);
});

Deno.test("parseSubnetEnv reads dual stack, comma lists without duplicates, CRLF and unknown keys", () => {
  const env = parseSubnetEnv(
    [
      "# comment-like lines are unknown keys",
      "FLANNEL_NETWORK=10.1.0.0/16,10.2.0.0/16,10.1.0.0/16",
      "FLANNEL_SUBNET=10.1.17.1/24",
      "FLANNEL_IPV6_NETWORK=fc00::/48",
      "FLANNEL_IPV6_SUBNET=fc00:0:0:1::1/64",
      "FLANNEL_MTU=1450\r",
      "FLANNEL_IPMASQ=false",
      "OTHER=1",
    ].join("\n"),
    P,
  );
  assert.deepEqual(env.networks.map(formatCidr), ["10.1.0.0/16", "10.2.0.0/16"]);
  assert.deepEqual(env.ipv6Networks.map(formatCidr), ["fc00::/48"]);
  assert.equal(env.ipv6Subnet && formatCidr(env.ipv6Subnet), "fc00:0:0:1::/64");
  assert.equal(env.mtu, 1450);
  assert.equal(env.ipMasq, false);
});

Deno.test("parseSubnetEnv takes IPMASQ as true only for exactly 'true', and the last line of a key", () => {
  const base = "FLANNEL_NETWORK=10.1.0.0/16\nFLANNEL_SUBNET=10.1.17.1/24\nFLANNEL_MTU=1450\n";
  assert.equal(parseSubnetEnv(base + "FLANNEL_IPMASQ=True\n", P).ipMasq, false);
  assert.equal(parseSubnetEnv(base + 'FLANNEL_IPMASQ="true"\n', P).ipMasq, false);
  assert.equal(parseSubnetEnv(base + "FLANNEL_MTU=9000\nFLANNEL_IPMASQ=true\n", P).mtu, 9000);
});

Deno.test("parseSubnetEnv lists the missing keys, pairing v4 with v6", () => {
  const err = caught(() => parseSubnetEnv("FLANNEL_MTU=1450\n", P));
  assert.ok(err instanceof SubnetEnvError);
  assert.equal(
    err.message,
    `${P} is missing FLANNEL_NETWORK, FLANNEL_IPV6_NETWORK, FLANNEL_SUBNET, FLANNEL_IPV6_SUBNET, FLANNEL_IPMASQ`,
  );
  assert.deepEqual(err.missing.length, 5);
  assert.throws(() => parseSubnetEnv("", P), /is missing FLANNEL_NETWORK/);
});

Deno.test("parseSubnetEnv refuses bad values with the line number", () => {
  const cases: [string, RegExp][] = [
    ["FLANNEL_NETWORK=10.1.0\n", /line 1: FLANNEL_NETWORK/],
    ["FLANNEL_NETWORK=10.1.0.0/16\nFLANNEL_SUBNET=\n", /line 2: FLANNEL_SUBNET/],
    ["FLANNEL_MTU=-1\n", /FLANNEL_MTU: "-1"/],
    ["FLANNEL_MTU=4294967296\n", /unsigned 32-bit/],
    ["FLANNEL_MTU=1450 \n", /unsigned 32-bit/],
    ["FLANNEL_SUBNET\n", /line 1: FLANNEL_SUBNET has no "=value"/],
  ];
  for (const [text, re] of cases) {
    const err = caught(() => parseSubnetEnv(text, P));
    assert.ok(err instanceof SubnetEnvError && err.missing.length === 0);
    assert.match(err.message, re);
  }
});

Deno.test("parseSubnetEnv ignores a key with leading space (no trimming, as upstream)", () => {
  assert.throws(
    () =>
      parseSubnetEnv(
        " FLANNEL_MTU=1450\nFLANNEL_NETWORK=10.1.0.0/16\nFLANNEL_SUBNET=10.1.1.1/24\nFLANNEL_IPMASQ=true",
        P,
      ),
    /is missing FLANNEL_MTU$/,
  );
});
