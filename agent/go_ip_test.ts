import assert from "node:assert/strict";
import { goIpText, parseGoIp4, parseGoIp6 } from "./go_ip.ts";
import { parseGoJson } from "./go_json.ts";
import { formatIp } from "./ip.ts";

Deno.test("parseGoIp4 reads IPv4-mapped IPv6 as IPv4, like Go's To4", () => {
  assert.equal(formatIp(parseGoIp4("::ffff:10.0.0.1")!), "10.0.0.1");
  assert.equal(parseGoIp4("::ffff:10.0.0.1")!.family, 4);
  assert.equal(parseGoIp4("fc00::1"), undefined);
  assert.equal(parseGoIp4("nope"), undefined);
});

Deno.test("parseGoIp6 reads an IPv4 address as its IPv4-mapped IPv6 form, like Go's To16", () => {
  assert.equal(formatIp(parseGoIp6("fc00::1")!), "fc00::1");
  assert.deepEqual(parseGoIp6("10.0.0.1"), { family: 6, value: 0xffff0a000001n });
  assert.equal(parseGoIp6("nope"), undefined);
});

Deno.test("goIpText passes only unescaped strings, and null only for pointer fields", () => {
  const text = (json: string, nullable = false) => goIpText(parseGoJson(json), nullable);
  assert.deepEqual(text(`"10.0.0.1"`), { ok: true, value: "10.0.0.1" });
  assert.deepEqual(text(`"10.0.0.0\\/8"`), { ok: false, detail: "must be written without escape sequences" });
  assert.deepEqual(text("null"), { ok: false, detail: "must be a string, not null" });
  assert.deepEqual(text("null", true), { ok: true, value: undefined });
  assert.deepEqual(text("5"), { ok: false, detail: "must be a string, not a number" });
});
