import assert from "node:assert/strict";
import fc from "fast-check";
import {
  addrAdd,
  compareIp,
  formatCidr,
  formatIp,
  ipEqual,
  ipFromBytes,
  IpParseError,
  ipToBytes,
  lastAddr,
  makeNet,
  netContains,
  netEqual,
  netOverlaps,
  netSize,
  nextNet,
  parseCidr,
  parseCidrWithIp,
  parseIp,
  parseIp4,
  parseIp6,
} from "./ip.ts";

// Golden values captured by running each input through Go 1.26's net.ParseIP / net.IP.String() and net.ParseCIDR
// (the functions upstream flanneld uses). `null` = Go refuses the text.
const GO_PARSE_IP: readonly [string, string | null][] = [
  ["1.2.3.4", "1.2.3.4"],
  ["0.0.0.0", "0.0.0.0"],
  ["255.255.255.255", "255.255.255.255"],
  ["01.2.3.4", null],
  ["1.2.3", null],
  ["1.2.3.4.", null],
  ["256.1.1.1", null],
  [" 1.2.3.4", null],
  ["1.2.3.4 ", null],
  ["1.2.3.-4", null],
  ["1.2.3.0x4", null],
  ["::", "::"],
  ["::1", "::1"],
  ["1::", "1::"],
  ["1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8"],
  ["1:2:3:4:5:6:7::", "1:2:3:4:5:6:7:0"],
  ["::2:3:4:5:6:7:8", "0:2:3:4:5:6:7:8"],
  ["1:2:3:4:5:6::7:8", null],
  ["1:2:3:4:5:6:7:8::", null],
  ["::1:2:3:4:5:6:7:8", null],
  ["::ffff:1.2.3.4", "1.2.3.4"],
  ["::1.2.3.4", "::102:304"],
  ["1.2.3.4::", null],
  ["::ffff:01.2.3.4", null],
  ["1:2:3:4:5:6:1.2.3.4", "1:2:3:4:5:6:102:304"],
  ["1:2:3:4:5:6:7:1.2.3.4", null],
  ["1::1.2.3.4", "1::102:304"],
  ["::1.2.3.4:5", null],
  ["fc00:0:0:1::", "fc00:0:0:1::"],
  ["FC00::", "fc00::"],
  ["fc00:0000::", "fc00::"],
  ["00001::", null],
  ["0001::", "1::"],
  ["1::2::3", null],
  [":1::", null],
  [":::", null],
  ["1:2:3:4:5:6:7:8:9", null],
  ["fe80::1%eth0", null],
  ["[::1]", null],
  ["1:2:3:4:5:6:7", null],
  ["2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"],
  ["2001:db8::1:0:0:1", "2001:db8::1:0:0:1"],
  ["0:0:1:0:0:0:1:0", "0:0:1::1:0"],
  ["1:0:0:1:0:0:1:1", "1::1:0:0:1:1"],
  ["1:0:1:0:1:0:1:0", "1:0:1:0:1:0:1:0"],
  ["1:0:0:0:0:0:0:0", "1::"],
  ["0:0:0:0:0:0:0:1", "::1"],
  ["2001:0db8:0000:0000:0000:ff00:0042:8329", "2001:db8::ff00:42:8329"],
  ["ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"],
  ["0:1:0:0:1:0:0:0", "0:1:0:0:1::"],
  ["1:2:0:0:3:0:0:4", "1:2::3:0:0:4"],
  ["", null],
  [":", null],
  ["abcd", null],
  ["1.2.3.4:5", null],
];
const GO_PARSE_CIDR: readonly [string, string | null][] = [
  ["10.0.0.0/8", "10.0.0.0/8"],
  ["10.5.3.0/16", "10.5.0.0/16"],
  ["1.2.3.4/32", "1.2.3.4/32"],
  ["1.2.3.4/0", "0.0.0.0/0"],
  ["0.0.0.0/0", "0.0.0.0/0"],
  ["10.0.0.0/33", null],
  ["10.0.0.0/0024", "10.0.0.0/24"],
  ["10.0.0.0/", null],
  ["10.0.0.0/-1", null],
  ["10.0.0.0/+8", null],
  ["10.0.0.0/ 8", null],
  ["10.0.0.0/8 ", null],
  ["10.0.0.0", null],
  ["fc00::/48", "fc00::/48"],
  ["fc00::1/64", "fc00::/64"],
  ["fc00::/128", "fc00::/128"],
  ["fc00::/129", null],
  ["fc00::/0128", "fc00::/128"],
  ["::/0", "::/0"],
  ["fc00:0:0:1:2:3:4:5/127", "fc00::1:2:3:4:4/127"],
  ["10.0.0.0/8/8", null],
  ["/8", null],
  ["fc00::/0x10", null],
];

