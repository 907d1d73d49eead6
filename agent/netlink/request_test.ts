/** Pure tests of batch framing: sequence numbers that never wrap inside a batch. */
import assert from "node:assert/strict";
import fc from "fast-check";
import { batchChunk, encodeBatch, reserveSeqs } from "./request.ts";

Deno.test("reserveSeqs: a run that would wrap past 2³² − 1 (or through 0) restarts at 1", () => {
  assert.equal(reserveSeqs(0, 1), 1);
  assert.equal(reserveSeqs(0xffff_fffd, 2), 0xffff_fffe, "ends exactly at 2³² − 1");
  assert.equal(reserveSeqs(0xffff_fffe, 2), 1, "0xffffffff, 0 would wrap");
  assert.equal(reserveSeqs(0xffff_ffff, 1), 1);
});

Deno.test("reserveSeqs (property): every run is consecutive, inside 1 … 2³² − 1", () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 0xffff_ffff }), fc.integer({ min: 1, max: 4096 }), (last, n) => {
      const first = reserveSeqs(last, n);
      assert.ok(first >= 1 && first + n - 1 <= 0xffff_ffff);
      assert.ok(first === last + 1 || first === 1);
    }),
  );
});

Deno.test("encodeBatch numbers a chunk's messages firstSeq, firstSeq + 1, …", () => {
  const req = { type: 24, flags: 0, payload: new Uint8Array(12), op: "add route", summary: "" };
  const reqs = [req, req, req];
  const chunk = batchChunk(reqs, 1, { maxMessages: 64, maxBytes: 1 << 20 });
  const buf = encodeBatch(reqs, 1, chunk, { flags: 5, pid: 0, firstSeq: 0xffff_fffe });
  const view = new DataView(buf.buffer);
  const seqs = [view.getUint32(8, true), view.getUint32(28 + 8, true)];
  assert.deepEqual(seqs, [0xffff_fffe, 0xffff_ffff]);
});
