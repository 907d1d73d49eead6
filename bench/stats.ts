/**
 * The statistics every benchmark reports with: medians with their spread, percentiles, and the A-B-B-A order
 * in which two sides take turns so that neither always runs first (on a warm cache, after the other's garbage).
 *
 * @module
 */

/** The two sides of a side-by-side benchmark. */
export type AgentKind = "ours" | "upstream";

/**
 * The median of `v` (NaN when empty).
 *
 * @example
 * ```ts
 * import { median } from "./stats.ts";
 * median([3, 1, 2]); // 2
 * ```
 */
export function median(v: readonly number[]): number {
  if (v.length === 0) return NaN;
  const s = [...v].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/**
 * The p-th percentile of `xs` by the nearest-rank method (NaN when empty).
 *
 * @example
 * ```ts
 * import { pct } from "./stats.ts";
 * pct([1, 2, 3, 4], 50); // 2
 * ```
 */
export function pct(xs: readonly number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

/**
 * "median (min–max)" with `digits` decimals, or "—" when nothing was measured.
 *
 * @example
 * ```ts
 * import { spread } from "./stats.ts";
 * spread([1, 2, 4], 1); // "2.0 (1.0–4.0)"
 * ```
 */
export function spread(v: readonly number[], digits: number): string {
  if (v.length === 0) return "—";
  return `${median(v).toFixed(digits)} (${Math.min(...v).toFixed(digits)}–${Math.max(...v).toFixed(digits)})`;
}

/**
 * The turns of `repeats` rounds in A-B-B-A order: ours first in even rounds, upstream first in odd ones.
 *
 * @example
 * ```ts
 * import { rounds } from "./stats.ts";
 * rounds(2); // [[0, "ours"], [0, "upstream"], [1, "upstream"], [1, "ours"]]
 * ```
 */
export function rounds(repeats: number): [number, AgentKind][] {
  const out: [number, AgentKind][] = [];
  for (let round = 0; round < repeats; round++) {
    const order: AgentKind[] = round % 2 === 0 ? ["ours", "upstream"] : ["upstream", "ours"];
    for (const kind of order) out.push([round, kind]);
  }
  return out;
}

/**
 * `a ÷ b` with two decimals, or "—" when there is nothing to divide (both zero, or either not measured).
 *
 * @example
 * ```ts
 * import { ratioText } from "./stats.ts";
 * ratioText(1, 4); // "0.25"
 * ratioText(0, 0); // "—"
 * ```
 */
export function ratioText(a: number, b: number): string {
  const r = a / b;
  return Number.isFinite(r) ? r.toFixed(2) : "—";
}
