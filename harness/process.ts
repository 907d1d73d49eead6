/**
 * The one process runner: every child process (ip, etcd, agents, tcpdump, iperf3) goes through here, with
 * argument arrays (never shell strings), a timeout, TERM then KILL, and bounded output tails in errors.
 *
 * @module
 */

const decoder = new TextDecoder();

/** How much of a failed command's output an error keeps. */
const TAIL_BYTES = 4096;

function tail(text: string): string {
  return text.length > TAIL_BYTES ? "…" + text.slice(-TAIL_BYTES) : text;
}

/** A command that failed: it exited non-zero, was killed, or timed out. */
export class CommandError extends Error {
  override name = "CommandError";
  constructor(
    readonly command: readonly string[],
    readonly code: number,
    readonly signal: Deno.Signal | null,
    readonly timedOut: boolean,
    readonly durationMs: number,
    readonly stderrTail: string,
    readonly stdoutTail: string,
  ) {
    const what = timedOut
      ? `timed out after ${durationMs} ms`
      : signal
      ? `was killed by ${signal}`
      : `exited ${code}`;
    const detail = stderrTail.trim() || stdoutTail.trim();
    super(`Command ${JSON.stringify(command.join(" "))} ${what}${detail ? `: ${detail}` : ""}`);
  }
}

/** Options of {@linkcode run}. */
export interface RunOptions {
  /** Text written to the command's stdin. */
  stdin?: string | Uint8Array;
  /** Kill the command (TERM, then KILL after 2 s) after this many milliseconds. */
  timeoutMs?: number;
  env?: Record<string, string>;
  /** Clear the environment before applying `env`. */
  clearEnv?: boolean;
  cwd?: string;
  /** Throw a {@linkcode CommandError} on a non-zero exit (default true). */
  check?: boolean;
}

/** What a finished command produced. */
export interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly durationMs: number;
}

/** Runs a command to completion and returns its output. */
export async function run(command: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const [program, ...args] = command;
  if (!program) throw new TypeError("run() needs a command");
  const started = performance.now();
  const child = new Deno.Command(program, {
    args,
    stdin: options.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
    ...(options.env ? { env: options.env } : {}),
    ...(options.clearEnv ? { clearEnv: true } : {}),
    ...(options.cwd ? { cwd: options.cwd } : {}),
  }).spawn();
  if (options.stdin !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(
      typeof options.stdin === "string" ? new TextEncoder().encode(options.stdin) : options.stdin,
    )
      .catch(() => {}); // a command that exits without reading stdin is judged by its exit code
    await writer.close().catch(() => {});
  }
  let timedOut = false;
  let killTimer: ReturnType<typeof setTimeout> | undefined;
  const timer = options.timeoutMs === undefined ? undefined : setTimeout(() => {
    timedOut = true;
    try {
      child.kill("SIGTERM");
      killTimer = setTimeout(() => {
        try {
          child.kill("SIGKILL");
        } catch { /* already gone */ }
      }, 2000);
    } catch { /* already gone */ }
  }, options.timeoutMs);
  const out = await child.output();
  clearTimeout(timer);
  clearTimeout(killTimer);
  const durationMs = Math.round(performance.now() - started);
  const stdout = decoder.decode(out.stdout);
  const stderr = decoder.decode(out.stderr);
  if ((options.check ?? true) && (!out.success || timedOut)) {
    throw new CommandError(command, out.code, out.signal, timedOut, durationMs, tail(stderr), tail(stdout));
  }
  return { code: out.code, stdout, stderr, durationMs };
}

/** Options of {@linkcode spawn}. */
export interface SpawnOptions {
  env?: Record<string, string>;
  cwd?: string;
  /** A file that receives stdout and stderr (appended). Without it the output is discarded. */
  logFile?: string;
  /** How long `stop()` waits after SIGTERM before SIGKILL (default 3000 ms). */
  graceMs?: number;
}

/** A long-running child process (etcd, an agent). Dispose it to stop it. */
export interface Process extends AsyncDisposable {
  readonly pid: number;
  readonly command: readonly string[];
  /** Resolves when the process exits. */
  readonly status: Promise<Deno.CommandStatus>;
  /** Sends a signal; a process that is already gone is not an error. */
  kill(signal?: Deno.Signal): void;
  /** SIGTERM (or `signal`), then SIGKILL after the grace period; resolves with the exit status. */
  stop(signal?: Deno.Signal): Promise<Deno.CommandStatus>;
}

/** Starts a long-running process whose output goes to `logFile`. */
export async function spawn(command: readonly string[], options: SpawnOptions = {}): Promise<Process> {
  const [program, ...args] = command;
  if (!program) throw new TypeError("spawn() needs a command");
  let log: Deno.FsFile | undefined;
  if (options.logFile) log = await Deno.open(options.logFile, { create: true, append: true });
  const child = new Deno.Command(program, {
    args,
    stdin: "null",
    stdout: log ? "piped" : "null",
    stderr: log ? "piped" : "null",
    ...(options.env ? { env: options.env } : {}),
    ...(options.cwd ? { cwd: options.cwd } : {}),
  }).spawn();
  const pumps: Promise<void>[] = [];
  if (log) {
    const sink = log;
    const pump = async (stream: ReadableStream<Uint8Array>) => {
      for await (const chunk of stream) await sink.write(chunk).catch(() => {});
    };
    pumps.push(pump(child.stdout), pump(child.stderr));
  }
  const status = child.status.then(async (s) => {
    await Promise.allSettled(pumps);
    log?.close();
    return s;
  });
  const kill = (signal: Deno.Signal = "SIGTERM") => {
    try {
      child.kill(signal);
    } catch { /* already exited */ }
  };
  const stop = async (signal: Deno.Signal = "SIGTERM") => {
    kill(signal);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const killed = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        kill("SIGKILL");
        resolve();
      }, options.graceMs ?? 3000);
    });
    await Promise.race([status, killed]);
    clearTimeout(timer);
    return await status;
  };
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
