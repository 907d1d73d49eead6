// deno-lint-ignore-file no-console
/**
 * The only module that prints to stdout for people, and the mapping from errors to exit codes.
 *
 * @module
 */
import { exitCodeOf, hintOf, isExpectedError } from "./errors.ts";

/** Prints a line to stdout. */
export function println(text = ""): void {
  console.log(text);
}

/** Prints a line to stderr. */
export function eprintln(text = ""): void {
  console.error(text);
}

/**
 * Reports an error the way the CLI does: message and hint for expected failures, the stack for bugs (and for
 * everything with `verbose`). Returns the exit code to use.
 */
export function reportError(error: unknown, options: { verbose?: boolean; prefix?: string } = {}): number {
  const prefix = options.prefix ?? "flannel-lab";
  if (isExpectedError(error) && !options.verbose) {
    console.error(`${prefix}: ${error.message}`);
    const hint = hintOf(error);
    if (hint) console.error(`hint: ${hint}`);
    return exitCodeOf(error);
  }
  console.error(`${prefix}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  const hint = hintOf(error);
  if (hint) console.error(`hint: ${hint}`);
  return exitCodeOf(error);
}
