/**
 * JSON read the way Go's `encoding/json` reads it into upstream flanneld's structs (the network config, lease
 * values). Pure.
 *
 * What Go does and `JSON.parse` does not, and so what this module keeps:
 * - every value keeps its source text ({@linkcode GoJsonNode}`.raw`): Go hands the raw text to custom decoders
 *   (flannel's IP types, see `go_ip.ts`) and keeps `json.RawMessage` verbatim;
 * - repeated object keys are all kept, in order, so that the last one can win ({@linkcode lastEntry});
 * - keys select struct fields case-insensitively, with Unicode simple folding ({@linkcode goFieldMatches});
 * - `null` leaves a `bool` or `int` field at its default, and integers must be written as integers, within the
 *   Go type's range ({@linkcode decodeBool}, {@linkcode decodeInt}).
 *
 * The other direction, JSON written byte for byte as Go's `json.Marshal` writes it, is `cni/go_json.ts`.
 *
 * @module
 */

/** A JSON value with its source text, as read by {@linkcode parseGoJson}. `offset` is where it starts. */
export type GoJsonNode =
  | {
    readonly kind: "object";
    readonly entries: readonly GoJsonEntry[];
    readonly raw: string;
    readonly offset: number;
  }
  | {
    readonly kind: "array";
    readonly items: readonly GoJsonNode[];
    readonly raw: string;
    readonly offset: number;
  }
  | { readonly kind: "string"; readonly value: string; readonly raw: string; readonly offset: number }
  | { readonly kind: "number"; readonly raw: string; readonly offset: number }
  | { readonly kind: "boolean"; readonly value: boolean; readonly raw: string; readonly offset: number }
  | { readonly kind: "null"; readonly raw: string; readonly offset: number };

/** One `"key": value` member of a JSON object; repeated keys are all kept, in order. */
export interface GoJsonEntry {
  /** The key with escapes decoded. */
  readonly key: string;
  /** The value. */
  readonly value: GoJsonNode;
}

/** Thrown by {@linkcode parseGoJson} for text that is not JSON. The message says where (line, column). */
export class GoJsonSyntaxError extends SyntaxError {
  override name = "GoJsonSyntaxError";
  /** Zero-based offset of the problem in the text. */
  readonly offset: number;
  /** One-based line of the problem. */
  readonly line: number;
  /** One-based column of the problem. */
  readonly column: number;

  /**
   * @param detail What is wrong, e.g. `unexpected "}"`.
   * @param text The whole text (to compute line and column).
   * @param offset Where in the text.
   */
  constructor(detail: string, text: string, offset: number) {
    const before = text.slice(0, offset);
    const line = before.split("\n").length;
    const column = offset - (before.lastIndexOf("\n") + 1) + 1;
    super(`${detail} at line ${line}, column ${column}`);
    this.offset = offset;
    this.line = line;
    this.column = column;
  }
}

/** Deeper nesting is refused (Go allows 10000; no config or lease comes near, and recursion must stay safe). */
const MAX_JSON_DEPTH = 1000;

const NUMBER_RE = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;

/**
 * Reads RFC 8259 JSON the way Go's `encoding/json` sees it: every value keeps its source text (Go hands raw text
 * to custom decoders and keeps `json.RawMessage` verbatim), and repeated object keys are all kept in order.
 *
 * @param text The JSON text.
 * @returns The top-level value.
 * @throws {GoJsonSyntaxError} When the text is not exactly one JSON value.
 * @example Reading a value and its source
 * ```ts
 * import { parseGoJson } from "./go_json.ts";
 * const node = parseGoJson(`{"Network": "10.0.0.0\\/8"}`);
 * if (node.kind === "object") console.assert(node.entries[0]!.value.raw === `"10.0.0.0\\/8"`);
 * ```
 */
