import assert from "node:assert/strict";
import fc from "fast-check";
import { formatCidr, formatIp } from "../ip.ts";
import { refuses, VXLAN } from "./_testing.ts";
import { ConfigError } from "./error.ts";
import { type NetworkConfig, parseNetworkConfig } from "./network.ts";

/** The pools of a config as strings: [network, len, min, max]. */
function pools(c: NetworkConfig) {
  const show = (p: NetworkConfig["ipv4"]) =>
    p && [formatCidr(p.network), p.subnetLen, formatIp(p.subnetMin), formatIp(p.subnetMax)];
  return { v4: show(c.ipv4), v6: show(c.ipv6) };
}

// Derived values checked against upstream's own ParseConfig + CheckNetworkConfig (v0.28.9) run under Go.
const DERIVED: readonly [string, ReturnType<typeof pools>][] = [
  [`{"Network":"10.5.0.0/16",${VXLAN}}`, {
    v4: ["10.5.0.0/16", 24, "10.5.1.0", "10.5.255.0"],
    v6: undefined,
  }],
  [`{"Network":"10.5.3.0/16",${VXLAN}}`, {
    v4: ["10.5.0.0/16", 24, "10.5.1.0", "10.5.255.0"],
    v6: undefined,
  }],
  [`{"Network":"10.0.0.0/8",${VXLAN}}`, {
    v4: ["10.0.0.0/8", 24, "10.0.1.0", "10.255.255.0"],
    v6: undefined,
  }],
  [`{"Network":"10.5.0.0/22",${VXLAN}}`, { v4: ["10.5.0.0/22", 24, "10.5.1.0", "10.5.3.0"], v6: undefined }],
  [`{"Network":"10.5.0.0/23",${VXLAN}}`, {
    v4: ["10.5.0.0/23", 25, "10.5.0.128", "10.5.1.128"],
    v6: undefined,
  }],
  [`{"Network":"10.5.0.0/25",${VXLAN}}`, {
    v4: ["10.5.0.0/25", 27, "10.5.0.32", "10.5.0.96"],
    v6: undefined,
  }],
  [`{"Network":"10.5.0.0/28",${VXLAN}}`, { v4: ["10.5.0.0/28", 30, "10.5.0.4", "10.5.0.12"], v6: undefined }],
  [`{"Network":"128.0.0.0/1",${VXLAN}}`, {
    v4: ["128.0.0.0/1", 24, "128.0.1.0", "255.255.255.0"],
    v6: undefined,
  }],
  [`{"Network":"10.5.0.0/16","SubnetLen":18,${VXLAN}}`, {
    v4: ["10.5.0.0/16", 18, "10.5.64.0", "10.5.192.0"],
    v6: undefined,
  }],
  [`{"Network":"10.5.0.0/16","SubnetLen":0,${VXLAN}}`, {
    v4: ["10.5.0.0/16", 24, "10.5.1.0", "10.5.255.0"],
    v6: undefined,
  }],
  [`{"Network":"10.5.0.0/16","SubnetLen":null,${VXLAN}}`, {
    v4: ["10.5.0.0/16", 24, "10.5.1.0", "10.5.255.0"],
    v6: undefined,
  }],
  [`{"Network":"10.5.0.0/16","SubnetMin":"10.5.0.0","SubnetMax":"10.5.9.0",${VXLAN}}`, {
    v4: ["10.5.0.0/16", 24, "10.5.0.0", "10.5.9.0"],
    v6: undefined,
  }],
  // "0.0.0.0" means "unset" to upstream: the default applies.
  [`{"Network":"10.5.0.0/16","SubnetMin":"0.0.0.0","SubnetMax":"0.0.0.0",${VXLAN}}`, {
    v4: ["10.5.0.0/16", 24, "10.5.1.0", "10.5.255.0"],
    v6: undefined,
  }],
  // Go's ParseIP + To4 reads an IPv4-mapped IPv6 text as IPv4.
  [`{"Network":"10.5.0.0/16","SubnetMin":"::ffff:10.5.2.0",${VXLAN}}`, {
    v4: ["10.5.0.0/16", 24, "10.5.2.0", "10.5.255.0"],
    v6: undefined,
  }],
  [`{"EnableIPv6":true,"Network":"10.5.0.0/16","IPv6Network":"fc00::/48",${VXLAN}}`, {
    v4: ["10.5.0.0/16", 24, "10.5.1.0", "10.5.255.0"],
    v6: ["fc00::/48", 64, "fc00:0:0:1::", "fc00:0:0:ffff::"],
  }],
  [`{"EnableIPv4":false,"EnableIPv6":true,"IPv6Network":"fc00::/63",${VXLAN}}`, {
    v4: undefined,
    v6: ["fc00::/63", 65, "fc00::8000:0:0:0", "fc00:0:0:1:8000::"],
  }],
  [`{"EnableIPv4":false,"EnableIPv6":true,"IPv6Network":"fc00::/124",${VXLAN}}`, {
    v4: undefined,
    v6: ["fc00::/124", 126, "fc00::4", "fc00::c"],
  }],
  [`{"EnableIPv4":false,"EnableIPv6":true,"IPv6Network":"ffff::/16","IPv6SubnetLen":50,${VXLAN}}`, {
    v4: undefined,
    v6: ["ffff::/16", 50, "ffff:0:0:4000::", "ffff:ffff:ffff:c000::"],
  }],
  [
    `{"EnableIPv4":false,"EnableIPv6":true,"IPv6Network":"fc00::/48","IPv6SubnetMin":null,"IPv6SubnetMax":"::",${VXLAN}}`,
    {
      v4: undefined,
      v6: ["fc00::/48", 64, "fc00:0:0:1::", "fc00:0:0:ffff::"],
    },
  ],
  // Go quirk: field names are matched case-insensitively, even with ſ (U+017F) for "s" and K (U+212A) for "k".
  [`{"network":"10.5.0.0/16","subnetlen":26,"BACKEND":{"type":"vxlan"}}`, {
    v4: ["10.5.0.0/16", 26, "10.5.0.64", "10.5.255.192"],
    v6: undefined,
  }],
  [`{"\u017fubnetLen":26,"Network":"10.5.0.0/16","Bac\u212aend":{"Type":"host-gw"}}`, {
    v4: ["10.5.0.0/16", 26, "10.5.0.64", "10.5.255.192"],
    v6: undefined,
  }],
  // Escapes in keys are decoded before matching; the last of repeated fields wins.
  [`{"S\\u0075bnetLen":26,"Network":"10.5.0.0/16","network":"10.6.0.0/16",${VXLAN}}`, {
    v4: ["10.6.0.0/16", 26, "10.6.0.64", "10.6.255.192"],
    v6: undefined,
  }],
];

