/**
 * JSON rendered byte for byte as Go's `encoding/json` renders the values upstream's plugin builds: map keys
 * sorted at every level (Go sorts `map[string]interface{}` keys by their UTF-8 bytes), compact, no trailing
 * newline, `<`, `>`, `&`, U+2028 and U+2029 escaped, invalid UTF-16 replaced by U+FFFD, and `-0` kept.
 * Go structs keep their field order instead of sorting: pass a `Map` for those (its insertion order is kept).
 * Pure.
 *
 * Reading JSON as Go's `encoding/json` reads it is the other direction, and a different job (raw text kept,
 * case-folded field names): `../go_json.ts`. The two share no logic.
 *
 * @module
 */

/** A JSON value, where a `Map` stands for a Go struct (fields in declaration order). */
export type GoJsonValue =
  | null
  | boolean
  | number
  | string
  | readonly GoJsonValue[]
  | ReadonlyMap<string, GoJsonValue>
  | { readonly [key: string]: GoJsonValue };

/** Compares two strings by their UTF-8 bytes, which is code point order (Go's `strings.Compare`). */
export function compareUtf8(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.codePointAt(i)!;
    const y = b.codePointAt(i)!;
    if (x !== y) return x - y;
    if (x > 0xffff) i++;
  }
  return a.length - b.length;
}

const GO_ESCAPES: Readonly<Record<string, string>> = {
  "<": "\\u003c",
  ">": "\\u003e",
  "&": "\\u0026",
  "\u2028": "\\u2028",
  "\u2029": "\\u2029",
};

function goString(s: string): string {
  // Lone surrogates are invalid UTF-8 to Go, which writes U+FFFD for them.
  const wellFormed = s.replace(/\p{Cs}/gu, "\uFFFD");
  return JSON.stringify(wellFormed).replace(/[<>&\u2028\u2029]/g, (c) => GO_ESCAPES[c]!);
}

function goNumber(n: number): string {
  if (!Number.isFinite(n)) throw new RangeError(`JSON cannot carry the number ${n}`);
  if (Object.is(n, -0)) return "-0";
  // Both languages print the shortest round-trip form, switching to exponent form below 1e-6 and from 1e21.
  // Go pads a one-digit negative exponent ("1e-07") and then strips the padding again, so the texts agree.
  return String(n);
}

/**
 * Renders a value as Go's `json.Marshal` would render the equivalent Go value.
 *
 * @param value the value; objects are maps (keys sorted), `Map`s are structs (order kept)
 * @returns compact JSON text
 * @example Keys come out sorted
 * ```ts
 * import { goJson } from "./go_json.ts";
 * if (goJson({ b: 1, a: "<" }) !== '{"a":"\\u003c","b":1}') throw new Error("not Go's rendering");
 * ```
 */
export function goJson(value: GoJsonValue): string {
  if (value === null) return "null";
  switch (typeof value) {
    case "boolean":
      return value ? "true" : "false";
    case "number":
      return goNumber(value);
    case "string":
      return goString(value);
  }
  if (Array.isArray(value)) return `[${value.map((v: GoJsonValue) => goJson(v)).join(",")}]`;
  if (value instanceof Map) {
    const parts: string[] = [];
    for (const [k, v] of value) parts.push(`${goString(k)}:${goJson(v)}`);
    return `{${parts.join(",")}}`;
  }
  const obj = value as { readonly [key: string]: GoJsonValue };
  const keys = Object.keys(obj).filter((k) => obj[k] !== undefined).sort(compareUtf8);
  return `{${keys.map((k) => `${goString(k)}:${goJson(obj[k]!)}`).join(",")}}`;
}