export function parseGoJson(text: string): GoJsonNode {
  let pos = 0;
  const fail = (detail: string, at = pos): never => {
    throw new GoJsonSyntaxError(detail, text, at);
  };
  const describe = (at: number): string =>
    at >= text.length ? "unexpected end of input" : `unexpected ${JSON.stringify(text[at])}`;
  const skipSpace = () => {
    while (pos < text.length) {
      const c = text.charCodeAt(pos);
      if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) break;
      pos++;
    }
  };
  const readString = (): string => {
    const start = pos;
    pos++; // opening quote
    let out = "";
    let chunk = pos;
    for (;;) {
      if (pos >= text.length) fail("unterminated string", start);
      const c = text.charCodeAt(pos);
      if (c === 0x22) {
        out += text.slice(chunk, pos);
        pos++;
        return out;
      }
      if (c < 0x20) fail("control character in string");
      if (c !== 0x5c) {
        pos++;
        continue;
      }
      out += text.slice(chunk, pos);
      const e = text[pos + 1];
      const simple: Record<string, string> = {
        '"': '"',
        "\\": "\\",
        "/": "/",
        b: "\b",
        f: "\f",
        n: "\n",
        r: "\r",
        t: "\t",
      };
      if (e !== undefined && e in simple) {
        out += simple[e];
        pos += 2;
      } else if (e === "u") {
        const hex = text.slice(pos + 2, pos + 6);
        if (!/^[0-9a-fA-F]{4}$/.test(hex)) fail("invalid \\u escape in string");
        out += String.fromCharCode(parseInt(hex, 16));
        pos += 6;
      } else {
        fail("invalid escape in string");
      }
      chunk = pos;
    }
  };
  const readValue = (depth: number): GoJsonNode => {
    skipSpace();
    const start = pos;
    const c = text[pos];
    if (c === "{" || c === "[") {
      if (depth >= MAX_JSON_DEPTH) fail(`nesting deeper than ${MAX_JSON_DEPTH} levels`);
      pos++;
      skipSpace();
      const close = c === "{" ? "}" : "]";
      const entries: GoJsonEntry[] = [];
      const items: GoJsonNode[] = [];
      if (text[pos] === close) {
        pos++;
      } else {
        for (;;) {
          if (c === "{") {
            skipSpace();
            if (text[pos] !== '"') fail(`${describe(pos)}, expected a quoted object key`);
            const key = readString();
            skipSpace();
            if (text[pos] !== ":") fail(`${describe(pos)}, expected ":" after object key`);
            pos++;
            entries.push({ key, value: readValue(depth + 1) });
          } else {
            items.push(readValue(depth + 1));
          }
          skipSpace();
          if (text[pos] === ",") {
            pos++;
            continue;
          }
          if (text[pos] === close) {
            pos++;
            break;
          }
          fail(`${describe(pos)}, expected "," or "${close}"`);
        }
      }
      const raw = text.slice(start, pos);
      return c === "{"
        ? { kind: "object", entries, raw, offset: start }
        : { kind: "array", items, raw, offset: start };
    }
    if (c === '"') {
      const value = readString();
      return { kind: "string", value, raw: text.slice(start, pos), offset: start };
    }
    for (const [word, node] of [["true", true], ["false", false], ["null", null]] as const) {
      if (text.startsWith(word, pos)) {
        pos += word.length;
        return node === null
          ? { kind: "null", raw: word, offset: start }
          : { kind: "boolean", value: node, raw: word, offset: start };
      }
    }
    NUMBER_RE.lastIndex = pos;
    const m = NUMBER_RE.exec(text);
    if (m) {
      pos += m[0].length;
      return { kind: "number", raw: m[0], offset: start };
    }
    return fail(`${describe(pos)}, expected a value`);
  };
  const node = readValue(0);
  skipSpace();
  if (pos < text.length) fail(`${describe(pos)} after the top-level value`);
  return node;
}

/**
 * Whether a JSON object key selects a Go struct field, as `encoding/json` decides: an exact match, or equal under
 * Unicode simple case folding. Field names are ASCII, so folding reduces to ASCII case plus the two non-ASCII
 * letters that fold onto ASCII ones: `ſ` (U+017F) onto `s` and the Kelvin sign (U+212A) onto `k`.
 *
 * @param key The key as decoded from JSON.
 * @param field The Go field name (or its JSON tag).
 * @returns Whether the key selects the field.
 * @example Keys that select the `SubnetLen` field
 * ```ts
 * import { goFieldMatches } from "./go_json.ts";
 * console.assert(goFieldMatches("subnetlen", "SubnetLen"));
 * console.assert(goFieldMatches("\u017fubnetLen", "SubnetLen")); // ſ folds onto s
 * console.assert(!goFieldMatches("subnet_len", "SubnetLen"));
 * ```
 */
