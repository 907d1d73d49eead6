import assert from "node:assert/strict";
import fc from "fast-check";
import { familyOf, formatIp, formatMac, parseIp, parseMac, parsePrefix } from "./inet.ts";

Deno.test("formatIp prints IPv6 like inet_ntop", () => {
  const cases: [string, string][] = [
    ["fd00:0:0:0:0:0:0:1", "fd00::1"],
    ["0:0:0:0:0:0:0:0", "::"],
    ["0:0:0:0:0:0:0:1", "::1"],
    ["fe80:0:0:0:1:0:0:1", "fe80::1:0:0:1"],
    ["1:0:0:2:0:0:0:3", "1:0:0:2::3"],
    ["1:0:2:3:4:5:6:7", "1:0:2:3:4:5:6:7"],
    ["::ffff:10.0.0.1", "::ffff:10.0.0.1"],
    ["2001:DB8::A", "2001:db8::a"],
  ];
  for (const [input, want] of cases) assert.equal(formatIp(parseIp(input)), want, input);
});

Deno.test("parseIp rejects malformed addresses", () => {
  for (
    const bad of [
      "",
      "1.2.3",
      "1.2.3.256",
      "01.2.3.4",
      "1::2::3",
      "1:2:3:4:5:6:7:8:9",
      "12345::",
      "g::1",
      "1:2:3:4:5:6:7::8",
    ]
  ) {
    assert.throws(() => parseIp(bad), TypeError, bad);
  }
});

Deno.test("parseIp and formatIp round-trip any IPv4 and IPv6 address", () => {
  fc.assert(fc.property(fc.ipV4(), (s) => formatIp(parseIp(s)) === s));
  fc.assert(fc.property(fc.ipV6(), (s) => {
    const b = parseIp(s);
    return b.length === 16 && formatIp(parseIp(formatIp(b))) === formatIp(b);
  }));
});

Deno.test("parsePrefix reads CIDR and defaults to a host prefix", () => {
  assert.deepEqual(parsePrefix("10.42.7.0/24"), { addr: "10.42.7.0", len: 24 });
  assert.deepEqual(parsePrefix("fd00::1"), { addr: "fd00::1", len: 128 });
  assert.throws(() => parsePrefix("10.0.0.0/33"), TypeError);
  assert.throws(() => parsePrefix("10.0.0.0/x"), TypeError);
});

Deno.test("MAC addresses parse any case and format lower-case", () => {
  assert.equal(formatMac(parseMac("72:24:08:C1:71:25")), "72:24:08:c1:71:25");
  assert.throws(() => parseMac("72:24:08:c1:71"), TypeError);
  assert.equal(familyOf("10.0.0.1"), 2);
  assert.equal(familyOf("::1"), 10);
});
