/**
 * The background probe's arithmetic (pure): parse `ping -D -O -n` output into per-sequence samples, measure loss
 * in a time window, and find when a path recovered (the first answered probe followed by a run of answered ones).
 *
 * @module
 */

/** One probe packet: answered or not, at a wall-clock time in milliseconds. */
export interface ProbeSample {
  readonly seq: number;
  /** Epoch ms: when the reply came, or when ping gave up waiting for it. */
  readonly t: number;
  readonly ok: boolean;
  /** Round-trip time of an answered probe. */
  readonly rttMs?: number;
}

/**
 * Parses `ping -D -O -n` lines: `[1795571037.451125] 64 bytes from …: icmp_seq=1 ttl=64 time=0.046 ms` and
 * `[…] no answer yet for icmp_seq=7`. A sequence answered late counts as answered.
 *
 * @param text the ping output
 * @returns samples sorted by sequence
 * @example
 * ```ts
 * import { parsePingLog } from "./probe_log.ts";
 * const s = parsePingLog("[10.000000] no answer yet for icmp_seq=1\n[10.02] 64 bytes from 10.0.0.1: icmp_seq=2 ttl=64 time=0.1 ms\n");
 * console.assert(s.length === 2 && !s[0]!.ok && s[1]!.ok);
 * ```
 */
export function parsePingLog(text: string): ProbeSample[] {
  const bySeq = new Map<number, ProbeSample>();
  for (const line of text.split("\n")) {
    const m = /^\[(\d+(?:\.\d+)?)\]\s+(.*)$/.exec(line.trim());
    if (!m) continue;
    const t = Number(m[1]) * 1000;
    const rest = m[2]!;
    const seq = /icmp_seq=(\d+)/.exec(rest);
    if (!seq) continue;
    const n = Number(seq[1]);
    if (/bytes from/.test(rest)) {
      const rtt = /time=([\d.]+)\s*ms/.exec(rest);
      bySeq.set(n, { seq: n, t, ok: true, ...(rtt ? { rttMs: Number(rtt[1]) } : {}) });
    } else if (/no answer yet/.test(rest) && !bySeq.has(n)) {
      bySeq.set(n, { seq: n, t, ok: false });
    }
  }
  return [...bySeq.values()].sort((a, b) => a.seq - b.seq);
}

/** Loss in a window. */
export interface LossReport {
  readonly sent: number;
  readonly lost: number;
  /** Percent, 0–100 (0 when nothing was sent). */
  readonly lossPct: number;
}

/**
 * Counts answered and lost probes with `from <= t <= to`.
 *
 * @param samples parsed samples
 * @param from window start, epoch ms
 * @param to window end, epoch ms
 * @returns sent, lost and loss percent
 */
export function lossIn(samples: readonly ProbeSample[], from: number, to: number): LossReport {
  const inWindow = samples.filter((s) => s.t >= from && s.t <= to);
  const lost = inWindow.filter((s) => !s.ok).length;
  return {
    sent: inWindow.length,
    lost,
    lossPct: inWindow.length ? Math.round((lost / inWindow.length) * 10000) / 100 : 0,
  };
}

/**
 * The time of the first answered probe at or after `after` that starts a run of `stable` answered probes, or
 * undefined while there is none.
 *
 * @param samples parsed samples
 * @param after epoch ms
 * @param stable how many consecutive answers count as recovered (default 5)
 * @returns epoch ms
 */
export function recoveredAt(
  samples: readonly ProbeSample[],
  after: number,
  stable = 5,
): number | undefined {
  const tail = samples.filter((s) => s.t >= after);
  let run = 0;
  let start: number | undefined;
  for (const s of tail) {
    if (s.ok) {
      if (run === 0) start = s.t;
      run++;
      if (run >= stable) return start;
    } else {
      run = 0;
      start = undefined;
    }
  }
  return undefined;
}

/**
 * Whether a percentage satisfies a bound.
 *
 * @param value the measured percent
 * @param bound the bound
 */
export function withinBound(
  value: number,
  bound: { readonly op: "<=" | "<" | ">=" | ">" | "=="; readonly pct: number },
): boolean {
  switch (bound.op) {
    case "<=":
      return value <= bound.pct;
    case "<":
      return value < bound.pct;
    case ">=":
      return value >= bound.pct;
    case ">":
      return value > bound.pct;
    case "==":
      return value === bound.pct;
  }
}
