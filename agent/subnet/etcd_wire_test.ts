import assert from "node:assert/strict";
import {
  decodeBytes,
  decodeKeyValue,
  encodeBytes,
  headerRevision,
  isRetryableCode,
  prefixRangeEnd,
  splitJsonLines,
} from "./etcd_wire.ts";

Deno.test("etcd wire: base64 of UTF-8 both ways, and absent bytes are empty", () => {
  assert.equal(encodeBytes("/a"), "L2E=");
  assert.equal(decodeBytes("L2E="), "/a");
  assert.equal(decodeBytes(encodeBytes("café ✓")), "café ✓");
  const long = "x".repeat(100_000);
  assert.equal(decodeBytes(encodeBytes(long)), long);
  assert.equal(decodeBytes(undefined), "");
});

Deno.test("etcd wire: a prefix's range end increments the last byte below 0xff", () => {
  assert.equal(prefixRangeEnd("/coreos.com/network/subnets/"), "/coreos.com/network/subnets0");
  assert.equal(prefixRangeEnd("a"), "b");
  assert.equal(prefixRangeEnd(""), "\0");
});

Deno.test("etcd wire: key-values decode with defaults for omitted fields", () => {
  assert.deepEqual(decodeKeyValue({ key: "L2E=", value: "eA==", mod_revision: "12", lease: "7587" }), {
    key: "/a",
    value: "x",
    modRevision: 12n,
    lease: "7587",
  });
  assert.deepEqual(decodeKeyValue({ key: "L2E=" }), {
    key: "/a",
    value: "",
    modRevision: 0n,
    lease: undefined,
  });
  assert.equal(headerRevision({ revision: "9007199254740993" }), 9007199254740993n);
  assert.equal(headerRevision(undefined), 0n);
});

Deno.test("etcd wire: JSON lines split across chunks come out whole, blank lines are skipped", () => {
  const split = splitJsonLines();
  assert.deepEqual(split('{"a":1}\n\n{"b"'), [{ a: 1 }]);
  assert.deepEqual(split(":2"), []);
  assert.deepEqual(split('}\n{"c":3}\n'), [{ b: 2 }, { c: 3 }]);
  assert.throws(() => splitJsonLines()("{oops}\n"), SyntaxError);
});

Deno.test("etcd wire: only transient gRPC codes are retryable", () => {
  assert.ok(isRetryableCode(14));
  assert.ok(isRetryableCode(4));
  assert.ok(!isRetryableCode(16)); // unauthenticated
  assert.ok(!isRetryableCode(7)); // permission denied
  assert.ok(!isRetryableCode(undefined));
});
