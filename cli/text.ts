/**
 * Small text helpers for messages.
 *
 * @module
 */

/**
 * The last `n` non-empty lines of a text: the end of a log or a command's output, for an error message.
 *
 * @example
 * ```ts
 * import { lastLines } from "./text.ts";
 * lastLines("a\n\nb\nc\n", 2); // "b\nc"
 * ```
 */
export function lastLines(text: string, n: number): string {
  return text.split("\n").filter((l) => l.trim()).slice(-n).join("\n");
}
