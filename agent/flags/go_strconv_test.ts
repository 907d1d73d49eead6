import assert from "node:assert/strict";
import fc from "fast-check";
import { parseGoBool, parseGoInt } from "./go_strconv.ts";

// Expected values checked against Go 1.26's strconv.ParseInt.
Deno.test("parseGoInt follows strconv.ParseInt edge cases", () => {
  const cases: [string, 0 | 10, bigint | undefined][] = [
    ["0", 0, 0n],
    ["-0", 0, 0n],
    ["00", 0, 0n],
    ["0x", 0, undefined],
    ["0x_1", 0, 1n],
    ["0x1_", 0, undefined],
    ["1_000", 0, 1000n],
    ["8_080", 0, 8080n],
    ["_1", 0, undefined],
    ["1__0", 0, undefined],
    ["0x1__0", 0, undefined],
    ["01_7", 0, 15n],
    ["0_x1", 0, undefined],
    ["0b", 0, undefined],
    ["0o", 0, undefined],
    ["08", 0, undefined],
    ["1e3", 0, undefined],
    [" 1", 0, undefined],
    ["+5", 10, 5n],
    ["0_17", 0, 15n],
    ["0b_1_0", 0, 2n],
    ["0b12", 0, undefined],
    ["0o8", 0, undefined],
    ["0X1F", 0, 31n],
    ["9223372036854775807", 0, 9223372036854775807n],
    ["9223372036854775808", 0, undefined],
    ["-9223372036854775808", 0, -9223372036854775808n],
    ["+", 0, undefined],
    ["", 0, undefined],
    ["017", 10, 17n],
    ["0x10", 10, undefined],
    ["1_0", 10, undefined],
    ["\u0661", 0, undefined],
  ];
  for (const [s, base, want] of cases) {
    assert.equal(parseGoInt(s, base), want, `${JSON.stringify(s)} base ${base}`);
  }
  fc.assert(fc.property(fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n }), (n) => {
    assert.equal(parseGoInt(n.toString(), 0), n);
    assert.equal(parseGoInt((n < 0n ? "-0x" : "0x") + (n < 0n ? -n : n).toString(16), 0), n);
  }));
});

Deno.test("parseGoBool accepts exactly strconv.ParseBool's twelve spellings", () => {
  for (const s of ["1", "t", "T", "TRUE", "true", "True"]) assert.equal(parseGoBool(s), true, s);
  for (const s of ["0", "f", "F", "FALSE", "false", "False"]) assert.equal(parseGoBool(s), false, s);
  for (const s of ["", "yes", "tRuE", " true", "2"]) assert.equal(parseGoBool(s), undefined, s);
});
