import assert from "node:assert/strict";
import { CniError } from "./errors.ts";
import { chainResult, parseErrorJson, parseResult, withRouteGateways } from "./result.ts";

Deno.test("parseResult refuses non-JSON and non-objects with code 999", () => {
  assert.deepEqual(parseResult('{"cniVersion":"1.0.0"}', "x"), { cniVersion: "1.0.0" });
  assert.throws(
    () => parseResult("oops", "delegate"),
    (e: unknown) => e instanceof CniError && e.code === 999,
  );
  assert.throws(() => parseResult("[]", "delegate"), /not a JSON object/);
});

Deno.test("parseErrorJson reads a plugin's error object", () => {
  assert.deepEqual(parseErrorJson('{"code":7,"msg":"bad","details":"d"}'), {
    code: 7,
    msg: "bad",
    details: "d",
  });
  assert.deepEqual(parseErrorJson('{"code":11,"msg":"later"}'), { code: 11, msg: "later" });
  assert.equal(parseErrorJson("plain text"), undefined);
  assert.equal(parseErrorJson('{"msg":"no code"}'), undefined);
});

Deno.test("chainResult puts the previous plugins' entries first and shifts interface indices", () => {
  const prev = {
    cniVersion: "1.0.0",
    interfaces: [{ name: "lo0" }],
    ips: [{ interface: 0, address: "192.0.2.1/32" }],
    routes: [{ dst: "192.0.2.0/24" }],
    dns: { nameservers: ["192.0.2.53"] },
  };
  const result = {
    cniVersion: "1.0.0",
    interfaces: [{ name: "cni0" }, { name: "veth1" }, { name: "eth0", sandbox: "/run/netns/p" }],
    ips: [{ interface: 2, address: "10.1.17.2/24", gateway: "10.1.17.1" }],
    routes: [{ dst: "10.1.0.0/16" }],
    dns: {},
  };
  assert.deepEqual(chainResult(prev, result), {
    cniVersion: "1.0.0",
    interfaces: [{ name: "lo0" }, { name: "cni0" }, { name: "veth1" }, {
      name: "eth0",
      sandbox: "/run/netns/p",
    }],
    ips: [{ interface: 0, address: "192.0.2.1/32" }, {
      interface: 3,
      address: "10.1.17.2/24",
      gateway: "10.1.17.1",
    }],
    routes: [{ dst: "192.0.2.0/24" }, { dst: "10.1.0.0/16" }],
    dns: { nameservers: ["192.0.2.53"] },
  });
});

Deno.test("chainResult leaves pre-0.3.0 results alone", () => {
  const result = { cniVersion: "0.2.0", ip4: { ip: "10.1.17.2/24" } };
  assert.equal(chainResult({ interfaces: [{ name: "x" }] }, result), result);
});

Deno.test("withRouteGateways gives gateway-less routes the gateway of their family", () => {
  const result = {
    cniVersion: "1.0.0",
    ips: [
      { interface: 2, address: "10.1.17.2/24", gateway: "10.1.17.1" },
      { interface: 2, address: "fc00::2/64", gateway: "fc00::1" },
    ],
    routes: [{ dst: "10.1.0.0/16" }, { dst: "0.0.0.0/0", gw: "10.1.17.9" }, { dst: "fc00::/48" }, {
      dst: "1.2.3.0/24",
      gw: "",
    }],
  };
  assert.deepEqual(withRouteGateways(result).routes, [
    { dst: "10.1.0.0/16", gw: "10.1.17.1" },
    { dst: "0.0.0.0/0", gw: "10.1.17.9" },
    { dst: "fc00::/48", gw: "fc00::1" },
    { dst: "1.2.3.0/24", gw: "10.1.17.1" },
  ]);
  assert.equal(result.routes[0]!.gw, undefined); // the input is not modified
  const noGateway = {
    cniVersion: "1.0.0",
    ips: [{ address: "10.1.17.2/24" }],
    routes: [{ dst: "10.1.0.0/16" }],
  };
  assert.deepEqual(withRouteGateways(noGateway).routes, [{ dst: "10.1.0.0/16" }]);
});
