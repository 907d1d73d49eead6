/**
 * Long-running lab processes (etcd, agents) started detached, so that `up` can return and leave the cluster
 * running: each runs in a session and process group of its own (`setsid`), with stdin from /dev/null and
 * stdout/stderr appended to a log file in the lab directory by the shell, not pumped by us. A process is known
 * by its pid plus its start time (field 22 of /proc/PID/stat), so a recycled pid is never mistaken for it and
 * `down` can stop what an earlier, possibly crashed, command started. Stopping uses the runner's own TERM then
 * KILL, sent to the whole process group and watched through /proc.
 *
 * @module
 */
import { notStarted } from "./command_error.ts";
import { toCommand } from "./_command.ts";
import { type Killable, sleep, terminate } from "./_terminate.ts";

/** What identifies a detached process across commands (stored in the lab's state file). */
export interface DetachedRef {
  readonly pid: number;
  /** Start time in clock ticks since boot (/proc/PID/stat field 22). */
  readonly startTime: string;
  readonly command: readonly string[];
  readonly logFile: string;
}

/** A detached process: its reference plus stop/alive. */
export interface Detached extends DetachedRef {
  /** Whether it still runs (and is the same process). */
  alive(): Promise<boolean>;
  /** Sends `signal` to its process group, then SIGKILL after `graceMs`; resolves when it is gone. */
  stop(signal?: Deno.Signal, graceMs?: number): Promise<void>;
}

/** How long `stopDetached` waits for a process group that got SIGKILL before giving up on it. */
const KILL_WAIT_MS = 3000;
/** How often /proc is read while waiting for a detached process. */
const POLL_MS = 20;

function stat(pid: number): string[] | undefined {
  try {
    const text = Deno.readTextFileSync(`/proc/${pid}/stat`);
    // The command name (field 2) may hold spaces: split after its closing parenthesis.
    const close = text.lastIndexOf(")");
    return [String(pid), text.slice(text.indexOf("(") + 1, close), ...text.slice(close + 2).split(" ")];
  } catch {
    return undefined;
  }
}

/**
 * Whether `pid` runs and started at `startTime` (a zombie counts as gone).
 *
 * @param ref pid and start time
 * @returns true while that very process runs
 * @example The current process is alive
 * ```ts
 * import { isAlive } from "./detached.ts";
 * isAlive({ pid: Deno.pid, startTime: "0" }); // false: same pid, other start time
 * ```
 */
export function isAlive(ref: Pick<DetachedRef, "pid" | "startTime">): boolean {
  const f = stat(ref.pid);
  return f !== undefined && f[2] !== "Z" && f[21] === ref.startTime;
}

function signalGroup(pid: number, signal: Deno.Signal): void {
  try {
    Deno.kill(-pid, signal);
  } catch {
    try {
      Deno.kill(pid, signal);
    } catch { /* gone */ }
  }
}

/** The {@linkcode Killable} view of a detached process: its process group is signalled, /proc is polled. */
function killableGroup(ref: Pick<DetachedRef, "pid" | "startTime">): Killable {
  return {
    kill: (signal) => signalGroup(ref.pid, signal),
    async gone(cancel) {
      while (isAlive(ref) && !cancel.aborted) await sleep(POLL_MS);
    },
  };
}

/** Options of {@linkcode stopDetached}. */
export interface StopDetachedOptions {
  /** The first signal (default SIGTERM). */
  readonly signal?: Deno.Signal | undefined;
  /** How long to wait before SIGKILL (default 5000 ms). */
  readonly graceMs?: number | undefined;
}

/**
 * Stops a detached process (and its process group): `signal`, then SIGKILL after `graceMs`. A process that is
 * already gone (or whose pid now belongs to another process) is left alone.
 *
 * @param ref the process
 * @param options first signal and grace period
 */
export async function stopDetached(
  ref: Pick<DetachedRef, "pid" | "startTime">,
  options: StopDetachedOptions = {},
): Promise<void> {
  if (!isAlive(ref)) return;
  await terminate(killableGroup(ref), {
    signal: options.signal ?? "SIGTERM",
    graceMs: options.graceMs ?? 5000,
    killWaitMs: KILL_WAIT_MS,
  });
}

/**
 * Wraps a stored reference with alive/stop.
 *
 * @param ref a reference read back from the lab's state file
 * @returns the process, ready to be stopped
 */
export function attachDetached(ref: DetachedRef): Detached {
  return {
    ...ref,
    alive: () => Promise.resolve(isAlive(ref)),
    stop: (signal, graceMs) => stopDetached(ref, { signal, graceMs }),
  };
}

/** Options of {@linkcode spawnDetached}. */
export interface SpawnDetachedOptions {
  /** The file that receives stdout and stderr (appended). */
  readonly logFile: string;
  readonly env?: Readonly<Record<string, string>>;
  /**
   * An already aborted signal rejects with a {@linkcode CommandError} without starting anything. The process,
   * once started, outlives us by design: the signal is not watched after that.
   */
  readonly signal?: AbortSignal;
}

/**
 * Starts `command` detached, its output appended to `logFile`.
 *
 * @param command argument array (no shell parsing of its words: they are passed as "$@")
 * @param options the log file, extra environment and abort signal
 * @returns the running process
 * @throws {CommandError} when `options.signal` has already aborted
 */
export async function spawnDetached(
  command: readonly string[],
  options: SpawnDetachedOptions,
): Promise<Detached> {
  if (!command.length) throw new TypeError("spawnDetached() needs a command");
  const { signal } = options;
  if (signal?.aborted) throw notStarted(command, signal);
  // `exec setsid` from a shell that is not a process-group leader execs in place: the pid we get is the
  // command's, and it leads its own session and process group.
  const child = toCommand(
    "spawnDetached",
    ["sh", "-c", 'exec setsid "$@" >>"$FLANNEL_LAB_LOG" 2>&1 </dev/null', "sh", ...command],
    {
      env: { ...options.env, FLANNEL_LAB_LOG: options.logFile },
      stdin: "null",
      stdout: "null",
      stderr: "null",
    },
  ).spawn();
  child.status.catch(() => {}); // reaped by us while we live, by init after
  child.unref();
  let f: string[] | undefined;
  for (let i = 0; i < 100 && !(f = stat(child.pid)); i++) await sleep(5);
  const ref: DetachedRef = { pid: child.pid, startTime: f?.[21] ?? "?", command, logFile: options.logFile };
  return attachDetached(ref);
}