Deno.test("parseNetworkConfig derives SubnetLen, SubnetMin and SubnetMax exactly as upstream", () => {
  for (const [text, want] of DERIVED) assert.deepEqual(pools(parseNetworkConfig(text)), want, text);
});

Deno.test("parseNetworkConfig defaults: IPv4 on, IPv6 off, iptables, and unknown fields ignored", () => {
  const c = parseNetworkConfig(`{"Network":"10.5.0.0/16","Comment":"x","Nested":{"a":[1,2]},${VXLAN}}`);
  assert.equal(c.ipv6, undefined);
  assert.equal(c.enableNFTables, false);
  assert.equal(c.backendDefaulted, false);
  assert.equal(
    parseNetworkConfig(`{"Network":"10.5.0.0/16","EnableNFTables":true,${VXLAN}}`).enableNFTables,
    true,
  );
  // null leaves a boolean at its default, as in Go.
  assert.notEqual(parseNetworkConfig(`{"Network":"10.5.0.0/16","EnableIPv4":null,${VXLAN}}`).ipv4, undefined);
});

Deno.test("parseNetworkConfig ignores the fields of a disabled family, but still decodes them", () => {
  const c = parseNetworkConfig(
    `{"Network":"10.5.0.0/16","IPv6Network":"fc00::/48","IPv6SubnetLen":200,${VXLAN}}`,
  );
  assert.equal(c.ipv6, undefined);
  refuses(`{"Network":"10.5.0.0/16","IPv6Network":"nonsense",${VXLAN}}`, "IPv6Network", /not a CIDR/);
});

