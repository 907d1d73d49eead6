/**
 * Small statistics for performance figures (pure): percentiles, mean and spread, ratios against a baseline.
 *
 * @module
 */

/**
 * The p-th percentile (nearest rank) of values.
 *
 * @param values samples (any order)
 * @param p 0–100
 * @returns the percentile, or NaN for no samples
 * @example
 * ```ts
 * import { percentile } from "./stats.ts";
 * console.assert(percentile([1, 2, 3, 4], 50) === 2);
 * ```
 */
export function percentile(values: readonly number[], p: number): number {
  if (!values.length) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1]!;
}

/** Mean, sample standard deviation, min and max. */
export interface Spread {
  readonly n: number;
  readonly mean: number;
  readonly stdev: number;
  readonly min: number;
  readonly max: number;
}

/**
 * Mean and spread of repeated measurements.
 *
 * @param values the repeats
 * @returns n, mean, sample stdev (0 for one value), min, max
 */
export function spread(values: readonly number[]): Spread {
  const n = values.length;
  if (!n) return { n: 0, mean: NaN, stdev: NaN, min: NaN, max: NaN };
  const mean = values.reduce((a, b) => a + b, 0) / n;
  const variance = n > 1 ? values.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1) : 0;
  return { n, mean, stdev: Math.sqrt(variance), min: Math.min(...values), max: Math.max(...values) };
}

/** Rounds to `digits` decimals. */
export function round(x: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** `mean ± stdev (min–max, n=N)`. */
export function formatSpread(s: Spread, unit: string, digits = 1): string {
  return `${round(s.mean, digits)} ± ${round(s.stdev, digits)} ${unit} (${round(s.min, digits)}–${
    round(s.max, digits)
  }, n=${s.n})`;
}

/**
 * Whether a ratio falls in a band (inclusive).
 *
 * @param ratio the measured ratio
 * @param band min and/or max
 */
export function inBand(ratio: number, band: { readonly min?: number; readonly max?: number }): boolean {
  return (band.min === undefined || ratio >= band.min) && (band.max === undefined || ratio <= band.max);
}

/**
 * A band as text: `0.8..1.2`, `>= 0.8` or `<= 1.2`.
 *
 * @example Both ends
 * ```ts
 * import { formatBand } from "./stats.ts";
 * formatBand({ min: 0.8, max: 1.2 }); // "0.8..1.2"
 * ```
 */
export function formatBand(band: { readonly min?: number; readonly max?: number }): string {
  return band.min !== undefined && band.max !== undefined
    ? `${band.min}..${band.max}`
    : band.min !== undefined
    ? `>= ${band.min}`
    : `<= ${band.max}`;
}
