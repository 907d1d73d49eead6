/**
 * The background probe's arithmetic (pure): parse `ping -D -O -n -i <interval>` output into one sample per
 * probe, placed at the time it was **sent**, then measure a window: loss (late and error answers count as
 * lost), the longest outage (the longest time without a timely answer), the worst RTT, and when the path
 * recovered.
 *
 * Why send time: during an outage the kernel may queue probes (a neighbour being resolved) and release them in
 * a burst once the path is back, and ping may stall sending altogether while its socket is blocked. Stamped
 * with their reply time, such probes look answered right after the fault; stamped with their send time and
 * judged by their RTT, they show the outage they lived through.
 *
 * @module
 */

/** One probe packet. */
export interface ProbeSample {
  readonly seq: number;
  /** Epoch ms when it was sent (from its RTT when answered, else from ping's schedule). */
  readonly sentAt: number;
  /** Epoch ms when its answer came, if one came. */
  readonly answeredAt?: number;
  readonly rttMs?: number;
  /** An ICMP error came back instead (`Destination Host Unreachable`, `Time to live exceeded`, …). */
  readonly error?: string;
}

/**
 * Parses `ping -D -O -n` lines:
 * - `[1795571037.451125] 64 bytes from …: icmp_seq=1 ttl=64 time=0.046 ms` (an answer, possibly late);
 * - `[…] no answer yet for icmp_seq=7` (printed when the next probe is due; repeated while ping stalls);
 * - `[…] From 10.244.1.1 icmp_seq=9 Destination Host Unreachable` (an ICMP error).
 *
 * @param text the ping output
 * @param intervalMs ping's `-i`, used to date probes that got no answer
 * @returns samples sorted by sequence
 * @example
 * ```ts
 * import { parsePingLog } from "./probe_log.ts";
 * const s = parsePingLog(
 *   "[10.000] 64 bytes from 10.0.0.1: icmp_seq=1 ttl=64 time=5 ms\n[10.040] no answer yet for icmp_seq=2\n",
 *   20,
 * );
 * console.assert(s[0]!.sentAt === 9995 && s[1]!.sentAt === 10020 && s[1]!.answeredAt === undefined);
 * ```
 */
export function parsePingLog(text: string, intervalMs = 20): ProbeSample[] {
  const answers = new Map<number, { at: number; rtt: number }>();
  const waiting = new Map<number, number>(); // seq -> first "no answer yet" line
  const errors = new Map<number, { at: number; what: string }>();
  for (const raw of text.split("\n")) {
    const m = /^\[(\d+(?:\.\d+)?)\]\s+(.*)$/.exec(raw.trim());
    if (!m) continue;
    const at = Number(m[1]) * 1000;
    const rest = m[2]!;
    const seqMatch = /icmp_seq=(\d+)/.exec(rest);
    if (!seqMatch) continue;
    const seq = Number(seqMatch[1]);
    if (/bytes from/.test(rest)) {
      const rtt = /time=([\d.]+)\s*ms/.exec(rest);
      if (!answers.has(seq)) answers.set(seq, { at, rtt: rtt ? Number(rtt[1]) : 0 });
    } else if (/no answer yet/.test(rest)) {
      if (!waiting.has(seq)) waiting.set(seq, at);
    } else if (/^From\s/.test(rest)) {
      const what = rest.replace(/^From\s+\S+\s+icmp_seq=\d+\s*/, "").trim() || "ICMP error";
      if (!errors.has(seq)) errors.set(seq, { at, what });
    }
  }
  // Send times known exactly (answers) anchor the others, which are dated by the schedule.
  const anchors = [...answers].map(([seq, a]) => ({ seq, sentAt: a.at - a.rtt })).sort((a, b) =>
    a.seq - b.seq
  );
  const scheduled = (seq: number, fallback: number): number => {
    let best: { seq: number; sentAt: number } | undefined;
    for (const a of anchors) {
      if (!best || Math.abs(a.seq - seq) < Math.abs(best.seq - seq)) best = a;
      if (a.seq > seq) break;
    }
    return best ? best.sentAt + (seq - best.seq) * intervalMs : fallback;
  };
  const seqs = new Set([...answers.keys(), ...waiting.keys(), ...errors.keys()]);
  const samples: ProbeSample[] = [];
  for (const seq of [...seqs].sort((a, b) => a - b)) {
    const answer = answers.get(seq);
    if (answer) {
      samples.push({ seq, sentAt: answer.at - answer.rtt, answeredAt: answer.at, rttMs: answer.rtt });
      continue;
    }
    const waitedAt = waiting.get(seq);
    const error = errors.get(seq);
    // "no answer yet for N" is printed when probe N+1 is due, one interval after N left.
    const sentAt = waitedAt !== undefined ? waitedAt - intervalMs : scheduled(seq, error!.at);
    samples.push(error ? { seq, sentAt, error: error.what } : { seq, sentAt });
  }
  return samples;
}

