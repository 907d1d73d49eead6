import assert from "node:assert/strict";
import fc from "fast-check";
import { formatCidr, formatIp, type IpNet, makeNet, parseCidr, parseIp } from "../ip.ts";
import type { LeaseAttrs, LeaseSubnets } from "./lease.ts";
import {
  configKey,
  decodeLeaseAttrs,
  encodeLeaseAttrs,
  LeaseDecodeError,
  leaseKeyName,
  leaseKeyPath,
  parseLeaseKey,
  subnetsPrefix,
} from "./lease_codec.ts";

// The lease values upstream flanneld v0.28.9 wrote in a live run (spec §1, [measured]).
const MEASURED_VXLAN =
  `{"PublicIP":"10.199.0.1","PublicIPv6":null,"BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"3a:e6:eb:25:c4:98"}}`;
const MEASURED_HOST_GW = `{"PublicIP":"10.199.0.1","PublicIPv6":null,"BackendType":"host-gw"}`;
const MEASURED_UDP = `{"PublicIP":"10.199.0.1","PublicIPv6":null}`;
const DUAL_STACK =
  `{"PublicIP":"10.199.0.1","PublicIPv6":"fd00::2","BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"3a:e6:eb:25:c4:98"},"BackendV6Data":{"VNI":1,"VtepMAC":"5e:9a:1c:00:7f:02"}}`;

const sub = (v4?: string, v6?: string): LeaseSubnets =>
  v4 === undefined
    ? { ipv6Subnet: parseCidr(v6!) }
    : v6 === undefined
    ? { subnet: parseCidr(v4) }
    : { subnet: parseCidr(v4), ipv6Subnet: parseCidr(v6) };

function show(s: LeaseSubnets | undefined): [string | undefined, string | undefined] | undefined {
  return s && [s.subnet && formatCidr(s.subnet), s.ipv6Subnet && formatCidr(s.ipv6Subnet)];
}

Deno.test("configKey and subnetsPrefix join like Go's path.Join", () => {
  assert.equal(configKey("/coreos.com/network"), "/coreos.com/network/config");
  assert.equal(configKey("/coreos.com/network/"), "/coreos.com/network/config");
  assert.equal(configKey("//coreos.com//network//"), "/coreos.com/network/config");
  assert.equal(configKey("/a/./b/../c"), "/a/c/config");
  assert.equal(configKey(""), "config");
  assert.equal(configKey("/"), "/config");
  assert.equal(configKey("../x"), "../x/config");
  assert.equal(configKey("/.."), "/config");
  assert.equal(subnetsPrefix("/coreos.com/network/"), "/coreos.com/network/subnets/");
  assert.equal(subnetsPrefix("lab"), "lab/subnets/");
});

Deno.test("leaseKeyName writes upstream's three key forms", () => {
  assert.equal(leaseKeyName(sub("10.5.52.0/24")), "10.5.52.0-24");
  assert.equal(leaseKeyName(sub("10.5.52.0/24", "fc00:0:0:1::/64")), "10.5.52.0-24&fc00:0:0:1::-64");
  assert.equal(leaseKeyName(sub(undefined, "fc00:0:0:1::/64")), "0.0.0.0-0&fc00:0:0:1::-64");
  assert.equal(
    leaseKeyName(sub("10.5.52.0/24", "fc00:0000:0000:0001:0000::/64")),
    "10.5.52.0-24&fc00:0:0:1::-64",
  );
  assert.equal(
    leaseKeyPath("/coreos.com/network", sub("10.5.52.0/24")),
    "/coreos.com/network/subnets/10.5.52.0-24",
  );
  assert.equal(
    leaseKeyPath("/coreos.com/network/", sub(undefined, "fc00:0:0:1::/64")),
    "/coreos.com/network/subnets/0.0.0.0-0&fc00:0:0:1::-64",
  );
});

