/**
 * {@linkcode CommandError}: what callers catch when a child process fails — it exited non-zero, was killed,
 * timed out or was aborted — with the command, how it ended, how long it ran and the last few KiB of what it
 * printed (dax's ShellError idea: enough to act on, never an unbounded dump).
 *
 * @module
 */
import { abortReason } from "./_terminate.ts";

/** How much of a failed command's stdout and stderr an error keeps, in characters. */
export const TAIL_CHARS = 4096;

/**
 * The last {@linkcode TAIL_CHARS} characters of `text`, marked with a leading "…" when cut.
 *
 * @param text a command's output
 * @returns its bounded tail
 * @example Bounding a long output
 * ```ts
 * import { tail, TAIL_CHARS } from "./command_error.ts";
 * tail("x".repeat(10_000)).length === TAIL_CHARS + 1; // true
 * ```
 */
export function tail(text: string): string {
  return text.length > TAIL_CHARS ? "…" + text.slice(-TAIL_CHARS) : text;
}

/** How a failed command ended (the fields of {@linkcode CommandError} besides the command). */
export interface CommandFailure {
  /** Exit code; -1 when the command never started (its signal had aborted already). */
  readonly code: number;
  /** The signal that ended it, if one did. */
  readonly signal: Deno.Signal | null;
  /** Stopped by the runner's timeout. */
  readonly timedOut: boolean;
  /** Stopped (or never started) because the caller's abort signal fired. */
  readonly aborted?: boolean;
  readonly durationMs: number;
  /** The end of its stderr, bounded by {@linkcode tail}. */
  readonly stderrTail: string;
  /** The end of its stdout, bounded by {@linkcode tail}. */
  readonly stdoutTail: string;
  /** Why it was aborted, as text for the message. */
  readonly reason?: string;
  /** Why it was aborted: the abort signal's reason, kept as the error's `cause`. */
  readonly cause?: unknown;
}

/** A command that failed: it exited non-zero, was killed, timed out, or was aborted. */
export class CommandError extends Error {
  override name = "CommandError";
  readonly command: readonly string[];
  readonly code: number;
  readonly signal: Deno.Signal | null;
  readonly timedOut: boolean;
  readonly aborted: boolean;
  readonly durationMs: number;
  readonly stderrTail: string;
  readonly stdoutTail: string;

  /**
   * @param command the argument array that ran
   * @param failure how it ended and what it printed
   */
  constructor(command: readonly string[], failure: CommandFailure) {
    const reason = failure.reason ?? "aborted";
    const what = failure.aborted
      ? failure.code === -1 ? `was not started: aborted (${reason})` : `was aborted (${reason})`
      : failure.timedOut
      ? `timed out after ${failure.durationMs} ms`
      : failure.signal
      ? `was killed by ${failure.signal}`
      : `exited ${failure.code}`;
    const detail = failure.stderrTail.trim() || failure.stdoutTail.trim();
    super(
      `Command ${JSON.stringify(command.join(" "))} ${what}${detail ? `: ${detail}` : ""}`,
      failure.cause === undefined ? undefined : { cause: failure.cause },
    );
    this.command = command;
    this.code = failure.code;
    this.signal = failure.signal;
    this.timedOut = failure.timedOut;
    this.aborted = failure.aborted ?? false;
    this.durationMs = failure.durationMs;
    this.stderrTail = failure.stderrTail;
    this.stdoutTail = failure.stdoutTail;
  }
}

/**
 * The error for a command that was never started because `signal` had already aborted.
 *
 * @param command the argument array
 * @param signal the aborted signal
 * @returns a {@linkcode CommandError} with `aborted` set and code -1
 */
export function notStarted(command: readonly string[], signal: AbortSignal): CommandError {
  return new CommandError(command, {
    code: -1,
    signal: null,
    timedOut: false,
    aborted: true,
    durationMs: 0,
    stderrTail: "",
    stdoutTail: "",
    reason: abortReason(signal),
    cause: signal.reason,
  });
}