Deno.test("parseNetworkConfig reports broken JSON with line and column", () => {
  const e = refuses(
    `{\n  "Network": "10.5.0.0/16",\n}`,
    "",
    /not valid JSON: unexpected "}".* at line 3, column 1/,
  );
  assert.equal(e.value, undefined);
  refuses(``, "", /not valid JSON: unexpected end of input/);
  refuses(`{"Network":"10.5.0.0/16"} x`, "", /after the top-level value at line 1, column 27/);
  refuses(`{"Network":"10.5.0.0/16" "SubnetLen":24}`, "", /expected "," or "}"/);
  refuses(`{"Network":'10.5.0.0/16'}`, "", /expected a value/);
  refuses(`{"Network":"10.5.\u0001"}`, "", /control character/);
  refuses(`{"SubnetLen":024}`, "", /not valid JSON/);
  refuses(`[]`, "", /must be a JSON object, not an array/);
  refuses(`null`, "", /must be a JSON object, not null/);
});

Deno.test("parseNetworkConfig refuses wrong types, naming field and value", () => {
  let e = refuses(`{"Network":5,${VXLAN}}`, "Network", /"Network" is 5: must be a string, not a number/);
  assert.equal(e.value, 5);
  refuses(`{"Network":null,${VXLAN}}`, "Network", /"Network" is null: must be a string/);
  refuses(`{"Network":"10.5.0.0/16","SubnetMin":null,${VXLAN}}`, "SubnetMin", /is null/);
  refuses(`{"Network":"10.5.0.0/16","EnableIPv4":"true",${VXLAN}}`, "EnableIPv4", /must be true or false/);
  e = refuses(
    `{"Network":"10.5.0.0/16","SubnetLen":"24",${VXLAN}}`,
    "SubnetLen",
    /is "24": must be a number/,
  );
  assert.equal(e.value, "24");
  refuses(`{"Network":"10.5.0.0/16","SubnetLen":24.0,${VXLAN}}`, "SubnetLen", /is 24\.0: must be an integer/);
  refuses(`{"Network":"10.5.0.0/16","SubnetLen":2.4e1,${VXLAN}}`, "SubnetLen", /must be an integer/);
  refuses(`{"Network":"10.5.0.0/16","SubnetLen":-1,${VXLAN}}`, "SubnetLen", /must not be negative/);
  refuses(`{"Network":"10.5.0.0/16","SubnetLen":18446744073709551616,${VXLAN}}`, "SubnetLen", /out of range/);
  // Go hands the raw JSON text to flannel's IP parsers: escapes inside the string make it unparseable.
  refuses(`{"Network":"10.0.0.0\\/8",${VXLAN}}`, "Network", /without escape sequences/);
  // The first problem in document order is the one reported.
  refuses(`{"SubnetLen":"x","Network":5,${VXLAN}}`, "SubnetLen", /must be a number/);
});