Deno.test("parseIp and formatIp agree with Go's net.ParseIP and net.IP.String on every golden input", () => {
  for (const [text, go] of GO_PARSE_IP) {
    if (go === null) {
      assert.throws(() => parseIp(text), IpParseError, `Go refuses ${JSON.stringify(text)}`);
      continue;
    }
    const addr = parseIp(text);
    // Go prints an IPv4-mapped address as a bare dotted quad; we keep the IPv6 family (documented in ip.ts).
    const expected = text === "::ffff:1.2.3.4" ? "::ffff:102:304" : go;
    assert.equal(formatIp(addr), expected, `formatIp(parseIp(${JSON.stringify(text)}))`);
    assert.equal(addr.family, /^\d+\.\d+\.\d+\.\d+$/.test(text) ? 4 : 6);
  }
});

Deno.test("parseCidr agrees with Go's net.ParseCIDR on every golden input", () => {
  for (const [text, go] of GO_PARSE_CIDR) {
    if (go === null) {
      assert.throws(() => parseCidr(text), IpParseError, `Go refuses ${JSON.stringify(text)}`);
    } else {
      assert.equal(formatCidr(parseCidr(text)), go, text);
    }
  }
});

Deno.test("parseCidrWithIp keeps the address as written and masks the network", () => {
  const { ip, net } = parseCidrWithIp("10.42.10.1/24");
  assert.equal(formatIp(ip), "10.42.10.1");
  assert.equal(formatCidr(net), "10.42.10.0/24");
});

Deno.test("parseCidr error messages quote the input and say what is wrong", () => {
  assert.throws(() => parseCidr("10.0.0.0"), /Invalid CIDR: "10\.0\.0\.0": missing "\/prefix-length"/);
  assert.throws(() => parseCidr("10.0.0.x/8"), /"10\.0\.0\.x" is not an IP address/);
  assert.throws(() => parseCidr("10.0.0.0/33"), /prefix length must be 0 to 32/);
  assert.throws(() => parseCidr("fc00::/129"), /prefix length must be 0 to 128/);
});

Deno.test("parseIp4 and parseIp6 refuse the other family", () => {
  assert.equal(formatIp(parseIp4("192.0.2.1")), "192.0.2.1");
  assert.throws(() => parseIp4("::1"), /Invalid IPv4 address: "::1"/);
  assert.equal(formatIp(parseIp6("2001:DB8::1")), "2001:db8::1");
  assert.throws(() => parseIp6("192.0.2.1"), /Invalid IPv6 address: "192\.0\.2\.1"/);
});

