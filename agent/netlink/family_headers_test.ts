import assert from "node:assert/strict";
import {
  decodeIfAddrMsg,
  decodeIfInfoMsg,
  decodeNdMsg,
  decodeRtMsg,
  encodeIfAddrMsg,
  encodeIfInfoMsg,
  encodeNdMsg,
  encodeRtMsg,
} from "./family_headers.ts";

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
