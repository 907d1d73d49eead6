import assert from "node:assert/strict";
import { decodeDone, decodeError, encodeMessage, NLMSG_ALIGN, parseMessages } from "./codec.ts";
import { AttrWriter } from "./attrs.ts";
import { NLM_F_ACK_TLVS, NLM_F_CAPPED, NLMSG_DONE, NLMSG_ERROR, RTM_NEWROUTE } from "./consts.ts";
import { NetlinkCodecError } from "./errors.ts";
import { fixture } from "./testdata/fixtures.ts";

Deno.test("NLMSG_ALIGN rounds up to 4 bytes", () => {
  assert.deepEqual([0, 1, 4, 5, 7, 8].map(NLMSG_ALIGN), [0, 4, 4, 8, 8, 8]);
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
