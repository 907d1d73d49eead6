import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { lossIn, parsePingLog, recoveredAt, withinBound } from "./probe_log.ts";
import { formatSpread, inBand, percentile, spread } from "./stats.ts";

function log(pattern: string, t0 = 1000): string {
  // one probe per 20 ms: "." answered, "x" lost
  return [...pattern].map((c, i) => {
    const t = ((t0 * 1000 + i * 20) / 1000).toFixed(6);
    return c === "."
      ? `[${t}] 64 bytes from 10.244.2.2: icmp_seq=${i + 1} ttl=62 time=0.1${i % 10} ms`
      : `[${t}] no answer yet for icmp_seq=${i + 1}`;
  }).join("\n");
}

Deno.test("the probe log gives loss in a window and the recovery point", () => {
  const s = parsePingLog("PING 10.244.2.2 (10.244.2.2) 56(84) bytes of data.\n" + log("....xxxxx.x......"));
  assertEquals(s.length, 17);
  const all = lossIn(s, 0, Number.MAX_SAFE_INTEGER);
  assertEquals([all.sent, all.lost, all.lossPct], [17, 6, 35.29]);
  // recovered: the first answer followed by 5 answers in a row (seq 12), not the lone answer at seq 10
  assertEquals(recoveredAt(s, 1_000_080), 1_000_000 + 11 * 20);
  assertEquals(recoveredAt(s, 1_000_080, 50), undefined);
  assertEquals(lossIn(s, 1_000_080, 1_000_160).lost, 5);
});

Deno.test("a late answer counts as answered", () => {
  const s = parsePingLog(
    "[1.000] no answer yet for icmp_seq=1\n[1.020] 64 bytes from x: icmp_seq=1 ttl=1 time=30 ms\n",
  );
  assert(s[0]!.ok);
});

Deno.test("bounds, percentiles and spread", () => {
  assert(withinBound(5, { op: "<=", pct: 5 }) && !withinBound(5, { op: "<", pct: 5 }));
  assert(withinBound(0, { op: "==", pct: 0 }));
  assertEquals(percentile([5, 1, 4, 2, 3], 50), 3);
  assertEquals(percentile([...Array(100).keys()].map((i) => i + 1), 99), 99);
  const sp = spread([10, 12, 14]);
  assertEquals([sp.mean, sp.stdev, sp.min, sp.max], [12, 2, 10, 14]);
  assertEquals(formatSpread(sp, "Mbit/s", 0), "12 ± 2 Mbit/s (10–14, n=3)");
  assert(inBand(0.8, { min: 0.5 }) && !inBand(0.8, { min: 0.5, max: 0.7 }));
});
