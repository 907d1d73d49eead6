/**
 * YAML with source positions: parse a file once, then ask for the line and column of any field path, so that
 * schema, resolution and scenario errors point at the right place. Shared by the topology and scenario parsers.
 *
 * @module
 */
import { isMap, isScalar, isSeq, LineCounter, type Node, parseDocument } from "yaml";
import type { Problem } from "./errors.ts";

/** A parsed YAML file that can locate fields. */
export interface SourceDoc {
  readonly file: string;
  /** The plain JavaScript value. */
  readonly value: unknown;
  /** Syntax problems (bad YAML, duplicate keys); the value is unusable when non-empty. */
  readonly problems: readonly Problem[];
  /** The position of a field (its key when `key` is true, else its value); the nearest parent if absent. */
  locate(path: readonly (string | number)[], options?: { key?: boolean }): { line?: number; column?: number };
  /** A problem at a path. */
  problem(path: readonly (string | number)[], message: string, options?: { key?: boolean }): Problem;
}

/** Formats a path as `a.b[2].c`. */
export function formatPath(path: readonly (string | number)[]): string {
  let out = "";
  for (const p of path) out += typeof p === "number" ? `[${p}]` : out ? `.${p}` : p;
  return out;
}

/**
 * Parses YAML text keeping positions.
 *
 * @param file the file name used in problems
 * @param text the YAML text
 * @returns the parsed document
 */
export function parseSource(file: string, text: string): SourceDoc {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const pos = (offset: number | undefined) => {
    if (offset === undefined) return {};
    const { line, col } = lineCounter.linePos(offset);
    return { line, column: col };
  };
  const problems: Problem[] = doc.errors.map((e) => ({
    file,
    ...pos(e.pos[0]),
    field: "",
    message: e.message.split("\n")[0] ?? e.message,
  }));
  const locate = (path: readonly (string | number)[], options: { key?: boolean } = {}) => {
    let node: Node | null | undefined = doc.contents as Node | null;
    let best: number | undefined = node?.range?.[0];
    for (const [i, part] of path.entries()) {
      if (isMap(node)) {
        const pair = node.items.find((it) => isScalar(it.key) && String(it.key.value) === String(part));
        if (!pair) break;
        const last = i === path.length - 1;
        const keyNode = pair.key as Node;
        if (last && options.key) {
          best = keyNode.range?.[0];
          node = undefined;
          break;
        }
        node = pair.value as Node | null;
        best = node?.range?.[0] ?? keyNode.range?.[0] ?? best;
      } else if (isSeq(node) && typeof part === "number") {
        const item = node.items[part] as Node | undefined;
        if (!item) break;
        node = item;
        best = item.range?.[0] ?? best;
      } else {
        break;
      }
    }
    return pos(best);
  };
  let value: unknown = undefined;
  if (problems.length === 0) {
    try {
      value = doc.toJS({ maxAliasCount: 100 });
    } catch (error) {
      problems.push({ file, field: "", message: (error as Error).message });
    }
  }
  return {
    file,
    value,
    problems,
    locate,
    problem: (path, message, options) => ({
      file,
      ...locate(path, options),
      field: formatPath(path),
      message,
    }),
  };
}