Deno.test("formatIp follows RFC 5952: longest zero run, first on a tie, single zero group kept", () => {
  const v6 = (groups: number[]) => ({
    family: 6 as const,
    value: groups.reduce((acc, g) => (acc << 16n) | BigInt(g), 0n),
  });
  assert.equal(formatIp(v6([1, 0, 0, 2, 0, 0, 0, 3])), "1:0:0:2::3"); // longer run wins
  assert.equal(formatIp(v6([1, 0, 0, 2, 0, 0, 3, 4])), "1::2:0:0:3:4"); // tie: first run
  assert.equal(formatIp(v6([1, 0, 2, 3, 4, 5, 6, 7])), "1:0:2:3:4:5:6:7"); // one zero group is not shortened
  assert.equal(formatIp(v6([0, 0, 0, 0, 0, 0, 0, 0])), "::");
  assert.equal(formatIp(v6([0xabcd, 0, 0, 0, 0, 0, 0, 0])), "abcd::");
  assert.equal(formatIp(v6([0, 0, 0, 0, 0, 0, 0, 0x0a0b])), "::a0b");
});

Deno.test("formatIp and parseIp round-trip any address of either family", () => {
  fc.assert(
    fc.property(fc.bigInt({ min: 0n, max: (1n << 32n) - 1n }), (value) => {
      const a = { family: 4 as const, value };
      assert.deepEqual(parseIp(formatIp(a)), a);
    }),
  );
  fc.assert(
    fc.property(
      fc.array(fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 0xffff })), { minLength: 8, maxLength: 8 }),
      (groups) => {
        const a = { family: 6 as const, value: groups.reduce((acc, g) => (acc << 16n) | BigInt(g), 0n) };
        const text = formatIp(a);
        assert.deepEqual(parseIp(text), a);
        assert.match(text, /^[0-9a-f:]+$/);
        assert.ok(!/(^|:)0[0-9a-f]/.test(text), `no leading zeros in ${text}`);
      },
    ),
  );
});

Deno.test("parseIp never throws anything but IpParseError", () => {
  fc.assert(
    fc.property(fc.oneof(fc.string(), fc.stringMatching(/^[0-9a-fA-F:.%]{0,45}$/)), (text) => {
      try {
        parseIp(text);
      } catch (e) {
        assert.ok(e instanceof IpParseError, String(e));
      }
      try {
        parseCidr(text);
      } catch (e) {
        assert.ok(e instanceof IpParseError, String(e));
      }
    }),
    { numRuns: 2000 },
  );
});

Deno.test("makeNet clears host bits and handles /0, /32 and /128", () => {
  const a = parseIp("10.1.2.3");
  assert.equal(formatCidr(makeNet(a, 0)), "0.0.0.0/0");
  assert.equal(formatCidr(makeNet(a, 32)), "10.1.2.3/32");
  assert.equal(formatCidr(makeNet(a, 20)), "10.1.0.0/20");
  const b = parseIp("fc00::1:2:3");
  assert.equal(formatCidr(makeNet(b, 0)), "::/0");
  assert.equal(formatCidr(makeNet(b, 128)), "fc00::1:2:3/128");
  assert.equal(formatCidr(makeNet(b, 112)), "fc00::1:2:0/112");
  assert.throws(() => makeNet(a, 33), RangeError);
  assert.throws(() => makeNet(b, -1), RangeError);
  assert.throws(() => makeNet(a, 1.5), RangeError);
});