// Each key run through upstream's ParseSubnetKey under Go; the deviations (host bits, empty parts) are marked.
const KEYS: readonly [string, [string | undefined, string | undefined] | undefined][] = [
  ["10.5.52.0-24", ["10.5.52.0/24", undefined]],
  ["/coreos.com/network/subnets/10.5.52.0-24", ["10.5.52.0/24", undefined]],
  ["10.5.52.0-24&fc00:0:0:1::-64", ["10.5.52.0/24", "fc00:0:0:1::/64"]],
  ["/coreos.com/network/subnets/0.0.0.0-0&fc00:0:0:1::-64", [undefined, "fc00:0:0:1::/64"]],
  ["0.0.0.0-8", ["0.0.0.0/8", undefined]],
  ["10.5.52.0-024", ["10.5.52.0/24", undefined]], // leading zeros: ParseUint accepts them
  ["10.5.52.0-0000000024", ["10.5.52.0/24", undefined]],
  ["10.5.52.0-31", ["10.5.52.0/31", undefined]],
  ["10.5.52.0-32", undefined], // 5-bit length: 0..31 only
  ["10.5.52.0-24&fc00::-127", ["10.5.52.0/24", "fc00::/127"]],
  ["10.5.52.0-24&fc00::-128", undefined], // 7-bit length: 0..127 only
  ["10.5.52.0-24&fc00:0000::-64", ["10.5.52.0/24", "fc00::/64"]],
  ["10.5.52.0-24&FC00::-64", undefined], // upper-case hex does not match the regex
  ["10.5.52.0-24&::-0", ["10.5.52.0/24", undefined]], // an empty IPv6 part is no IPv6 part
  ["x/1.1.1.1.10.5.52.0-24", ["10.5.52.0/24", undefined]], // anchored at the end only
  ["/p/1.2/3.4/subnets/10.5.52.0-24", ["10.5.52.0/24", undefined]],
  ["1999.5.52.0-24", undefined], // the leftmost match is taken, and it is not an address
  ["10.05.52.0-24", undefined], // Go refuses leading zeros in addresses
  ["10.5x52y0-24", undefined], // the regex's unescaped dots match, the address parse does not
  ["10.5.52.0-24x", undefined],
  ["10.5.52.0-24\n", undefined],
  ["10.5.52.0--24", undefined],
  ["10.5.52.0-24&", undefined],
  ["10.5.52.0-24&:::-64", undefined],
  ["", undefined],
  ["subnets/", undefined],
  ["\u0661\u0660.5.52.0-24", undefined], // Arabic-Indic digits are not \d in Go's RE2
  // Deviations from upstream (which keeps host bits unmasked, and yields an empty lease for 0.0.0.0-0):
  ["10.5.52.1-24", undefined],
  ["10.5.52.0-24&fc00::1-64", undefined],
  ["0.0.0.0-0", undefined],
  ["0.0.0.0-0&::-0", undefined],
];

Deno.test("parseLeaseKey matches upstream's ParseSubnetKey on every golden key", () => {
  for (const [key, want] of KEYS) assert.deepEqual(show(parseLeaseKey(key)), want, JSON.stringify(key));
});

const v4net = fc.tuple(fc.integer({ min: 0, max: 2 ** 32 - 1 }), fc.integer({ min: 1, max: 31 }))
  .map(([v, len]) => makeNet({ family: 4, value: BigInt(v) }, len));
const v6net = fc.tuple(fc.bigInt({ min: 0n, max: (1n << 128n) - 1n }), fc.integer({ min: 1, max: 127 }))
  .map(([v, len]) => makeNet({ family: 6, value: v }, len));

Deno.test("leaseKeyName and parseLeaseKey round-trip every parseable lease", () => {
  const subnets: fc.Arbitrary<LeaseSubnets> = fc.oneof(
    v4net.map((subnet) => ({ subnet })),
    fc.tuple(v4net, v6net).map(([subnet, ipv6Subnet]) => ({ subnet, ipv6Subnet })),
    v6net.map((ipv6Subnet) => ({ ipv6Subnet })),
  );
  fc.assert(
    fc.property(subnets, fc.constantFrom("", "/coreos.com/network", "/x/"), (s, prefix) => {
      const key = prefix === "" ? leaseKeyName(s) : leaseKeyPath(prefix, s);
      assert.deepEqual(show(parseLeaseKey(key)), show(s), key);
    }),
    { numRuns: 2000 },
  );
});

Deno.test("parseLeaseKey never throws and stays fast on long keys (fuzz)", () => {
  fc.assert(
    fc.property(fc.oneof(fc.string(), fc.stringMatching(/^[0-9.\-&:af/x\n]{0,40}$/)), (key) => {
      const s = parseLeaseKey(key);
      if (s) assert.ok(s.subnet !== undefined || s.ipv6Subnet !== undefined);
    }),
    { numRuns: 5000 },
  );
  const t0 = performance.now();
  assert.equal(parseLeaseKey("1.".repeat(5000) + "-" + "9".repeat(5000)), undefined);
  assert.equal(parseLeaseKey("/".repeat(10_000) + "10.5.52.0-24")?.subnet?.prefixLen, 24);
  assert.ok(performance.now() - t0 < 2000, "no catastrophic backtracking");
});