Deno.test("parseNetworkConfig refuses bad networks", () => {
  refuses(`{${VXLAN}}`, "Network", /"Network" is missing: required when "EnableIPv4" is true/);
  refuses(
    `{"Network":"10.5.0.0",${VXLAN}}`,
    "Network",
    /is "10\.5\.0\.0": not a CIDR network such as "10\.5\.0\.0\/16"/,
  );
  refuses(`{"Network":"10.5.0.0/33",${VXLAN}}`, "Network", /not a CIDR/);
  refuses(`{"Network":"fc00::/48",${VXLAN}}`, "Network", /an IPv6 network belongs in "IPv6Network"/);
  refuses(`{"Network":"::ffff:10.0.0.0/104",${VXLAN}}`, "Network", /must be written as an IPv4 network/);
  refuses(`{"Network":"0.0.0.0/0",${VXLAN}}`, "Network", /whole address space/);
  refuses(
    `{"Network":"10.5.0.0/29",${VXLAN}}`,
    "Network",
    /too small for flannel: the prefix must be \/28 or shorter/,
  );
  refuses(`{"Network":"10.5.0.0/32",${VXLAN}}`, "Network", /too small/);
});

Deno.test("parseNetworkConfig refuses bad SubnetLen", () => {
  const e = refuses(
    `{"Network":"10.5.0.0/16","SubnetLen":31,${VXLAN}}`,
    "SubnetLen",
    /^Invalid network config: "SubnetLen" is 31: must be at most 30$/,
  );
  assert.equal(e.value, 31);
  refuses(
    `{"Network":"10.5.0.0/16","SubnetLen":17,${VXLAN}}`,
    "SubnetLen",
    /is 17: must be at least 18 so that "Network" 10\.5\.0\.0\/16 holds at least four subnets/,
  );
  refuses(`{"Network":"10.5.0.0/29","SubnetLen":30,${VXLAN}}`, "SubnetLen", /at least 31/);
  // The largest network that still works with an explicit SubnetLen.
  assert.equal(parseNetworkConfig(`{"Network":"10.5.0.0/28","SubnetLen":30,${VXLAN}}`).ipv4?.subnetLen, 30);
});

Deno.test("parseNetworkConfig refuses SubnetMin/SubnetMax outside, unaligned or crossed", () => {
  refuses(
    `{"Network":"10.5.0.0/16","SubnetMin":"10.6.0.0",${VXLAN}}`,
    "SubnetMin",
    /not inside "Network" 10\.5\.0\.0\/16/,
  );
  refuses(`{"Network":"10.5.0.0/16","SubnetMax":"10.4.255.0",${VXLAN}}`, "SubnetMax", /not inside/);
  refuses(
    `{"Network":"10.5.0.0/16","SubnetMin":"10.5.1.1",${VXLAN}}`,
    "SubnetMin",
    /is "10\.5\.1\.1": not the start of a \/24 subnet .*e\.g\. 10\.5\.1\.0/,
  );
  refuses(`{"Network":"10.5.0.0/16","SubnetMax":"10.5.1.128",${VXLAN}}`, "SubnetMax", /not the start/);
  refuses(`{"Network":"10.5.0.0/16","SubnetMin":"fc00::",${VXLAN}}`, "SubnetMin", /not an IPv4 address/);
  refuses(`{"Network":"10.5.0.0/16","SubnetMin":5,${VXLAN}}`, "SubnetMin", /must be a string/);
  // Upstream does not check this; we do.
  refuses(
    `{"Network":"10.5.0.0/16","SubnetMin":"10.5.9.0","SubnetMax":"10.5.3.0",${VXLAN}}`,
    "SubnetMin",
    /"SubnetMin" 10\.5\.9\.0 is above "SubnetMax" 10\.5\.3\.0/,
  );
  refuses(`{"Network":"10.5.0.0/16","SubnetMax":"10.5.0.0",${VXLAN}}`, "SubnetMax", /10\.5\.1\.0 is above/);
});