Deno.test("netSize and lastAddr cover whole spaces without overflow", () => {
  assert.equal(netSize(parseCidr("0.0.0.0/0")), 1n << 32n);
  assert.equal(netSize(parseCidr("::/0")), 1n << 128n);
  assert.equal(netSize(parseCidr("10.0.0.1/32")), 1n);
  assert.equal(formatIp(lastAddr(parseCidr("0.0.0.0/0"))), "255.255.255.255");
  assert.equal(formatIp(lastAddr(parseCidr("::/0"))), "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
  assert.equal(formatIp(lastAddr(parseCidr("10.5.0.0/16"))), "10.5.255.255");
});

Deno.test("addrAdd and nextNet throw RangeError past the end of the space instead of wrapping", () => {
  assert.equal(formatIp(addrAdd(parseIp("10.0.0.255"), 1n)), "10.0.1.0");
  assert.equal(formatIp(addrAdd(parseIp("10.0.0.0"), -1n)), "9.255.255.255");
  assert.throws(() => addrAdd(parseIp("255.255.255.255"), 1n), RangeError);
  assert.throws(() => addrAdd(parseIp("0.0.0.0"), -1n), RangeError);
  assert.throws(() => addrAdd(parseIp("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), 1n), RangeError);
  assert.equal(formatCidr(nextNet(parseCidr("10.5.1.0/24"))), "10.5.2.0/24");
  assert.throws(() => nextNet(parseCidr("255.255.255.0/24")), RangeError);
  assert.throws(() => nextNet(parseCidr("0.0.0.0/0")), RangeError);
  assert.throws(() => nextNet(parseCidr("::/0")), RangeError);
});

Deno.test("netContains and netOverlaps respect families and prefix lengths", () => {
  const n = parseCidr("10.5.0.0/16");
  assert.ok(netContains(n, parseIp("10.5.255.255")));
  assert.ok(!netContains(n, parseIp("10.6.0.0")));
  assert.ok(!netContains(parseCidr("::/0"), parseIp("10.5.0.1")), "families never mix");
  assert.ok(netContains(parseCidr("0.0.0.0/0"), parseIp("1.2.3.4")));
  assert.ok(netOverlaps(n, parseCidr("10.5.7.0/24")));
  assert.ok(netOverlaps(parseCidr("10.5.7.0/24"), n));
  assert.ok(netOverlaps(n, parseCidr("0.0.0.0/0")));
  assert.ok(!netOverlaps(n, parseCidr("10.6.0.0/16")));
  assert.ok(!netOverlaps(parseCidr("::/0"), parseCidr("0.0.0.0/0")));
});

Deno.test("netOverlaps is exactly interval intersection", () => {
  const net = fc.tuple(fc.integer({ min: 0, max: 2 ** 32 - 1 }), fc.integer({ min: 0, max: 32 })).map((
    [v, len],
  ) => makeNet({ family: 4, value: BigInt(v) }, len));
  fc.assert(
    fc.property(net, net, (a, b) => {
      const [a0, a1] = [a.addr.value, lastAddr(a).value];
      const [b0, b1] = [b.addr.value, lastAddr(b).value];
      assert.equal(netOverlaps(a, b), a0 <= b1 && b0 <= a1);
    }),
  );
});

Deno.test("compareIp orders IPv4 before IPv6, then by value; equality helpers", () => {
  assert.ok(compareIp(parseIp("255.255.255.255"), parseIp("::")) < 0);
  assert.ok(compareIp(parseIp("10.0.0.2"), parseIp("10.0.0.10")) < 0);
  assert.equal(compareIp(parseIp("fc00::1"), parseIp("FC00:0::1")), 0);
  assert.ok(ipEqual(parseIp("fc00::1"), parseIp("fc00:0:0::1")));
  assert.ok(!ipEqual(parseIp("0.0.0.1"), parseIp("::1")));
  assert.ok(netEqual(parseCidr("10.5.3.0/16"), parseCidr("10.5.0.0/16")));
  assert.ok(!netEqual(parseCidr("10.5.0.0/16"), parseCidr("10.5.0.0/17")));
});

Deno.test("ipToBytes and ipFromBytes are network order and round-trip", () => {
  assert.deepEqual([...ipToBytes(parseIp("10.199.0.1"))], [10, 199, 0, 1]);
  const v6 = ipToBytes(parseIp("fc00::1"));
  assert.equal(v6.length, 16);
  assert.equal(v6[0], 0xfc);
  assert.equal(v6[15], 1);
  assert.deepEqual(ipFromBytes(v6), parseIp("fc00::1"));
  assert.throws(() => ipFromBytes(new Uint8Array(5)), RangeError);
  fc.assert(fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (b) => {
    assert.deepEqual(ipToBytes(ipFromBytes(b)), b);
  }));
});
