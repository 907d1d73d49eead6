import { deepStrictEqual as assertEquals, throws as assertThrows } from "node:assert/strict";
import { addressesFromIpJson, parseInspect } from "./containerlab_inspect.ts";

Deno.test("containerlab: inspect output of several labs is one list; a sentence is no container", () => {
  const entry = (lab: string, name: string) => ({
    lab_name: lab,
    name,
    kind: "linux",
    state: "running",
    image: "i",
  });
  const out = JSON.stringify({
    a: [entry("a", "clab-a-n1"), entry("a", "clab-a-n2")],
    b: [entry("b", "clab-b-n1")],
  });
  assertEquals(parseInspect(out).map((e) => e.name), ["clab-a-n1", "clab-a-n2", "clab-b-n1"]);
  assertEquals(parseInspect("INFO no containers found\n"), []);
  assertEquals(parseInspect(""), []);
  assertThrows(() => parseInspect("{ not json"), SyntaxError);
});

Deno.test("containerlab: a container's IPv4 addresses, lo and IPv6 left out", () => {
  const out = JSON.stringify([
    { ifname: "lo", addr_info: [{ family: "inet", local: "127.0.0.1", prefixlen: 8 }] },
    {
      ifname: "eth0",
      addr_info: [
        { family: "inet", local: "172.20.20.2", prefixlen: 24 },
        { family: "inet6", local: "fe80::1", prefixlen: 64 },
      ],
    },
    { ifname: "eth1", addr_info: [{ family: "inet", local: "10.0.0.1", prefixlen: 24 }] },
    { ifname: "eth2" },
  ]);
  assertEquals(addressesFromIpJson(out), ["eth0=172.20.20.2/24", "eth1=10.0.0.1/24"]);
  assertEquals(addressesFromIpJson(""), []);
});
