import assert from "node:assert/strict";
import { compareUtf8, goJson } from "./go_json.ts";

Deno.test("goJson sorts map keys at every level and keeps Map (struct) order", () => {
  const value = { b: { z: 1, a: [{ y: true, x: null }] }, a: new Map([["dst", "x"], ["gw", "y"]]) };
  assert.equal(goJson(value), '{"a":{"dst":"x","gw":"y"},"b":{"a":[{"x":null,"y":true}],"z":1}}');
});

Deno.test("goJson escapes HTML characters and line separators as Go does", () => {
  assert.equal(goJson("<a&b>\u2028\u2029"), '"\\u003ca\\u0026b\\u003e\\u2028\\u2029"');
  assert.equal(goJson("tab\there\nnl\u0001"), '"tab\\there\\nnl\\u0001"');
});

Deno.test("goJson replaces lone surrogates with U+FFFD but keeps pairs", () => {
  assert.equal(goJson("a\ud800b"), '"a\ufffdb"');
  assert.equal(goJson("😀"), '"😀"');
});

Deno.test("goJson renders numbers as Go's float64 encoder does", () => {
  assert.equal(goJson(1472), "1472");
  assert.equal(goJson(1.5), "1.5");
  assert.equal(goJson(1e21), "1e+21");
  assert.equal(goJson(1e20), "100000000000000000000");
  assert.equal(goJson(1e-7), "1e-7");
  assert.equal(goJson(0.000001), "0.000001");
  assert.equal(goJson(-0), "-0");
});

Deno.test("compareUtf8 orders by code point, not by UTF-16 unit", () => {
  // U+FF61 sorts before U+1F600 in UTF-8 but after its surrogate 0xD83D in UTF-16.
  assert.ok(compareUtf8("\uff61", "😀") < 0);
  assert.ok("\uff61" > "😀");
  assert.deepEqual(["b", "B", "a", "ab"].sort(compareUtf8), ["B", "a", "ab", "b"]);
});
