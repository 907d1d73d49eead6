/**
 * Shell-like word splitting, as containerlab does for `cmd` and `exec` (go-shellwords): quotes and backslashes
 * group words, nothing is expanded, no shell runs.
 *
 * @module
 */

/**
 * Splits a command line into words.
 *
 * @param line the command line
 * @returns the words
 * @throws {SyntaxError} on an unterminated quote
 * @example Quotes group words
 * ```ts
 * import { shellSplit } from "./shell_words.ts";
 * shellSplit(`bash -c 'echo a b'`); // ["bash", "-c", "echo a b"]
 * ```
 */
export function shellSplit(line: string): string[] {
  const words: string[] = [];
  let word = "";
  let inWord = false;
  let quote: "'" | '"' | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quote === "'") {
      if (c === "'") quote = undefined;
      else word += c;
      continue;
    }
    if (quote === '"') {
      if (c === '"') quote = undefined;
      else if (c === "\\" && i + 1 < line.length && `"\\$\``.includes(line[i + 1]!)) word += line[++i];
      else word += c;
      continue;
    }
    if (c === "'" || c === '"') {
      quote = c;
      inWord = true;
    } else if (c === "\\" && i + 1 < line.length) {
      word += line[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(word);
      word = "";
      inWord = false;
    } else {
      word += c;
      inWord = true;
    }
  }
  if (quote) throw new SyntaxError(`Unterminated ${quote} quote in ${JSON.stringify(line)}`);
  if (inWord) words.push(word);
  return words;
}
