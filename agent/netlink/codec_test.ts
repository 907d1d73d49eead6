import assert from "node:assert/strict";
import {
  Attrs,
  AttrWriter,
  decodeDone,
  decodeError,
  decodeIfAddrMsg,
  decodeIfInfoMsg,
  decodeNdMsg,
  decodeRtMsg,
  encodeIfAddrMsg,
  encodeIfInfoMsg,
  encodeMessage,
  encodeNdMsg,
  encodeRtMsg,
  NLMSG_ALIGN,
  parseAttrs,
  parseMessages,
  RTA_ALIGN,
  RTA_LENGTH,
} from "./codec.ts";
import {
  NLA_F_NESTED,
  NLM_F_ACK_TLVS,
  NLM_F_CAPPED,
  NLMSG_DONE,
  NLMSG_ERROR,
  RTM_NEWROUTE,
} from "./consts.ts";
import { NetlinkCodecError } from "./errors.ts";
import { fixture } from "./testdata/fixtures.ts";

Deno.test("NLMSG_ALIGN and RTA_ALIGN round up to 4 bytes", () => {
  assert.deepEqual([0, 1, 4, 5, 7, 8].map(NLMSG_ALIGN), [0, 4, 4, 8, 8, 8]);
  assert.deepEqual([1, 6].map(RTA_ALIGN), [4, 8]);
  assert.equal(RTA_LENGTH(2), 6);
});

Deno.test("encodeMessage then parseMessages returns header and payload", () => {
  const payload = new Uint8Array([1, 2, 3, 4, 5]);
  const bytes = encodeMessage({ type: RTM_NEWROUTE, flags: 0x605, seq: 0xfffffffe, pid: 77 }, payload);
  assert.equal(bytes.length, 24);
  const [m, ...rest] = parseMessages(bytes);
  assert.equal(rest.length, 0);
  assert.deepEqual(m!.header, { len: 21, type: RTM_NEWROUTE, flags: 0x605, seq: 0xfffffffe, pid: 77 });
  assert.deepEqual([...m!.payload], [1, 2, 3, 4, 5]);
});

Deno.test("parseMessages splits several messages of one datagram", () => {
  const a = encodeMessage({ type: 16, flags: 2, seq: 1, pid: 0 }, new Uint8Array(3));
  const b = encodeMessage({ type: NLMSG_DONE, flags: 2, seq: 1, pid: 0 }, new Uint8Array(4));
  const both = new Uint8Array([...a, ...b]);
  assert.deepEqual(parseMessages(both).map((m) => m.header.type), [16, NLMSG_DONE]);
});

Deno.test("parseMessages rejects a truncated header and an overrunning length", () => {
  assert.throws(() => parseMessages(new Uint8Array(10)), NetlinkCodecError);
  const bad = encodeMessage({ type: 16, flags: 0, seq: 1, pid: 0 }, new Uint8Array(4));
  new DataView(bad.buffer).setUint32(0, 200, true);
  assert.throws(() => parseMessages(bad), NetlinkCodecError);
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

Deno.test("family headers round-trip", () => {
  const ifi = { family: 0, type: 1, index: 5, flags: 0x1003, change: 1 };
  assert.deepEqual(decodeIfInfoMsg(encodeIfInfoMsg(ifi)), ifi);
  const ifa = { family: 10, prefixlen: 64, flags: 0x80, scope: 253, index: 7 };
  assert.deepEqual(decodeIfAddrMsg(encodeIfAddrMsg(ifa)), ifa);
  const rt = {
    family: 2,
    dstLen: 24,
    srcLen: 0,
    tos: 0,
    table: 254,
    protocol: 3,
    scope: 0,
    type: 1,
    flags: 4,
  };
  assert.deepEqual(decodeRtMsg(encodeRtMsg(rt)), rt);
  const nd = { family: 7, index: 9, state: 0x80, flags: 2, type: 0 };
  assert.deepEqual(decodeNdMsg(encodeNdMsg(nd)), nd);
});

Deno.test("decodeError reads a captured EEXIST (capped, no TLVs)", () => {
  const [m] = fixture("error_eexist.hex");
  assert.equal(m!.header.type, NLMSG_ERROR);
  assert.ok(m!.header.flags & NLM_F_CAPPED);
  const e = decodeError(m!);
  assert.equal(e.error, -17);
  assert.equal(e.request.type, RTM_NEWROUTE);
  assert.equal(e.request.seq, m!.header.seq);
  assert.deepEqual(e.extack, {});
});

Deno.test("decodeError reads the kernel's extended-ACK text", () => {
  const [m] = fixture("error_enetunreach_extack.hex");
  assert.ok(m!.header.flags & NLM_F_ACK_TLVS);
  const e = decodeError(m!);
  assert.equal(e.error, -101);
  assert.equal(e.extack.message, "Nexthop has invalid gateway");
  const [n] = fixture("error_enodev.hex");
  assert.equal(decodeError(n!).error, -19);
  assert.equal(decodeError(n!).extack.message, "Invalid local interface, device not found");
});

Deno.test("decodeError reads a captured ACK as error 0", () => {
  const [m] = fixture("ack.hex");
  assert.equal(decodeError(m!).error, 0);
});

Deno.test("decodeError handles an uncapped echo of the whole request", () => {
  const req = encodeMessage({ type: 24, flags: 5, seq: 9, pid: 1 }, new Uint8Array(12));
  const w = new AttrWriter();
  w.str(1, "bad thing").u32(2, 20);
  const payload = new Uint8Array([...new Uint8Array([0xea, 0xff, 0xff, 0xff]), ...req, ...w.finish()]);
  const m = parseMessages(
    encodeMessage({ type: NLMSG_ERROR, flags: NLM_F_ACK_TLVS, seq: 9, pid: 1 }, payload),
  )[0]!;
  const e = decodeError(m);
  assert.equal(e.error, -22);
  assert.equal(e.request.len, 28);
  assert.deepEqual(e.extack, { message: "bad thing", offset: 20 });
});

Deno.test("decodeDone reads the status of every captured dump's last message", () => {
  for (const f of ["link_dump.hex", "addr_dump.hex", "route_dump.hex", "neigh_dump.hex", "fdb_dump.hex"]) {
    const last = fixture(f).at(-1)!;
    assert.equal(last.header.type, NLMSG_DONE, f);
    assert.equal(decodeDone(last).error, 0, f);
  }
});
