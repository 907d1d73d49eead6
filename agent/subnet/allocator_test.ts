import assert from "node:assert/strict";
import fc from "fast-check";
import { UserError } from "../../cli/errors.ts";
import { parseNetworkConfig, type SubnetPool } from "../config/mod.ts";
import { bitsOf, formatCidr, type IpNet, lastAddr, makeNet, netOverlaps, parseCidr, parseIp } from "../ip.ts";
import { allocateSubnet, isCompatibleSubnet, SubnetPoolExhaustedError } from "./allocator.ts";

function pool(network: string, extra = ""): SubnetPool {
  const family = network.includes(":") ? 6 : 4;
  const text = family === 4
    ? `{"Network":"${network}"${extra},"Backend":{"Type":"vxlan"}}`
    : `{"EnableIPv4":false,"EnableIPv6":true,"IPv6Network":"${network}"${extra},"Backend":{"Type":"vxlan"}}`;
  const c = parseNetworkConfig(text);
  return (family === 4 ? c.ipv4 : c.ipv6)!;
}

/** A deterministic generator in [0, 1) (mulberry32). */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Upstream's algorithm, literally (O(candidates × leases)): the free candidates it would choose from. */
function upstreamCandidates(p: SubnetPool, taken: IpNet[]): bigint[] {
  const size = 1n << BigInt(bitsOf(p.network.addr.family) - p.subnetLen);
  const out: bigint[] = [];
  for (let v = p.subnetMin.value; v <= p.subnetMax.value && out.length < 100; v += size) {
    const sn = { addr: { family: p.network.addr.family, value: v }, prefixLen: p.subnetLen };
    if (!taken.some((t) => netOverlaps(sn, t))) out.push(v);
  }
  return out;
}

Deno.test("allocateSubnet picks among the first 100 free candidates from SubnetMin, like upstream", () => {
  const p = pool("10.5.0.0/16");
  assert.equal(formatCidr(allocateSubnet(p, [], () => 0)), "10.5.1.0/24");
  assert.equal(formatCidr(allocateSubnet(p, [], () => 0.999999)), "10.5.100.0/24");
  assert.equal(formatCidr(allocateSubnet(p, [], () => 0.5)), "10.5.51.0/24");
  const taken = [parseCidr("10.5.1.0/24"), parseCidr("10.5.3.0/24")];
  assert.equal(formatCidr(allocateSubnet(p, taken, () => 0)), "10.5.2.0/24");
  assert.equal(formatCidr(allocateSubnet(p, taken, () => 0.999999)), "10.5.102.0/24");
});

Deno.test("allocateSubnet skips candidates overlapping a taken prefix of any length", () => {
  const p = pool("10.5.0.0/16");
  // A /20 covers 10.5.0.0 - 10.5.15.255, a /32 blocks one /24, a supernet of the pool blocks everything.
  assert.equal(formatCidr(allocateSubnet(p, [parseCidr("10.5.0.0/20")], () => 0)), "10.5.16.0/24");
  assert.equal(formatCidr(allocateSubnet(p, [parseCidr("10.5.1.77/32")], () => 0)), "10.5.2.0/24");
  assert.throws(() => allocateSubnet(p, [parseCidr("10.0.0.0/8")], () => 0), SubnetPoolExhaustedError);
  // Leases of the other family never block.
  assert.equal(formatCidr(allocateSubnet(p, [parseCidr("::/0")], () => 0)), "10.5.1.0/24");
});

Deno.test("allocateSubnet honours SubnetMin and SubnetMax inclusively", () => {
  const p = pool("10.5.0.0/16", `,"SubnetMin":"10.5.10.0","SubnetMax":"10.5.12.0"`);
  const seen = new Set<string>();
  for (let i = 0; i < 200; i++) seen.add(formatCidr(allocateSubnet(p, [], seeded(i))));
  assert.deepEqual([...seen].sort(), ["10.5.10.0/24", "10.5.11.0/24", "10.5.12.0/24"]);
  const taken = [parseCidr("10.5.10.0/24"), parseCidr("10.5.12.0/24")];
  assert.equal(formatCidr(allocateSubnet(p, taken, Math.random)), "10.5.11.0/24");
});

