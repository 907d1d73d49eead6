import assert from "node:assert/strict";
import fc from "fast-check";
import {
  decrementTtl,
  icmpNetUnreachable,
  inetChecksum,
  ipv4Dst,
  ipv4HeaderValid,
  ipv4Src,
  ipv4ToU32,
  isIpv4,
  u32ToIpv4,
} from "./packet.ts";

/** A valid IPv4 header (+ payload) with the given fields. */
function packet(
  o: { ttl?: number; proto?: number; frag?: number; src?: number[]; dst?: number[]; payload?: number[] },
) {
  const payload = o.payload ?? [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
  const p = new Uint8Array([
    0x45,
    0,
    0,
    20 + payload.length,
    0xab,
    0xcd,
    (o.frag ?? 0) >> 8,
    (o.frag ?? 0) & 0xff,
    o.ttl ?? 64,
    o.proto ?? 17,
    0,
    0,
    ...(o.src ?? [10, 5, 1, 2]),
    ...(o.dst ?? [10, 5, 2, 2]),
    ...payload,
  ]);
  const c = inetChecksum(p.subarray(0, 20));
  p[10] = c >> 8;
  p[11] = c & 0xff;
  return p;
}

Deno.test("isIpv4: version 4 with a header that fits; IPv6 and short or bad-IHL buffers refused", () => {
  assert.equal(isIpv4(packet({})), true);
  assert.equal(isIpv4(new Uint8Array(19).fill(0x45)), false);
  const v6 = new Uint8Array(40);
  v6[0] = 0x60;
  assert.equal(isIpv4(v6), false);
  const badIhl = packet({});
  badIhl[0] = 0x44;
  assert.equal(isIpv4(badIhl), false);
  const longIhl = packet({});
  longIhl[0] = 0x4f; // 60-byte header in a 30-byte packet
  assert.equal(isIpv4(longIhl), false);
});

Deno.test("ipv4Src/ipv4Dst and the dotted-quad conversions", () => {
  const p = packet({ src: [192, 168, 0, 1], dst: [255, 1, 2, 3] });
  assert.equal(u32ToIpv4(ipv4Src(p)), "192.168.0.1");
  assert.equal(ipv4Dst(p), 0xff010203);
  assert.equal(ipv4ToU32("10.5.3.2"), 0x0a050302);
  assert.throws(() => ipv4ToU32("10.5.3"), SyntaxError);
  assert.throws(() => ipv4ToU32("10.5.3.256"), SyntaxError);
});

Deno.test("decrementTtl: TTL − 1 with a checksum that still verifies; TTL 1 and 0 mean drop", () => {
  const p = packet({ ttl: 64 });
  assert.equal(decrementTtl(p), true);
  assert.equal(p[8], 63);
  assert.equal(ipv4HeaderValid(p), true);
  const one = packet({ ttl: 1 });
  assert.equal(decrementTtl(one), false);
  assert.equal(one[8], 1, "left alone");
  assert.equal(decrementTtl(packet({ ttl: 0 })), false);
});

Deno.test("decrementTtl: the incremental checksum equals a full recomputation for any header (property)", () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ minLength: 20, maxLength: 20 }),
      fc.integer({ min: 2, max: 255 }),
      (h, ttl) => {
        h[0] = 0x45;
        h[8] = ttl;
        h[10] = 0;
        h[11] = 0;
        const c = inetChecksum(h);
        h[10] = c >> 8;
        h[11] = c & 0xff;
        decrementTtl(h);
        return inetChecksum(h) === 0;
      },
    ),
  );
});

Deno.test("icmpNetUnreachable: type 3 code 0, TTL 8, from the TUN address to the sender, both checksums valid", () => {
  const offender = packet({
    proto: 17,
    src: [10, 5, 1, 2],
    dst: [10, 5, 9, 9],
    payload: [...Array(30).keys()],
  });
  const icmp = icmpNetUnreachable(offender, ipv4ToU32("10.5.1.0"))!;
  assert.equal(icmp.length, 20 + 8 + 20 + 8);
  assert.equal(ipv4HeaderValid(icmp), true);
  assert.deepEqual([icmp[2]! << 8 | icmp[3]!], [icmp.length]);
  assert.deepEqual([icmp[4], icmp[5]], [0xab, 0xcd], "the offender's IP id, as upstream");
  assert.equal(icmp[8], 8);
  assert.equal(icmp[9], 1);
  assert.equal(u32ToIpv4(ipv4Src(icmp)), "10.5.1.0");
  assert.equal(u32ToIpv4(ipv4Dst(icmp)), "10.5.1.2");
  assert.deepEqual([icmp[20], icmp[21]], [3, 0]);
  assert.equal(inetChecksum(icmp.subarray(20)), 0);
  assert.deepEqual([...icmp.subarray(28)], [...offender.subarray(0, 28)], "offender's header + 8 data bytes");
});

Deno.test("icmpNetUnreachable: a short offender is quoted whole", () => {
  const offender = packet({ payload: [1, 2, 3] });
  const icmp = icmpNetUnreachable(offender, 1)!;
  assert.equal(icmp.length, 28 + 23);
  assert.equal(inetChecksum(icmp.subarray(20)), 0);
});

Deno.test("icmpNetUnreachable: never about ICMP, never about a non-first fragment; first fragments are fine", () => {
  assert.equal(icmpNetUnreachable(packet({ proto: 1 }), 1), null);
  assert.equal(icmpNetUnreachable(packet({ frag: 0x0010 }), 1), null, "offset 16×8");
  assert.notEqual(
    icmpNetUnreachable(packet({ frag: 0x2000 }), 1),
    null,
    "MF set, offset 0: the first fragment",
  );
  assert.notEqual(icmpNetUnreachable(packet({ frag: 0x4000 }), 1), null, "DF");
});

Deno.test("inetChecksum: RFC 1071 example and odd lengths", () => {
  // RFC 1071 §3: 00 01 f2 03 f4 f5 f6 f7 → sum ddf2, checksum 220d.
  assert.equal(inetChecksum(new Uint8Array([0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7])), 0x220d);
  assert.equal(inetChecksum(new Uint8Array([0xff])), 0x00ff);
});
