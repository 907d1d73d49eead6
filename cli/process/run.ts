/**
 * {@linkcode run}: a command run to completion, its output collected — the runner for short commands (ip,
 * iptables, nft, a CNI delegate plugin). Self-contained (it imports only this folder's primitives), so that
 * latency-sensitive entries such as the CNI plugin can import it without the rest of the package.
 *
 * A timeout or an aborted signal stops the child with SIGTERM, then SIGKILL after a grace period. Once a
 * stopped child has exited, its output is drained for a short while only: a grandchild that inherited the
 * pipes (and perhaps ignores TERM too) must not keep the caller waiting.
 *
 * @module
 */
import { CommandError, notStarted, tail } from "./command_error.ts";
import { toCommand } from "./_command.ts";
import { abortReason, killableChild, onAbort, settlesWithin, terminate } from "./_terminate.ts";

/** How long a stopped child's pipes may stay open after it exited (a grandchild may hold them). */
const DRAIN_MS = 500;

/** Options of {@linkcode run}. */
export interface RunOptions {
  /** Text written to the command's stdin (without it, stdin is /dev/null). */
  stdin?: string | Uint8Array;
  /** Stop the command (TERM, then KILL after `graceMs`) after this many milliseconds. */
  timeoutMs?: number;
  /**
   * Stop the command (TERM, then KILL after `graceMs`) when this aborts; the promise then rejects with a
   * {@linkcode CommandError} whose `aborted` is set and whose `cause` is the signal's reason, whatever `check`
   * says. An already aborted signal rejects without starting the command.
   */
  signal?: AbortSignal;
  /** How long a stopped command gets between SIGTERM and SIGKILL (default 2000 ms). */
  graceMs?: number;
  env?: Record<string, string>;
  /** Clear the environment before applying `env`. */
  clearEnv?: boolean;
  cwd?: string;
  /** Throw a {@linkcode CommandError} on a non-zero exit or a timeout (default true). */
  check?: boolean;
}

/** What a finished command produced. */
export interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly durationMs: number;
}

/**
 * Runs a command to completion and returns its output.
 *
 * @param command program and arguments (no shell parsing)
 * @param options stdin, timeout, abort signal, environment, and whether a failure throws
 * @returns exit code, stdout, stderr and duration
 * @throws {CommandError} on a non-zero exit or a timeout (with `check`, the default), and on an abort
 * @throws {TypeError} when `command` is empty
 * @example Running a command and reading its output
 * ```ts
 * import { run } from "./run.ts";
 * const { stdout } = await run(["sh", "-c", "echo hello"]);
 * stdout; // "hello\n"
 * ```
 * @example A failure carries the end of stderr
 * ```ts
 * import { CommandError } from "./command_error.ts";
 * import { run } from "./run.ts";
 * const error = await run(["sh", "-c", "echo nope >&2; exit 3"]).catch((e) => e);
 * error instanceof CommandError && error.code === 3 && error.stderrTail === "nope\n"; // true
 * ```
 */
export async function run(command: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const { signal } = options;
  const cmd = toCommand("run", command, {
    stdin: options.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
    env: options.env,
    clearEnv: options.clearEnv,
    cwd: options.cwd,
  });
  if (signal?.aborted) throw notStarted(command, signal);
  const started = performance.now();
  const child = cmd.spawn();
  const drain = new AbortController();
  // Collect before writing stdin: a child that prints while reading a large input must not block on us.
  const output = Promise.all([collect(child.stdout, drain.signal), collect(child.stderr, drain.signal)]);
  let stopped: "timeout" | "abort" | undefined;
  let stopping: Promise<unknown> = Promise.resolve();
  const stop = (why: "timeout" | "abort") => {
    if (stopped) return;
    stopped = why;
    stopping = terminate(killableChild(child), { graceMs: options.graceMs ?? 2000 })
      .then(() => child.status)
      .then(() => settlesWithin(output, DRAIN_MS))
      .then(() => drain.abort());
  };
  const timer = options.timeoutMs === undefined
    ? undefined
    : setTimeout(() => stop("timeout"), options.timeoutMs);
  let status: Deno.CommandStatus;
  let stdout: string;
  let stderr: string;
  try {
    using _ = onAbort(signal, () => stop("abort"));
    if (options.stdin !== undefined) await writeAll(child.stdin, options.stdin);
    [status, [stdout, stderr]] = await Promise.all([child.status, output]);
  } finally {
    clearTimeout(timer);
  }
  await stopping;
  const durationMs = Math.round(performance.now() - started);
  const failure = {
    code: status.code,
    signal: status.signal,
    timedOut: stopped === "timeout",
    durationMs,
    stderrTail: tail(stderr),
    stdoutTail: tail(stdout),
  };
  if (stopped === "abort" && signal) {
    throw new CommandError(command, {
      ...failure,
      aborted: true,
      reason: abortReason(signal),
      cause: signal.reason,
    });
  }
  if ((options.check ?? true) && (!status.success || stopped === "timeout")) {
    throw new CommandError(command, failure);
  }
  return { code: status.code, stdout, stderr, durationMs };
}

/** Writes `data` and closes the stream; a command that exits without reading stdin is judged by its exit code. */
async function writeAll(stream: WritableStream<Uint8Array>, data: string | Uint8Array): Promise<void> {
  const writer = stream.getWriter();
  await writer.write(typeof data === "string" ? new TextEncoder().encode(data) : data).catch(() => {});
  await writer.close().catch(() => {});
}

/** Reads `stream` to its end, or until `cancel` aborts; decodes UTF-8 as it goes. */
async function collect(stream: ReadableStream<Uint8Array>, cancel: AbortSignal): Promise<string> {
  const reader = stream.getReader();
  const decoder = new TextDecoder();
  let text = "";
  using _ = onAbort(cancel, () => void reader.cancel().catch(() => {}));
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
  } catch { /* cancelled mid-read: keep what arrived */ }
  return text + decoder.decode();
}