/** What counts as a timely answer. */
export interface ProbeJudgement {
  /** An answer slower than this counts as lost (default 1000 ms). */
  readonly lateMs?: number;
}

const DEFAULT_LATE_MS = 1000;

/** Whether a probe got a timely answer. */
export function answeredInTime(s: ProbeSample, judgement: ProbeJudgement = {}): boolean {
  return s.answeredAt !== undefined && (s.rttMs ?? 0) <= (judgement.lateMs ?? DEFAULT_LATE_MS);
}

/** A window of probes. */
export interface ProbeReport {
  /** Probes sent in the window. */
  readonly sent: number;
  /** Sent and not answered in time: no answer, an ICMP error, or a late answer. */
  readonly lost: number;
  /** Of the lost: answered, but later than the threshold. */
  readonly late: number;
  /** Of the lost: an ICMP error came back. */
  readonly errors: number;
  /** Percent, 0–100 (0 when nothing was sent). */
  readonly lossPct: number;
  /**
   * The longest time in the window without a timely answer arriving, ms: from one timely answer to the next
   * (or to a window edge). A healthy path shows about one probe interval.
   */
  readonly outageMs: number;
  /** The slowest answer of a probe sent in the window, ms (0 when none came). */
  readonly maxRttMs: number;
}

/**
 * Measures the probes sent in `from <= sentAt <= to`.
 *
 * @example
 * ```ts
 * import { parsePingLog, probeWindow } from "./probe_log.ts";
 * const s = parsePingLog("[1.000] 64 bytes from x: icmp_seq=1 ttl=1 time=1500 ms\n");
 * probeWindow(s, 0, 2000).lost; // 1: answered, but late
 * ```
 */
export function probeWindow(
  samples: readonly ProbeSample[],
  from: number,
  to: number,
  judgement: ProbeJudgement = {},
): ProbeReport {
  const inWindow = samples.filter((s) => s.sentAt >= from && s.sentAt <= to);
  let lost = 0, late = 0, errors = 0, maxRttMs = 0;
  for (const s of inWindow) {
    if (s.rttMs !== undefined) maxRttMs = Math.max(maxRttMs, s.rttMs);
    if (answeredInTime(s, judgement)) continue;
    lost++;
    if (s.answeredAt !== undefined) late++;
    else if (s.error !== undefined) errors++;
  }
  // Timely answers, by arrival, wherever they were sent: the path worked at those instants.
  const arrivals = samples.filter((s) => answeredInTime(s, judgement)).map((s) => s.answeredAt!).sort((
    a,
    b,
  ) => a - b);
  let outageMs = 0;
  let previous = from;
  for (const at of arrivals) {
    if (at < from) continue;
    if (at > to) {
      outageMs = Math.max(outageMs, to - previous);
      previous = to;
      break;
    }
    outageMs = Math.max(outageMs, at - previous);
    previous = at;
  }
  outageMs = Math.max(outageMs, to - previous);
  const sent = inWindow.length;
  return {
    sent,
    lost,
    late,
    errors,
    lossPct: sent ? Math.round((lost / sent) * 10000) / 100 : 0,
    outageMs: Math.round(outageMs),
    maxRttMs: Math.round(maxRttMs * 10) / 10,
  };
}

/**
 * When the path recovered: the arrival time of the first timely answer to a probe sent at or after `after`
 * that starts a run of `stable` timely answers in a row, or undefined while there is none.
 */
export function recoveredAt(
  samples: readonly ProbeSample[],
  after: number,
  stable = 5,
  judgement: ProbeJudgement = {},
): number | undefined {
  let run = 0;
  let start: number | undefined;
  for (const s of samples) {
    if (s.sentAt < after) continue;
    if (answeredInTime(s, judgement)) {
      if (run === 0) start = s.answeredAt;
      if (++run >= stable) return start;
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