Deno.test("allocateSubnet throws SubnetPoolExhaustedError with range, count and hint for a full pool", () => {
  const p = pool("10.5.0.0/22");
  const taken = ["10.5.1.0/24", "10.5.2.0/24", "10.5.3.0/24"].map(parseCidr);
  try {
    allocateSubnet(p, taken, Math.random);
    assert.fail("expected an error");
  } catch (e) {
    assert.ok(e instanceof SubnetPoolExhaustedError);
    assert.ok(e instanceof UserError);
    assert.equal(
      e.message,
      "No free subnet: all 3 /24 subnets from 10.5.1.0 to 10.5.3.0 overlap existing leases",
    );
    assert.match(e.hint!, /Widen "Network" or the "SubnetMin"\.\."SubnetMax" range/);
    assert.match(e.hint!, /delete stale lease keys under <etcd-prefix>\/subnets\//);
    assert.equal(e.exitCode, 1);
    assert.equal(e.pool, p);
  }
  const p6 = pool("fc00::/124");
  const e6 = assert.throws(
    () => allocateSubnet(p6, [parseCidr("fc00::/124")], Math.random),
    /all 3 \/126 subnets from fc00::4 to fc00::c/,
  );
  void e6;
});

Deno.test("allocateSubnet works on IPv6 pools with 2^64 candidates", () => {
  const p = pool("fc00::/48");
  assert.equal(formatCidr(allocateSubnet(p, [], () => 0)), "fc00:0:0:1::/64");
  const huge = pool("fc00::/8");
  assert.equal(formatCidr(allocateSubnet(huge, [], () => 0.999999)), "fc00:0:0:64::/64");
  // Most of the pool taken by one big prefix: the walk jumps over it.
  const big = parseCidr("fc00::/9");
  assert.equal(formatCidr(allocateSubnet(huge, [big], () => 0)), "fc80::/64");
  // Every candidate but the last two taken, by prefixes of three different lengths.
  const allButTwo = [parseCidr("fc00::/9"), parseCidr("fc80::/10"), parseCidr("fcc0::/11")];
  const p12 = pool("fc00::/8", `,"IPv6SubnetLen":12`);
  assert.equal(formatCidr(allocateSubnet(p12, allButTwo, () => 0.99)), "fcf0::/12");
  assert.equal(formatCidr(allocateSubnet(p12, allButTwo, () => 0)), "fce0::/12");
});

Deno.test("allocateSubnet handles the ends of the address space (IPv4 /0 and top addresses)", () => {
  // A pool built by hand: parseNetworkConfig refuses 0.0.0.0/0, but the allocator must not loop on it.
  const whole: SubnetPool = {
    network: parseCidr("0.0.0.0/0"),
    subnetLen: 0,
    subnetMin: parseIp("0.0.0.0"),
    subnetMax: parseIp("0.0.0.0"),
  };
  assert.equal(formatCidr(allocateSubnet(whole, [], () => 0.5)), "0.0.0.0/0");
  assert.throws(() => allocateSubnet(whole, [parseCidr("10.0.0.0/8")], () => 0), SubnetPoolExhaustedError);
  const top = pool("255.255.255.0/24"); // SubnetLen 26: .64, .128, .192
  assert.equal(formatCidr(allocateSubnet(top, [], () => 0.999)), "255.255.255.192/26");
  assert.equal(
    formatCidr(allocateSubnet(top, [parseCidr("255.255.255.252/30")], () => 0.999)),
    "255.255.255.128/26",
  );
  const top30 = pool("255.255.255.240/28");
  assert.equal(formatCidr(allocateSubnet(top30, [], () => 0.999)), "255.255.255.252/30");
  const v6top = pool("ffff::/16");
  assert.equal(
    formatCidr(allocateSubnet(v6top, [parseCidr("ffff::/17")], () => 0.999999)),
    "ffff:8000:0:63::/64",
  );
  const last: SubnetPool = {
    network: parseCidr("::/0"),
    subnetLen: 128,
    subnetMin: parseIp("ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe"),
    subnetMax: parseIp("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
  };
  assert.equal(
    formatCidr(allocateSubnet(last, [parseCidr("ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe/128")], () => 0)),
    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128",
  );
});

Deno.test("allocateSubnet is fast on a /8 with 65536 candidates and 5000 taken", () => {
  const p = pool("10.0.0.0/8");
  const rnd = seeded(42);
  const taken: IpNet[] = [];
  // The first 5000 /24s taken (the worst case for a walk from SubnetMin), in shuffled order.
  for (let i = 1; i <= 5000; i++) {
    taken.push(makeNet({ family: 4, value: (10n << 24n) + (BigInt(i) << 8n) }, 24));
  }
  for (let i = taken.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [taken[i], taken[j]] = [taken[j]!, taken[i]!];
  }
  const t0 = performance.now();
  const got = allocateSubnet(p, taken, () => 0);
  const ms = performance.now() - t0;
  assert.equal(formatCidr(got), "10.19.137.0/24"); // 10.0.0.0 + 5001 × 256
  assert.ok(ms < 500, `took ${ms} ms`);
  // And the full pool: 65535 taken /24s, then the error, quickly.
  const all: IpNet[] = [];
  for (let i = 1; i < 65536; i++) {
    all.push(makeNet({ family: 4, value: (10n << 24n) + (BigInt(i) << 8n) }, 24));
  }
  const t1 = performance.now();
  assert.throws(
    () => allocateSubnet(p, all, Math.random),
    /all 65535 \/24 subnets from 10\.0\.1\.0 to 10\.255\.255\.0/,
  );
  assert.ok(performance.now() - t1 < 2000);
});

Deno.test("allocateSubnet copes with odd random values", () => {
  const p = pool("10.5.0.0/16");
  assert.equal(formatCidr(allocateSubnet(p, [], () => 1)), "10.5.100.0/24");
  assert.equal(formatCidr(allocateSubnet(p, [], () => -3)), "10.5.1.0/24");
  assert.equal(formatCidr(allocateSubnet(p, [], () => NaN)), "10.5.1.0/24");
});

Deno.test("allocateSubnet refuses malformed pools with RangeError", () => {
  const p = pool("10.5.0.0/16");
  assert.throws(() => allocateSubnet({ ...p, subnetMin: parseIp("10.5.1.1") }, [], Math.random), RangeError);
  assert.throws(() => allocateSubnet({ ...p, subnetLen: 33 }, [], Math.random), RangeError);
  assert.throws(() => allocateSubnet({ ...p, subnetMax: parseIp("fc00::") }, [], Math.random), RangeError);
});

const v4pool: fc.Arbitrary<SubnetPool> = fc
  .tuple(
    fc.integer({ min: 0, max: 2 ** 32 - 1 }),
    fc.integer({ min: 1, max: 28 }),
    fc.integer({ min: 2, max: 12 }),
    fc.nat(),
    fc.nat(),
  )
  .map(([v, prefix, extra, a, b]) => {
    const network = makeNet({ family: 4, value: BigInt(v) }, prefix);
    const subnetLen = Math.min(30, prefix + extra);
    const size = 1n << BigInt(32 - subnetLen);
    const count = 1n << BigInt(subnetLen - prefix);
    const [i, j] = [BigInt(a) % count, BigInt(b) % count].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
    return {
      network,
      subnetLen,
      subnetMin: { family: 4 as const, value: network.addr.value + i! * size },
      subnetMax: { family: 4 as const, value: network.addr.value + j! * size },
    };
  });

const v6pool: fc.Arbitrary<SubnetPool> = fc
  .tuple(
    fc.bigInt({ min: 0n, max: (1n << 128n) - 1n }),
    fc.integer({ min: 1, max: 120 }),
    fc.integer({ min: 2, max: 8 }),
  )
  .map(([v, prefix, extra]) => {
    const network = makeNet({ family: 6, value: v }, prefix);
    const subnetLen = Math.min(126, prefix + extra);
    const size = 1n << BigInt(128 - subnetLen);
    return {
      network,
      subnetLen,
      subnetMin: { family: 6 as const, value: network.addr.value + size },
      subnetMax: { family: 6 as const, value: lastAddr(network).value + 1n - size },
    };
  });

/** Taken prefixes around the pool: inside it, overlapping it, and of other lengths. */
function takenFor(p: SubnetPool): fc.Arbitrary<IpNet[]> {
  const bits = bitsOf(p.network.addr.family);
  const span = p.subnetMax.value - p.subnetMin.value + (1n << BigInt(bits - p.subnetLen));
  const max = (1n << BigInt(bits)) - 1n;
  const addr = fc.bigInt({ min: 0n, max: span * 2n }).map((off) => {
    const v = p.subnetMin.value - span / 2n + off;
    return v < 0n ? 0n : v > max ? max : v;
  });
  return fc.array(
    fc.tuple(addr, fc.integer({ min: Math.max(0, p.subnetLen - 4), max: Math.min(bits, p.subnetLen + 4) }))
      .map(([v, len]) => makeNet({ family: p.network.addr.family, value: v }, len)),
    { maxLength: 60 },
  );
}

function checkAllocation(p: SubnetPool, taken: IpNet[], r: number) {
  const expected = upstreamCandidates(p, taken);
  let got: IpNet;
  try {
    got = allocateSubnet(p, taken, () => r);
  } catch (e) {
    assert.ok(e instanceof SubnetPoolExhaustedError, String(e));
    assert.equal(expected.length, 0, "upstream would have found a free subnet");
    return;
  }
  assert.equal(got.prefixLen, p.subnetLen);
  assert.equal(got.addr.family, p.network.addr.family);
  assert.ok(got.addr.value >= p.subnetMin.value && got.addr.value <= p.subnetMax.value, "in range");
  assert.deepEqual(makeNet(got.addr, got.prefixLen), got, "aligned");
  assert.ok(isCompatibleSubnet(p, got));
  for (const t of taken) assert.ok(!netOverlaps(got, t), `${formatCidr(got)} overlaps ${formatCidr(t)}`);
  // Same candidate list as upstream's literal walk, and the same pick for the same random number.
  assert.equal(got.addr.value, expected[Math.min(expected.length - 1, Math.floor(r * expected.length))]);
}

Deno.test("allocateSubnet matches upstream's walk on random IPv4 pools (property)", () => {
  fc.assert(
    fc.property(
      v4pool.chain((p) =>
        fc.tuple(fc.constant(p), takenFor(p), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }))
      ),
      ([p, taken, r]) => checkAllocation(p, taken, r),
    ),
    { numRuns: 1500 },
  );
});