export function goFieldMatches(key: string, field: string): boolean {
  if (key.length !== field.length) {
    // ſ and K are one UTF-16 unit each, so a different length can still only match if it contains neither.
    return false;
  }
  for (let i = 0; i < key.length; i++) {
    const k = key[i]!;
    const f = field[i]!.toLowerCase();
    const folded = k === "\u017f" ? "s" : k === "\u212a" ? "k" : k.charCodeAt(0) < 0x80 ? k.toLowerCase() : k;
    if (folded !== f) return false;
  }
  return true;
}

/**
 * Looks up a field in an object's entries, Go-style: the last matching entry wins.
 *
 * @param entries The object's members, repeated keys included.
 * @param field The Go field name.
 * @returns The value of the last member whose key selects the field, or `undefined` when none does.
 */
export function lastEntry(entries: readonly GoJsonEntry[], field: string): GoJsonNode | undefined {
  let found: GoJsonNode | undefined;
  for (const e of entries) if (goFieldMatches(e.key, field)) found = e.value;
  return found;
}

// ---------------------------------------------------------------------------------------------------------------
// Decoding fields with Go's rules

/** A field decoder's verdict: a value, "leave the default" (Go's `null`), or an error detail. */
export type Decoded<T> = { ok: true; value: T | undefined } | { ok: false; detail: string };

const ok = <T>(value: T | undefined): Decoded<T> => ({ ok: true, value });
const bad = <T>(detail: string): Decoded<T> => ({ ok: false, detail });

/**
 * Names a JSON value's type for a message, with its article: `a string`, `an object`, `null`.
 *
 * @param node The value.
 * @returns The type's name.
 */
export function jsonType(node: GoJsonNode): string {
  return node.kind === "boolean"
    ? "a boolean"
    : node.kind === "null"
    ? "null"
    : `a${node.kind === "object" || node.kind === "array" ? "n" : ""} ${node.kind}`;
}

/**
 * Go `bool`: true/false; null leaves the default.
 *
 * @param node The value.
 * @returns The boolean, `undefined` for `null`, or why the value is refused.
 */
export function decodeBool(node: GoJsonNode): Decoded<boolean> {
  if (node.kind === "boolean") return ok(node.value);
  if (node.kind === "null") return ok(undefined);
  return bad(`must be true or false, not ${jsonType(node)}`);
}

/**
 * Go `int` (signed 64-bit) or `uint`: a JSON number written as an integer; null leaves the default.
 *
 * @param node The value.
 * @param unsigned Whether the Go field is a `uint` (negative numbers refused).
 * @returns The number, `undefined` for `null`, or why the value is refused.
 * @example `24.0` is a number but not an `int`
 * ```ts
 * import { decodeInt, parseGoJson } from "./go_json.ts";
 * const d = decodeInt(parseGoJson("24.0"), true);
 * console.assert(!d.ok && d.detail === "must be an integer");
 * ```
 */
export function decodeInt(node: GoJsonNode, unsigned: boolean): Decoded<number> {
  if (node.kind === "null") return ok(undefined);
  if (node.kind !== "number") return bad(`must be a number, not ${jsonType(node)}`);
  if (!/^-?\d+$/.test(node.raw)) return bad("must be an integer");
  const n = BigInt(node.raw);
  if (unsigned && node.raw.startsWith("-")) return bad("must not be negative");
  const [lo, hi] = unsigned ? [0n, (1n << 64n) - 1n] : [-(1n << 63n), (1n << 63n) - 1n];
  if (n < lo || n > hi) return bad("is out of range");
  // Anything outside the safe range is refused by every caller's range check anyway.
  return ok(Number(n));
}
