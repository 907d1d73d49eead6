/**
 * What the steps of topology resolution share (pure): the document being resolved, where each problem goes
 * (an error that refuses the file, or a limit that only the netns runtime refuses), the notes shown to the user,
 * and the small readers of raw YAML values.
 *
 * @module
 */
import type { Problem } from "./errors.ts";
import type { SourceDoc } from "./source.ts";

/** A YAML mapping as parsed. */
export type Obj = Record<string, unknown>;

/** A field path in the file (`["topology", "nodes", "n1", "kind"]`). */
export type Path = (string | number)[];

/** One layer of a node's inheritance (defaults, its kind, its group, the node itself) and where it is written. */
export interface Layer {
  readonly path: Path;
  readonly value: Obj;
}

/** The document being resolved and what resolving it found so far. */
export interface ResolveContext {
  readonly doc: SourceDoc;
  /** Problems that refuse the file, in the order they were found. */
  readonly problems: Problem[];
  /** What only the netns runtime refuses (containerlab honours it), in the order found. */
  readonly netnsLimits: Problem[];
  /** Notes for the user (what the netns runtime does differently), each once. */
  readonly notes: Set<string>;
  /** Records a problem at `path` (at its key when `key`, else at its value). */
  fail(path: Path, message: string, key?: boolean): void;
  /** Records a netns-only limit at the key `path`. */
  limit(path: Path, message: string): void;
}

/**
 * A fresh context for a document.
 *
 * @param doc the parsed topology file
 * @returns a context with no problems, limits or notes
 */
export function resolveContext(doc: SourceDoc): ResolveContext {
  const problems: Problem[] = [];
  const netnsLimits: Problem[] = [];
  return {
    doc,
    problems,
    netnsLimits,
    notes: new Set<string>(),
    fail: (path, message, key = false) => {
      problems.push(doc.problem(path, message, { key }));
    },
    limit: (path, message) => {
      netnsLimits.push(doc.problem(path, message, { key: true }));
    },
  };
}

/**
 * A scalar as text, as containerlab reads it (`mtu: 1500` and `mtu: "1500"` alike).
 *
 * @param v the value
 * @returns its text
 */
export function str(v: unknown): string {
  return typeof v === "string" ? v : String(v);
}