Deno.test("encodeLeaseAttrs writes the exact bytes upstream writes for each backend", () => {
  const publicIp = parseIp("10.199.0.1");
  assert.equal(
    encodeLeaseAttrs({
      publicIp,
      backendType: "vxlan",
      backendData: { VNI: 1, VtepMAC: "3a:e6:eb:25:c4:98" },
    }),
    MEASURED_VXLAN,
  );
  assert.equal(encodeLeaseAttrs({ publicIp, backendType: "host-gw" }), MEASURED_HOST_GW);
  assert.equal(encodeLeaseAttrs({ publicIp }), MEASURED_UDP);
  assert.equal(
    encodeLeaseAttrs({ publicIp, backendType: "" }),
    MEASURED_UDP,
    "an empty BackendType is omitted",
  );
  assert.equal(
    encodeLeaseAttrs({
      publicIp,
      publicIpv6: parseIp("fd00::2"),
      backendType: "vxlan",
      backendData: { VNI: 1, VtepMAC: "3a:e6:eb:25:c4:98" },
      backendV6Data: { VNI: 1, VtepMAC: "5e:9a:1c:00:7f:02" },
    }),
    DUAL_STACK,
  );
  assert.equal(
    encodeLeaseAttrs({ publicIp: parseIp("0.0.0.0"), publicIpv6: parseIp("fd00:0::2") }),
    `{"PublicIP":"0.0.0.0","PublicIPv6":"fd00::2"}`,
  );
});

Deno.test("encodeLeaseAttrs escapes like Go (HTML-safe) and keeps null backend data", () => {
  const publicIp = parseIp("10.0.0.1");
  assert.equal(
    encodeLeaseAttrs({ publicIp, backendType: "<x&y>", backendData: { s: 'a<b>&\u2028\u2029\n"' } }),
    `{"PublicIP":"10.0.0.1","PublicIPv6":null,"BackendType":"\\u003cx\\u0026y\\u003e","BackendData":{"s":"a\\u003cb\\u003e\\u0026\\u2028\\u2029\\n\\""}}`,
  );
  assert.equal(
    encodeLeaseAttrs({ publicIp, backendData: null, backendV6Data: [1, "x"] }),
    `{"PublicIP":"10.0.0.1","PublicIPv6":null,"BackendData":null,"BackendV6Data":[1,"x"]}`,
  );
});

Deno.test("encodeLeaseAttrs refuses addresses of the wrong family", () => {
  assert.throws(() => encodeLeaseAttrs({ publicIp: parseIp("fd00::1") }), TypeError);
  assert.throws(
    () => encodeLeaseAttrs({ publicIp: parseIp("10.0.0.1"), publicIpv6: parseIp("10.0.0.2") }),
    TypeError,
  );
  assert.throws(() => encodeLeaseAttrs({ publicIp: parseIp("10.0.0.1"), backendData: () => 1 }), TypeError);
});

Deno.test("decodeLeaseAttrs reads every measured value and round-trips it byte for byte", () => {
  for (const text of [MEASURED_VXLAN, MEASURED_HOST_GW, MEASURED_UDP, DUAL_STACK]) {
    assert.equal(encodeLeaseAttrs(decodeLeaseAttrs(text)), text);
  }
  const a = decodeLeaseAttrs(DUAL_STACK);
  assert.equal(formatIp(a.publicIp), "10.199.0.1");
  assert.equal(formatIp(a.publicIpv6!), "fd00::2");
  assert.equal(a.backendType, "vxlan");
  assert.deepEqual(a.backendData, { VNI: 1, VtepMAC: "3a:e6:eb:25:c4:98" });
  assert.deepEqual(a.backendV6Data, { VNI: 1, VtepMAC: "5e:9a:1c:00:7f:02" });
  assert.deepEqual(Object.keys(decodeLeaseAttrs(MEASURED_UDP)), ["publicIp"]);
});

Deno.test("decodeLeaseAttrs has Go's leniencies", () => {
  // Case-insensitive names, unknown fields ignored, last repeated field wins.
  let a: LeaseAttrs = decodeLeaseAttrs(
    `{"publicip":"10.0.0.1","BACKENDTYPE":"vxlan","Extra":{"x":1},"PublicIP":"10.0.0.2","backenddata":{"VNI":7}}`,
  );
  assert.equal(formatIp(a.publicIp), "10.0.0.2");
  assert.equal(a.backendType, "vxlan");
  assert.deepEqual(a.backendData, { VNI: 7 });
  // Missing PublicIP is 0.0.0.0; PublicIPv6 null or missing is absent; BackendType null is none.
  a = decodeLeaseAttrs(`{"PublicIPv6":null,"BackendType":null}`);
  assert.deepEqual(a, { publicIp: parseIp("0.0.0.0") });
  assert.deepEqual(decodeLeaseAttrs(`{}`), { publicIp: parseIp("0.0.0.0") });
  // A top-level null decodes to empty attributes, as json.Unmarshal does.
  assert.deepEqual(decodeLeaseAttrs(`null`), { publicIp: parseIp("0.0.0.0") });
  // Go's To4 accepts an IPv4-mapped text for PublicIP; To16 maps an IPv4 text for PublicIPv6.
  assert.equal(decodeLeaseAttrs(`{"PublicIP":"::ffff:10.0.0.1"}`).publicIp.family, 4);
  assert.equal(formatIp(decodeLeaseAttrs(`{"PublicIPv6":"10.0.0.2"}`).publicIpv6!), "::ffff:a00:2");
  // BackendData keeps any JSON value, null included (Go's RawMessage).
  a = decodeLeaseAttrs(`{"BackendData":null,"BackendV6Data":"str"}`);
  assert.ok("backendData" in a && a.backendData === null);
  assert.equal(a.backendV6Data, "str");
  // Whitespace anywhere JSON allows it.
  assert.equal(formatIp(decodeLeaseAttrs(` {\n "PublicIP" : "10.0.0.1" }\n`).publicIp), "10.0.0.1");
  // A __proto__ key in backend data stays data.
  a = decodeLeaseAttrs(`{"BackendData":{"__proto__":{"polluted":1}}}`);
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
  assert.deepEqual(Object.keys(a.backendData as object), ["__proto__"]);
});

