import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { answeredInTime, parsePingLog, probeWindow, recoveredAt, withinBound } from "./probe_log.ts";
import { formatSpread, inBand, percentile, spread } from "./stats.ts";

/** Real `ping -D -O -n -i 0.02 -W 1` output, captured in throwaway namespaces joined by a bridge. */
const fixture = (name: string) => Deno.readTextFileSync(new URL(`./testdata/${name}.log`, import.meta.url));

function log(pattern: string, t0 = 1000): string {
  // one probe per 20 ms: "." answered (0.1 ms), "x" lost, "u" an ICMP error
  return [...pattern].map((c, i) => {
    const sent = t0 * 1000 + i * 20;
    const seq = i + 1;
    if (c === ".") {
      return `[${
        ((sent + 0.1) / 1000).toFixed(6)
      }] 64 bytes from 10.244.2.2: icmp_seq=${seq} ttl=62 time=0.100 ms`;
    }
    if (c === "u") {
      return `[${
        ((sent + 5) / 1000).toFixed(6)
      }] From 10.244.1.1 icmp_seq=${seq} Destination Host Unreachable`;
    }
    return `[${((sent + 20) / 1000).toFixed(6)}] no answer yet for icmp_seq=${seq}`;
  }).join("\n");
}

Deno.test("probe log: loss, outage and recovery in a window, by send time", () => {
  const s = parsePingLog("PING 10.244.2.2 (10.244.2.2) 56(84) bytes of data.\n" + log("....xxxxx.x......"));
  assertEquals(s.length, 17);
  assertEquals(s.map((x) => Math.round(x.sentAt - 1_000_000)), [...Array(17).keys()].map((i) => i * 20));
  const all = probeWindow(s, 0, Number.MAX_SAFE_INTEGER);
  assertEquals([all.sent, all.lost, all.lossPct], [17, 6, 35.29]);
  // recovered: the first answer followed by 5 answers in a row (seq 12), not the lone answer at seq 10
  assertEquals(Math.round(recoveredAt(s, 1_000_080)! - 1_000_000), 11 * 20);
  assertEquals(recoveredAt(s, 1_000_080, 50), undefined);
  assertEquals(probeWindow(s, 1_000_080, 1_000_160).lost, 5);
  // From seq 4's answer (60 ms) to seq 10's (180 ms): 120 ms without an answer.
  assertEquals(probeWindow(s, 1_000_000, 1_000_320).outageMs, 120);
});

Deno.test("probe log: ICMP errors count as lost, dated by the schedule", () => {
  const s = parsePingLog(log("..uuu.."));
  assertEquals(s.map((x) => x.error ?? "ok"), [
    "ok",
    "ok",
    "Destination Host Unreachable",
    "Destination Host Unreachable",
    "Destination Host Unreachable",
    "ok",
    "ok",
  ]);
  assertEquals(Math.round(s[3]!.sentAt - 1_000_000), 60);
  const w = probeWindow(s, 0, Number.MAX_SAFE_INTEGER);
  assertEquals([w.sent, w.lost, w.errors], [7, 3, 3]);
});

Deno.test("probe log: an answer later than the threshold counts as lost, and the threshold is settable", () => {
  const s = parsePingLog(
    "[1.000] no answer yet for icmp_seq=1\n[2.480] 64 bytes from x: icmp_seq=1 ttl=1 time=1500 ms\n" +
      "[2.500] 64 bytes from x: icmp_seq=2 ttl=1 time=500 ms\n",
  );
  assertEquals(s[0]!.sentAt, 980); // from the answer, not the "no answer yet" line
  assert(!answeredInTime(s[0]!) && answeredInTime(s[1]!));
  assertEquals(probeWindow(s, 0, 5000).late, 1);
  assertEquals(probeWindow(s, 0, 5000, { lateMs: 400 }).late, 2);
  assertEquals(probeWindow(s, 0, 5000).maxRttMs, 1500);
});

Deno.test("probe log: a bridge port down for 1 s (real capture) shows 41 lost and a 1 s outage", () => {
  const s = parsePingLog(fixture("ping_bridge_port_down"));
  const w = probeWindow(s, s[0]!.sentAt, s.at(-1)!.sentAt);
  assertEquals([w.sent, w.lost, w.late], [165, 41, 0]);
  assert(w.outageMs >= 950 && w.outageMs <= 1100, `outage ${w.outageMs} ms`);
});

Deno.test("probe log: probes queued behind a neighbour lookup come back late in a burst (real capture)", () => {
  // The link was down for 0.8 s with the neighbour entry flushed: the kernel queued 12 probes until the
  // neighbour answered, ping stalled while its queue was full, then all 12 answers arrived at once.
  const s = parsePingLog(fixture("ping_neigh_queue_burst"));
  const from = s[0]!.sentAt, to = s.at(-1)!.sentAt;
  const w = probeWindow(s, from, to);
  // Stamped by reply time and counted as answered, as before, this window showed no loss and no outage.
  assert(w.outageMs >= 950, `outage ${w.outageMs} ms: the burst must not hide it`);
  assert(w.maxRttMs > 1000, `max RTT ${w.maxRttMs} ms`);
  assertEquals(w.late, 1); // only the answer slower than 1 s counts as lost by default
  const strict = probeWindow(s, from, to, { lateMs: 200 });
  assertEquals([strict.lost, strict.late], [12, 12]);
  // The stalled probe (seq 54, repeated in the log) is one sample, dated by its first line.
  assertEquals(s.filter((x) => x.seq === 54).length, 1);
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
