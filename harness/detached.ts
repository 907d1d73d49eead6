/**
 * Long-running lab processes (etcd, agents) started detached, so that `up` can return and leave the cluster
 * running: each runs in a session and process group of its own (`setsid`), with stdin from /dev/null and
 * stdout/stderr appended to a log file in the lab directory by the shell, not pumped by us. A process is known
 * by its pid plus its start time (field 22 of /proc/PID/stat), so a recycled pid is never mistaken for it and
 * `down` can stop what an earlier, possibly crashed, command started.
 *
 * @module
 */

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

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

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

/**
 * Stops a detached process (and its process group): `signal`, then SIGKILL after `graceMs`.
 *
 * @param ref the process
 * @param signal first signal (default SIGTERM)
 * @param graceMs how long to wait before SIGKILL (default 5000)
 */
export async function stopDetached(
  ref: Pick<DetachedRef, "pid" | "startTime">,
  signal: Deno.Signal = "SIGTERM",
  graceMs = 5000,
): Promise<void> {
  if (!isAlive(ref)) return;
  signalGroup(ref.pid, signal);
  const deadline = Date.now() + graceMs;
  while (isAlive(ref)) {
    if (Date.now() > deadline) {
      signalGroup(ref.pid, "SIGKILL");
      const hard = Date.now() + 3000;
      while (isAlive(ref) && Date.now() < hard) await sleep(20);
      return;
    }
    await sleep(20);
  }
}

/** Wraps a stored reference with alive/stop. */
export function attachDetached(ref: DetachedRef): Detached {
  return {
    ...ref,
    alive: () => Promise.resolve(isAlive(ref)),
    stop: (signal, graceMs) => stopDetached(ref, signal, graceMs),
  };
}

/**
 * Starts `command` detached, its output appended to `logFile`.
 *
 * @param command argument array (no shell parsing of its words: they are passed as "$@")
 * @param options the log file and extra environment
 * @returns the running process
 */
export async function spawnDetached(
  command: readonly string[],
  options: { readonly logFile: string; readonly env?: Readonly<Record<string, string>> },
): Promise<Detached> {
  if (!command.length) throw new TypeError("spawnDetached() needs a command");
  // `exec setsid` from a shell that is not a process-group leader execs in place: the pid we get is the
  // command's, and it leads its own session and process group.
  const child = new Deno.Command("sh", {
    args: ["-c", 'exec setsid "$@" >>"$FLANNEL_LAB_LOG" 2>&1 </dev/null', "sh", ...command],
    env: { ...options.env, FLANNEL_LAB_LOG: options.logFile },
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  child.status.catch(() => {}); // reaped by us while we live, by init after
  child.unref();
  let f: string[] | undefined;
  for (let i = 0; i < 100 && !(f = stat(child.pid)); i++) await sleep(5);
  const ref: DetachedRef = { pid: child.pid, startTime: f?.[21] ?? "?", command, logFile: options.logFile };
  return attachDetached(ref);
}