Deno.test("decodeLeaseAttrs refuses what upstream refuses, with clear messages", () => {
  const refuses = (text: string, re: RegExp) =>
    assert.throws(() => decodeLeaseAttrs(text), (e: unknown) => {
      assert.ok(e instanceof LeaseDecodeError, String(e));
      assert.ok(e instanceof SyntaxError);
      assert.match(e.message, /^Invalid lease value: /);
      assert.match(e.message, re);
      return true;
    });
  refuses(``, /not valid JSON: unexpected end of input/);
  refuses(`{"PublicIP":"10.0.0.1",}`, /not valid JSON: .*line 1, column 24/);
  refuses(`{"PublicIP":"10.0.0.1"} {}`, /after the top-level value/);
  refuses(`[]`, /must be a JSON object, not an array/);
  refuses(`"x"`, /must be a JSON object, not a string/);
  refuses(`{"PublicIP":null}`, /"PublicIP" is null: must be a string/);
  refuses(`{"PublicIP":""}`, /"PublicIP" is "": not an IPv4 address/);
  refuses(`{"PublicIP":"fd00::1"}`, /not an IPv4 address/);
  refuses(`{"PublicIP":10}`, /must be a string, not a number/);
  refuses(`{"PublicIP":"1\\u0030.0.0.1"}`, /without escape sequences/);
  refuses(`{"PublicIPv6":""}`, /"PublicIPv6" is "": not an IP address/);
  refuses(`{"PublicIPv6":5}`, /must be a string/);
  refuses(`{"BackendType":5}`, /"BackendType" is 5: must be a string, not a number/);
});

Deno.test("decodeLeaseAttrs only ever throws LeaseDecodeError, and what it accepts re-encodes (fuzz)", () => {
  const check = (text: string) => {
    let attrs: LeaseAttrs;
    try {
      attrs = decodeLeaseAttrs(text);
    } catch (e) {
      assert.ok(e instanceof LeaseDecodeError, `${JSON.stringify(text)}: ${e}`);
      return;
    }
    // Whatever decodes can be written back and reads the same.
    assert.deepEqual(decodeLeaseAttrs(encodeLeaseAttrs(attrs)), attrs);
  };
  const field = fc.constantFrom(
    "PublicIP",
    "publicip",
    "PublicIPv6",
    "BackendType",
    "BackendData",
    "BackendV6Data",
    "x",
  );
  const value = fc.oneof(
    fc.constantFrom("10.199.0.1", "fd00::2", "::ffff:1.2.3.4", "vxlan", "", "0.0.0.0"),
    fc.jsonValue({ maxDepth: 2 }),
  );
  fc.assert(fc.property(fc.dictionary(field, value, { maxKeys: 5 }), (o) => check(JSON.stringify(o))), {
    numRuns: 3000,
  });
  fc.assert(fc.property(fc.string(), check), { numRuns: 2000 });
  fc.assert(
    fc.property(fc.nat(DUAL_STACK.length), fc.string({ maxLength: 3 }), fc.nat(4), (at, s, cut) => {
      check(DUAL_STACK.slice(0, at) + s + DUAL_STACK.slice(at + cut));
    }),
    { numRuns: 3000 },
  );
});

Deno.test("parseLeaseKey result has host bits clear (IpNet invariant)", () => {
  fc.assert(fc.property(fc.string(), fc.oneof(v4net, v6net), (junk, n: IpNet) => {
    const s = parseLeaseKey(junk + leaseKeyName(n.addr.family === 4 ? { subnet: n } : { ipv6Subnet: n }));
    for (const p of [s?.subnet, s?.ipv6Subnet]) {
      if (p) assert.deepEqual(makeNet(p.addr, p.prefixLen), p);
    }
  }));
});
