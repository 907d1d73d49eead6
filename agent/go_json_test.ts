import assert from "node:assert/strict";
import fc from "fast-check";
import {
  decodeBool,
  decodeInt,
  goFieldMatches,
  GoJsonSyntaxError,
  lastEntry,
  parseGoJson,
} from "./go_json.ts";

Deno.test("parseGoJson keeps raw text, repeated keys and reports positions", () => {
  const node = parseGoJson(` {"a": "x\\/y", "a": [1, 2.5e3, true, null], "b": {}} `);
  assert.equal(node.kind, "object");
  if (node.kind !== "object") return;
  assert.deepEqual(node.entries.map((e) => e.key), ["a", "a", "b"]);
  const first = node.entries[0]!.value;
  assert.equal(first.kind === "string" && first.value, "x/y");
  assert.equal(first.raw, `"x\\/y"`);
  assert.equal(node.entries[1]!.value.raw, "[1, 2.5e3, true, null]");
  assert.throws(() => parseGoJson("[1,]"), GoJsonSyntaxError);
  assert.throws(() => parseGoJson("01"), GoJsonSyntaxError);
  assert.throws(() => parseGoJson("1."), GoJsonSyntaxError);
  assert.throws(() => parseGoJson(`"\\x"`), /invalid escape/);
  assert.throws(() => parseGoJson(`"\\u12g4"`), /invalid \\u escape/);
  assert.equal(parseGoJson(`"\\u00e9\\n"`).kind, "string");
  try {
    parseGoJson("{\n\n   x}");
    assert.fail();
  } catch (e) {
    assert.ok(e instanceof GoJsonSyntaxError);
    assert.equal(e.line, 3);
    assert.equal(e.column, 4);
  }
});

Deno.test("parseGoJson refuses deep nesting without overflowing the stack", () => {
  assert.equal(parseGoJson("[".repeat(999) + "]".repeat(999)).kind, "array");
  assert.throws(() => parseGoJson("[".repeat(100_000)), /nesting deeper than 1000 levels/);
});

Deno.test("parseGoJson accepts exactly what JSON.parse accepts", () => {
  fc.assert(
    fc.property(
      fc.oneof(
        fc.json(),
        fc.string({ maxLength: 12 }),
        fc.jsonValue().map((v) => JSON.stringify(v, null, 2)),
      ),
      (text) => {
        let ours = true;
        let theirs = true;
        try {
          parseGoJson(text);
        } catch {
          ours = false;
        }
        try {
          JSON.parse(text);
        } catch {
          theirs = false;
        }
        assert.equal(ours, theirs, text);
      },
    ),
    { numRuns: 3000 },
  );
});

Deno.test("goFieldMatches folds like Go's encoding/json", () => {
  assert.ok(goFieldMatches("network", "Network"));
  assert.ok(goFieldMatches("NETWORK", "Network"));
  assert.ok(goFieldMatches("\u017fubnetLen", "SubnetLen"));
  assert.ok(goFieldMatches("bac\u212aend", "Backend"));
  assert.ok(!goFieldMatches("Network ", "Network"));
  assert.ok(!goFieldMatches("netw0rk", "Network"));
  assert.ok(!goFieldMatches("\u0130", "i"), "Turkish dotted I does not fold to i in Go");
});

Deno.test("lastEntry picks the last of repeated fields, matched as Go matches them", () => {
  const node = parseGoJson(`{"Type": "udp", "type": "vxlan", "Port": 1}`);
  assert.ok(node.kind === "object");
  const last = lastEntry(node.entries, "Type");
  assert.equal(last?.kind === "string" && last.value, "vxlan");
  assert.equal(lastEntry(node.entries, "VNI"), undefined);
});

Deno.test("decodeInt and decodeBool follow Go's int, uint and bool", () => {
  const int = (text: string, unsigned = false) => decodeInt(parseGoJson(text), unsigned);
  assert.deepEqual(int("24"), { ok: true, value: 24 });
  assert.deepEqual(int("null"), { ok: true, value: undefined });
  assert.deepEqual(int("-1"), { ok: true, value: -1 });
  assert.deepEqual(int("-1", true), { ok: false, detail: "must not be negative" });
  assert.deepEqual(int("2.4e1"), { ok: false, detail: "must be an integer" });
  assert.deepEqual(int("9223372036854775808"), { ok: false, detail: "is out of range" });
  assert.deepEqual(int("9223372036854775808", true), { ok: true, value: 9223372036854775808 });
  assert.deepEqual(int(`"1"`), { ok: false, detail: "must be a number, not a string" });
  assert.deepEqual(decodeBool(parseGoJson("false")), { ok: true, value: false });
  assert.deepEqual(decodeBool(parseGoJson("null")), { ok: true, value: undefined });
  assert.deepEqual(decodeBool(parseGoJson("[]")), {
    ok: false,
    detail: "must be true or false, not an array",
  });
});