Deno.test("allocateSubnet matches upstream's walk on random IPv6 pools (property)", () => {
  fc.assert(
    fc.property(
      v6pool.chain((p) =>
        fc.tuple(fc.constant(p), takenFor(p), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }))
      ),
      ([p, taken, r]) => checkAllocation(p, taken, r),
    ),
    { numRuns: 800 },
  );
});

Deno.test("allocateSubnet on a pool whose every candidate is taken always throws (property)", () => {
  fc.assert(
    fc.property(
      v4pool.filter((p) => (p.subnetMax.value - p.subnetMin.value) >> BigInt(32 - p.subnetLen) < 300n),
      (p) => {
        const size = 1n << BigInt(32 - p.subnetLen);
        const taken: IpNet[] = [];
        for (let v = p.subnetMin.value; v <= p.subnetMax.value; v += size) {
          taken.push({ addr: { family: 4, value: v }, prefixLen: p.subnetLen });
        }
        assert.throws(() => allocateSubnet(p, taken, Math.random), SubnetPoolExhaustedError);
      },
    ),
    { numRuns: 300 },
  );
});

Deno.test("isCompatibleSubnet follows upstream: length equal and address within SubnetMin..SubnetMax", () => {
  const p = pool("10.5.0.0/16", `,"SubnetMin":"10.5.10.0","SubnetMax":"10.5.20.0"`);
  assert.ok(isCompatibleSubnet(p, parseCidr("10.5.10.0/24")));
  assert.ok(isCompatibleSubnet(p, parseCidr("10.5.20.0/24")));
  assert.ok(!isCompatibleSubnet(p, parseCidr("10.5.9.0/24")));
  assert.ok(!isCompatibleSubnet(p, parseCidr("10.5.21.0/24")));
  assert.ok(!isCompatibleSubnet(p, parseCidr("10.5.12.0/25")));
  assert.ok(!isCompatibleSubnet(p, parseCidr("fc00::/24")));
  const p6 = pool("fc00::/48");
  assert.ok(isCompatibleSubnet(p6, parseCidr("fc00:0:0:1::/64")));
  assert.ok(!isCompatibleSubnet(p6, parseCidr("fc00::/64")), "the first subnet is below IPv6SubnetMin");
});
