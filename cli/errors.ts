/**
 * Error classes the command line maps to exit codes and prints without a stack trace.
 *
 * Expected failures — bad input, a missing privilege, an unreachable dependency — are not crashes: the CLI
 * prints the message and the hint. Anything else is a bug and keeps its stack.
 *
 * @module
 */

/** A failure the user can act on. `hint` says what to do about it. */
export class UserError extends Error {
  override name = "UserError";
  /** What the user can do about it, printed on a line of its own. */
  readonly hint: string | undefined;
  /** The process exit code the CLI uses for it. */
  readonly exitCode: number;

  constructor(message: string, options: { hint?: string; exitCode?: number; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.hint = options.hint;
    this.exitCode = options.exitCode ?? 1;
  }
}

/** The command line was wrong: an unknown flag, a missing argument. Exit code 2, like most CLIs. */
export class UsageError extends UserError {
  override name = "UsageError";
  constructor(message: string, options: { hint?: string } = {}) {
    super(message, { ...options, exitCode: 2 });
  }
}

/** Whether an error is an expected failure (printed without a stack) rather than a bug. */
export function isExpectedError(error: unknown): error is Error {
  // SyntaxError subclasses carry parse failures of user input (config, CIDRs, topology files).
  return error instanceof UserError || error instanceof SyntaxError;
}

/** The hint of an error, when it has one. */
export function hintOf(error: unknown): string | undefined {
  return error instanceof UserError ? error.hint : undefined;
}

/** The exit code for an error. */
export function exitCodeOf(error: unknown): number {
  return error instanceof UserError ? error.exitCode : 1;
}
