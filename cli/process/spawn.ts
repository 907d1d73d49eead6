/**
 * {@linkcode spawn}: a long-running child (etcd, an agent, tcpdump, iperf3) held by a {@linkcode Process}
 * handle that stops it with SIGTERM, then SIGKILL after a grace period, and that `await using` disposes. Its
 * stdout and stderr are appended to a log file, or discarded.
 *
 * @module
 */
import { notStarted } from "./command_error.ts";
import { toCommand } from "./_command.ts";
import { killableChild, onAbort, settlesWithin, terminate } from "./_terminate.ts";

/** How long a stopped child's log pumps may run on after it exited (a grandchild may hold the pipes). */
const DRAIN_MS = 500;

/** Options of {@linkcode spawn}. */
export interface SpawnOptions {
  env?: Record<string, string>;
  cwd?: string;
  /** A file that receives stdout and stderr (appended). Without it the output is discarded. */
  logFile?: string;
  /** How long `stop()` waits after SIGTERM before SIGKILL (default 3000 ms). */
  graceMs?: number;
  /**
   * Stop the process (as `stop()` does) when this aborts; `status` then resolves with its exit status. An
   * already aborted signal makes `spawn` reject with a {@linkcode CommandError} without starting it.
   */
  signal?: AbortSignal;
}

/** A long-running child process (etcd, an agent). Dispose it to stop it. */
export interface Process extends AsyncDisposable {
  readonly pid: number;
  readonly command: readonly string[];
  /** Resolves when the process exits (and its output is in the log file). */
  readonly status: Promise<Deno.CommandStatus>;
  /** Sends a signal; a process that is already gone is not an error. */
  kill(signal?: Deno.Signal): void;
  /** SIGTERM (or `signal`), then SIGKILL after the grace period; resolves with the exit status. */
  stop(signal?: Deno.Signal): Promise<Deno.CommandStatus>;
}

/**
 * Starts a long-running process whose output goes to `logFile`.
 *
 * @param command program and arguments (no shell parsing)
 * @param options environment, log file, grace period and abort signal
 * @returns the running process
 * @throws {CommandError} when `options.signal` has already aborted
 * @example Holding a process for the length of a block
 * ```ts
 * import { spawn } from "./spawn.ts";
 * {
 *   await using sleeper = await spawn(["sleep", "30"]);
 *   sleeper.pid > 0; // true
 * } // stopped here: SIGTERM, then SIGKILL after the grace period
 * ```
 */
export async function spawn(command: readonly string[], options: SpawnOptions = {}): Promise<Process> {
  const { signal } = options;
  const cmd = toCommand("spawn", command, {
    stdin: "null",
    stdout: options.logFile ? "piped" : "null",
    stderr: options.logFile ? "piped" : "null",
    env: options.env,
    cwd: options.cwd,
  });
  if (signal?.aborted) throw notStarted(command, signal);
  const log = options.logFile ? await Deno.open(options.logFile, { create: true, append: true }) : undefined;
  let child: Deno.ChildProcess;
  try {
    child = cmd.spawn();
  } catch (e) {
    log?.close();
    throw e;
  }
  const drain = new AbortController();
  const pumps = log
    ? Promise.allSettled([pump(child.stdout, log, drain.signal), pump(child.stderr, log, drain.signal)])
    : Promise.resolve();
  let stopping = false;
  const status = child.status.then(async (s) => {
    // A child that exited by itself has its output drained fully; one we stopped, for a short while only.
    if (stopping && !(await settlesWithin(pumps, DRAIN_MS))) drain.abort();
    await pumps;
    log?.close();
    return s;
  });
  const target = killableChild(child);
  const kill = (sig: Deno.Signal = "SIGTERM") => target.kill(sig);
  const stop = async (sig: Deno.Signal = "SIGTERM") => {
    stopping = true;
    await terminate(target, { signal: sig, graceMs: options.graceMs ?? 3000 });
    return await status;
  };
  const aborted = onAbort(signal, () => void stop());
  const forget = () => aborted[Symbol.dispose]();
  status.then(forget, forget);
  return {
    pid: child.pid,
    command,
    status,
    kill,
    stop,
    async [Symbol.asyncDispose]() {
      await stop();
    },
  };
}

/** Appends everything `stream` yields to `sink`, until its end or until `cancel` aborts. */
async function pump(
  stream: ReadableStream<Uint8Array>,
  sink: Deno.FsFile,
  cancel: AbortSignal,
): Promise<void> {
  const reader = stream.getReader();
  using _ = onAbort(cancel, () => void reader.cancel().catch(() => {}));
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      try {
        for (let off = 0; off < value.length;) off += await sink.write(value.subarray(off));
      } catch { /* an unwritable log loses output; the pipe is still drained, so the child never blocks */ }
    }
  } catch { /* cancelled mid-read */ }
}