Deno.test("parseNetworkConfig refuses bad IPv6 settings", () => {
  const v6 = (extra: string) => `{"EnableIPv6":true,"Network":"10.5.0.0/16"${extra},${VXLAN}}`;
  refuses(v6(""), "IPv6Network", /"IPv6Network" is missing: required when "EnableIPv6" is true/);
  refuses(v6(`,"IPv6Network":"10.0.0.0/8"`), "IPv6Network", /must be an IPv6 network/);
  refuses(v6(`,"IPv6Network":"::/0"`), "IPv6Network", /whole address space/);
  refuses(v6(`,"IPv6Network":"fc00::/125"`), "IPv6Network", /must be \/124 or shorter/);
  refuses(v6(`,"IPv6Network":"fc00::/48","IPv6SubnetLen":127`), "IPv6SubnetLen", /must be at most 126/);
  refuses(v6(`,"IPv6Network":"fc00::/48","IPv6SubnetLen":49`), "IPv6SubnetLen", /at least 50/);
  refuses(
    v6(`,"IPv6Network":"fc00::/48","IPv6SubnetMin":"fc00:1::"`),
    "IPv6SubnetMin",
    /not inside "IPv6Network"/,
  );
  refuses(v6(`,"IPv6Network":"fc00::/48","IPv6SubnetMax":"10.0.0.1"`), "IPv6SubnetMax", /not inside/);
  refuses(
    v6(`,"IPv6Network":"fc00::/48","IPv6SubnetMin":"fc00:0:0:2::1"`),
    "IPv6SubnetMin",
    /not the start of a \/64/,
  );
  refuses(v6(`,"IPv6Network":"fc00::/48","IPv6SubnetMax":"fc00::"`), "IPv6SubnetMax", /is above/);
  refuses(v6(`,"IPv6Network":"fc00::/48","IPv6SubnetMin":"nope"`), "IPv6SubnetMin", /not an IPv6 address/);
});

Deno.test("parseNetworkConfig refuses a config with both families off", () => {
  refuses(`{"EnableIPv4":false,${VXLAN}}`, "EnableIPv4", /at least one address family must be enabled/);
});

Deno.test("parseNetworkConfig only ever throws ConfigError (fuzz)", () => {
  const fieldNames = [
    "Network",
    "network",
    "SubnetLen",
    "SubnetMin",
    "SubnetMax",
    "EnableIPv4",
    "EnableIPv6",
    "EnableNFTables",
    "IPv6Network",
    "IPv6SubnetLen",
    "IPv6SubnetMin",
    "IPv6SubnetMax",
    "Backend",
    "Type",
    "VNI",
    "Port",
    "MTU",
    "GBP",
  ];
  const leaf = fc.oneof(
    fc.constantFrom(
      "10.5.0.0/16",
      "fc00::/48",
      "10.5.1.0",
      "fc00:0:0:1::",
      "vxlan",
      "host-gw",
      "udp",
      "0.0.0.0/0",
      "::",
      "10.5.0.0/30",
    ),
    fc.integer({ min: -5, max: 200 }),
    fc.boolean(),
    fc.constant(null),
    fc.string({ maxLength: 8 }),
    fc.double(),
  );
  const value = fc.letrec((tie) => ({
    v: fc.oneof({ depthSize: "small" }, leaf, fc.array(tie("v"), { maxLength: 3 }), tie("o")),
    o: fc.dictionary(fc.constantFrom(...fieldNames), tie("v"), { maxKeys: 6 }),
  }));
  const check = (text: string) => {
    try {
      parseNetworkConfig(text);
    } catch (e) {
      assert.ok(e instanceof ConfigError, `${text}: ${e}`);
    }
  };
  fc.assert(fc.property(value.o, (o) => check(JSON.stringify(o))), { numRuns: 3000 });
  fc.assert(fc.property(fc.string(), check), { numRuns: 2000 });
  // Mutated valid configs: truncations and single-character edits.
  const base =
    `{"Network":"10.5.0.0/16","SubnetLen":24,"EnableIPv6":true,"IPv6Network":"fc00::/48","Backend":{"Type":"vxlan","VNI":1}}`;
  fc.assert(
    fc.property(fc.nat(base.length), fc.string({ maxLength: 2 }), fc.nat(3), (at, s, cut) => {
      check(base.slice(0, at) + s + base.slice(at + cut));
    }),
    { numRuns: 3000 },
  );
});
