/**
 * One fuzz target per decoder: thousands of random inputs and mutations of captured kernel replies. A decoder
 * may return anything or throw NetlinkCodecError, nothing else, and must terminate.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { decodeDone, decodeError, type NetlinkMessage, parseMessages } from "./codec.ts";
import { Attrs, parseAttrs } from "./attrs.ts";
import { decodeIfAddrMsg, decodeIfInfoMsg, decodeNdMsg, decodeRtMsg } from "./family_headers.ts";
import { NetlinkCodecError } from "./errors.ts";
import { decodeLink } from "./link.ts";
import { decodeAddr } from "./addr.ts";
import { decodeRoute } from "./route.ts";
import { decodeNeigh } from "./neigh.ts";
import { decodeEvent } from "./monitor.ts";
import { decodeVxlanData } from "./link_kinds/vxlan.ts";
import { decodeBridgeData } from "./link_kinds/bridge.ts";
import { allFixtureBytes } from "./testdata/fixtures.ts";

const RUNS = 3000;
const seeds = allFixtureBytes();

/** Random bytes, or a captured message with bytes flipped, cut, or inserted. */
const input: fc.Arbitrary<Uint8Array> = fc.oneof(
  fc.uint8Array({ maxLength: 600 }),
  fc.tuple(
    fc.constantFrom(...seeds),
    fc.array(
      fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 }), fc.constantFrom("flip", "cut", "insert", "set16")),
      {
        minLength: 1,
        maxLength: 8,
      },
    ),
  ).map(([seed, edits]) => {
    let b = Array.from(seed);
    for (const [pos, val, op] of edits) {
      const i = b.length === 0 ? 0 : pos % b.length;
      if (op === "flip") b[i] = (b[i] ?? 0) ^ val;
      else if (op === "cut") b = b.slice(0, i);
      else if (op === "insert") b.splice(i, 0, val);
      else b.splice(i, 2, val, val >> 1);
    }
    return new Uint8Array(b);
  }),
);

function onlyCodecErrors(fn: (b: Uint8Array) => unknown): void {
  fc.assert(
    fc.property(input, (b) => {
      try {
        fn(b);
      } catch (e) {
        if (!(e instanceof NetlinkCodecError)) throw e;
      }
    }),
    { numRuns: RUNS },
  );
}

/** Treats the fuzz input as a whole message when it parses as one, else as a bare payload. */
function asMessage(b: Uint8Array, type: number): NetlinkMessage {
  try {
    const [m] = parseMessages(b);
    if (m) return m;
  } catch { /* use the bytes as a payload */ }
  return {
    header: { len: 16 + b.length, type, flags: b[0] ?? 0, seq: 0, pid: 0 },
    payload: b.subarray(16 > b.length ? 0 : 16),
  };
}

const targets: [string, (b: Uint8Array) => unknown][] = [
  ["parseMessages", parseMessages],
  ["parseAttrs", parseAttrs],
  ["Attrs getters", (b) => {
    const a = new Attrs(b);
    for (const x of a.list) [a.u8(x.type), a.str(x.type), a.u16(x.type), a.u32(x.type), a.nest(x.type)];
  }],
  ["decodeError", (b) => decodeError(asMessage(b, 2))],
  ["decodeDone", (b) => decodeDone(asMessage(b, 3))],
  ["decodeIfInfoMsg", decodeIfInfoMsg],
  ["decodeIfAddrMsg", decodeIfAddrMsg],
  ["decodeRtMsg", decodeRtMsg],
  ["decodeNdMsg", decodeNdMsg],
  ["decodeLink", (b) => decodeLink(asMessage(b, 16))],
  ["decodeAddr", (b) => decodeAddr(asMessage(b, 20))],
  ["decodeRoute", (b) => decodeRoute(asMessage(b, 24))],
  ["decodeNeigh", (b) => decodeNeigh(asMessage(b, 28))],
  ["decodeEvent", (b) => decodeEvent(asMessage(b, 16 + ((b[4] ?? 0) % 16)))],
  ["decodeVxlanData", (b) => decodeVxlanData(new Attrs(b))],
  ["decodeBridgeData", (b) => decodeBridgeData(new Attrs(b))],
];

for (const [name, fn] of targets) {
  Deno.test(`fuzz: ${name} throws only NetlinkCodecError on ${RUNS} random and mutated inputs`, () => {
    onlyCodecErrors(fn);
  });
}

Deno.test("fuzz seeds: every captured message decodes without error", () => {
  assert.ok(seeds.length > 30);
  for (const s of seeds) {
    for (const m of parseMessages(s)) if (m.header.type >= 16) assert.ok(decodeEvent(m));
  }
});
