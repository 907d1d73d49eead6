/**
 * Go's `strconv.ParseBool` and `strconv.ParseInt`, which Go's `flag` package (and klog) use to read flag values
 * and the `FLANNELD_*` variables. Pure.
 *
 * Worth copying exactly because they accept more than `Number()` would and less than one might guess: `T` and
 * `1` are true but `yes` is not; `0x1f`, `0o17`, `017` (octal!), `0b101` and `1_000` are integers, `1e3` and
 * ` 1` are not.
 *
 * @module
 */

/**
 * Go's `strconv.ParseBool`.
 *
 * @param s The text.
 * @returns The value, or `undefined` when Go would return an error.
 * @example
 * ```ts
 * import { parseGoBool } from "./go_strconv.ts";
 * console.assert(parseGoBool("T") === true && parseGoBool("0") === false && parseGoBool("yes") === undefined);
 * ```
 */
export function parseGoBool(s: string): boolean | undefined {
  if (["1", "t", "T", "TRUE", "true", "True"].includes(s)) return true;
  if (["0", "f", "F", "FALSE", "false", "False"].includes(s)) return false;
  return undefined;
}

/** Go's `underscoreOK`: underscores only between digits, or between a base prefix and a digit. */
function underscoreOk(s: string): boolean {
  let saw = "^";
  let i = 0;
  if (s[0] === "-" || s[0] === "+") s = s.slice(1);
  let hex = false;
  if (s.length >= 2 && s[0] === "0" && "box".includes(s[1]!.toLowerCase())) {
    i = 2;
    saw = "0";
    hex = s[1]!.toLowerCase() === "x";
  }
  for (; i < s.length; i++) {
    const c = s[i]!;
    if ((c >= "0" && c <= "9") || (hex && c.toLowerCase() >= "a" && c.toLowerCase() <= "f")) {
      saw = "0";
      continue;
    }
    if (c === "_") {
      if (saw !== "0") return false;
      saw = "_";
      continue;
    }
    if (saw === "_") return false;
    saw = "!";
  }
  return saw !== "_";
}

/**
 * Go's `strconv.ParseInt(s, base, 64)` for base 0 (Go's `flag` package: `0x`/`0o`/`0b` prefixes, a leading `0`
 * for octal, `_` between digits) or base 10 (klog's level).
 *
 * @param s The text.
 * @param base 0 or 10.
 * @returns The value, or `undefined` for a syntax or range error.
 * @example A leading zero means octal to Go's `flag`, but not to klog
 * ```ts
 * import { parseGoInt } from "./go_strconv.ts";
 * console.assert(parseGoInt("017") === 15n && parseGoInt("017", 10) === 17n && parseGoInt("0x1f") === 31n);
 * ```
 */
export function parseGoInt(s: string, base: 0 | 10 = 0): bigint | undefined {
  const original = s;
  let negative = false;
  if (s[0] === "+" || s[0] === "-") {
    negative = s[0] === "-";
    s = s.slice(1);
  }
  if (s === "") return undefined;
  let radix = 10;
  if (base === 0 && s[0] === "0") {
    const p = s.length >= 3 ? s[1]!.toLowerCase() : "";
    radix = p === "b" ? 2 : p === "o" || p === "" || !"bx".includes(p) ? 8 : 16;
    s = p === "b" || p === "o" || p === "x" ? s.slice(2) : s.slice(1);
  }
  let n = 0n;
  let underscores = false;
  for (const c of s) {
    if (c === "_" && base === 0) {
      underscores = true;
      continue;
    }
    const lower = c.toLowerCase();
    const d = c >= "0" && c <= "9"
      ? c.charCodeAt(0) - 48
      : lower >= "a" && lower <= "z"
      ? lower.charCodeAt(0) - 87
      : 99;
    if (d >= radix) return undefined;
    n = n * BigInt(radix) + BigInt(d);
  }
  if (underscores && !underscoreOk(original)) return undefined;
  if (negative) n = -n;
  if (n < -(1n << 63n) || n > (1n << 63n) - 1n) return undefined;
  return n;
}
