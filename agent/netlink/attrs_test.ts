import assert from "node:assert/strict";
import { Attrs, AttrWriter, parseAttrs, RTA_ALIGN, RTA_LENGTH } from "./attrs.ts";
import { NLA_F_NESTED } from "./consts.ts";
import { NetlinkCodecError } from "./errors.ts";

Deno.test("RTA_ALIGN rounds up to 4 bytes and RTA_LENGTH adds the 4-byte header", () => {
  assert.deepEqual([1, 6].map(RTA_ALIGN), [4, 8]);
  assert.equal(RTA_LENGTH(2), 6);
});

Deno.test("AttrWriter and Attrs round-trip every value type with nesting", () => {
  const w = new AttrWriter(8);
  w.u8(1, 0xab).u16(2, 0xbeef).u16be(3, 8472).u32(4, 0xdeadbeef).i32(5, -2).str(6, "flannel.1").flag(7);
  w.bytes(8, new Uint8Array([1, 2, 3]));
  w.nest(9, () => w.nest(10, () => w.u32(11, 42)));
  const a = new Attrs(w.finish());
  assert.equal(a.u8(1), 0xab);
  assert.equal(a.u16(2), 0xbeef);
  assert.equal(a.u16be(3), 8472);
  assert.equal(a.u16(3), 0x1821); // 8472 big-endian read as little-endian
  assert.equal(a.u32(4), 0xdeadbeef);
  assert.equal(a.i32(5), -2);
  assert.equal(a.str(6), "flannel.1");
  assert.equal(a.has(7), true);
  assert.deepEqual([...a.bytes(8)!], [1, 2, 3]);
  assert.equal(a.nest(9)?.nest(10)?.u32(11), 42);
  assert.equal(a.list.find((x) => x.type === 9)?.nested, true);
  assert.equal(a.u32(99), undefined);
});

Deno.test("nest sets NLA_F_NESTED and the enclosing length", () => {
  const w = new AttrWriter();
  w.nest(18, () => w.str(1, "vxlan"));
  const b = w.finish();
  const v = new DataView(b.buffer, b.byteOffset);
  assert.equal(v.getUint16(0, true), 16);
  assert.equal(v.getUint16(2, true), 18 | NLA_F_NESTED);
});

Deno.test("Attrs getters reject values too short for their type", () => {
  const w = new AttrWriter();
  w.u8(4, 1);
  assert.throws(() => new Attrs(w.finish()).u32(4), NetlinkCodecError);
});

Deno.test("parseAttrs rejects a length below 4 and trailing garbage", () => {
  assert.throws(() => parseAttrs(new Uint8Array([2, 0, 1, 0])), NetlinkCodecError);
  assert.throws(() => parseAttrs(new Uint8Array([4, 0, 1, 0, 9])), NetlinkCodecError);
  assert.deepEqual(parseAttrs(new Uint8Array([4, 0, 1, 0, 0, 0])).length, 1);
});
