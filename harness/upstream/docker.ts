/**
 * The Docker engine for the containerlab runtime: Debian's docker.io (dockerd 20.10, its containerd and runc),
 * started by hand when no daemon answers (this machine has no init system that would), and stopped again by
 * whoever started it.
 *
 * Only what our own steps installed is used: `/usr/sbin/dockerd` and `/usr/bin/docker` from docker.io, never a
 * `docker` that happens to come first on PATH (this machine has an unrelated /usr/local/bin/docker).
 *
 * @module
 */
import { run } from "../../cli/process/mod.ts";
import { ensureDebianPackages, missingDebianPackages } from "./debian.ts";
import { ToolError } from "./errors.ts";
import { lastLines } from "../../cli/text.ts";
import { type ToolPaths, toolPaths } from "./paths.ts";
import { withLock } from "./recipe.ts";

/** The Debian packages of the engine. */
export const DOCKER_PACKAGES: readonly string[] = ["docker.io"];
/** The daemon docker.io installs. */
export const DOCKERD = "/usr/sbin/dockerd";
/** The client docker.io installs (API-matched with its daemon). */
export const DOCKER = "/usr/bin/docker";
/** The socket the daemon listens on and containerlab talks to. */
export const DOCKER_SOCKET = "/var/run/docker.sock";

/** A Docker daemon that answers. Disposing it stops it only when it was started here. */
export interface Dockerd extends AsyncDisposable {
  /** The daemon's version (`20.10.24+dfsg1`). */
  readonly version: string;
  /** Whether this call started it (false: one was already answering). */
  readonly startedHere: boolean;
  /** The pid of the daemon this call started. */
  readonly pid: number | undefined;
  /** Its log (stdout and stderr), when started here. */
  readonly logFile: string | undefined;
  /** Stops the daemon if this call started it; otherwise does nothing. */
  stop(): Promise<void>;
}

/** Options of {@linkcode ensureDockerd}. */
export interface DockerdOptions {
  readonly paths?: ToolPaths;
  readonly log?: (line: string) => void;
  /** How long to wait for a started daemon to answer (default 60 s). */
  readonly readyTimeoutMs?: number;
}

/** The version of the daemon answering on the socket, or `undefined` when none does. */
export async function dockerServerVersion(): Promise<string | undefined> {
  try {
    const r = await run([DOCKER, "version", "--format", "{{.Server.Version}}"], {
      check: false,
      timeoutMs: 15_000,
      env: { DOCKER_HOST: `unix://${DOCKER_SOCKET}` },
    });
    return r.code === 0 && r.stdout.trim() ? r.stdout.trim() : undefined;
  } catch {
    return undefined; // no client yet
  }
}

function pidFile(paths: ToolPaths): string {
  return `${paths.state}/dockerd.pid`;
}

function logFileOf(paths: ToolPaths): string {
  return `${paths.state}/dockerd.log`;
}

/** The command line of a process, or `undefined` when it is gone. */
async function cmdline(pid: number): Promise<string[] | undefined> {
  try {
    // A zombie (exited, not yet reaped by a PID 1 that may never reap) has an empty cmdline: gone for us.
    const argv = (await Deno.readTextFile(`/proc/${pid}/cmdline`)).split("\0").filter(Boolean);
    return argv.length > 0 ? argv : undefined;
  } catch {
    return undefined;
  }
}

/** The pids of running dockerd processes. */
async function dockerdPids(): Promise<number[]> {
  const pids: number[] = [];
  for await (const entry of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    const argv = await cmdline(Number(entry.name));
    if (argv?.[0] === DOCKERD || argv?.[0]?.endsWith("/dockerd") || argv?.[0] === "dockerd") {
      pids.push(Number(entry.name));
    }
  }
  return pids;
}

/** The pid of the dockerd this project started (its pid file names a live dockerd with our pid file). */
async function ourDockerdPid(paths: ToolPaths): Promise<number | undefined> {
  let pid: number;
  try {
    pid = Number((await Deno.readTextFile(pidFile(paths))).trim());
  } catch {
    return undefined;
  }
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  const argv = await cmdline(pid);
  return argv?.[0] === DOCKERD && argv.includes(pidFile(paths)) ? pid : undefined;
}

/**
 * Makes sure a Docker daemon answers on /var/run/docker.sock: installs docker.io if needed and, when no daemon
 * answers, starts `/usr/sbin/dockerd` in its own session (it outlives this process; its log and pid file are in
 * `.tools/state/`). Its own containerd comes with it. The daemon creates its docker0 bridge and iptables chains,
 * the only changes to the main namespace it makes.
 *
 * @returns the daemon; `stop()` / dispose stops it only when this call started it
 * @throws {ToolError} when docker.io cannot be installed or the daemon does not come up (with its log tail)
 * @example
 * ```ts ignore
 * import { ensureDockerd } from "./docker.ts";
 * await using dockerd = await ensureDockerd();
 * // … deploy labs; dockerd stops at the end of the scope if it was started here
 * ```
 */
export async function ensureDockerd(options: DockerdOptions = {}): Promise<Dockerd> {
  const paths = options.paths ?? toolPaths();
  const log = options.log ?? (() => {});
  try {
    await ensureDebianPackages(DOCKER_PACKAGES, { log });
  } catch (e) {
    throw new ToolError(
      "docker",
      `Cannot install Debian's docker.io: ${e instanceof Error ? e.message : e}`,
      {
        cause: e,
      },
    );
  }
  const running = await dockerServerVersion();
  if (running) return answering(running);

  return await withLock(paths.state, "dockerd", async () => {
    const again = await dockerServerVersion();
    if (again) return answering(again);
    const others = await dockerdPids();
    if (others.length > 0) {
      throw new ToolError(
        "docker",
        `Cannot start dockerd: a dockerd (pid ${
          others.join(", ")
        }) runs but does not answer on ${DOCKER_SOCKET}`,
        { hint: `stop it (kill ${others.join(" ")}) or look at its log; ${logFileOf(paths)} if it was ours` },
      );
    }
    const logFile = logFileOf(paths);
    await Deno.writeTextFile(logFile, `--- ${new Date().toISOString()} starting ${DOCKERD}\n`, {
      append: true,
    });
    log(`starting ${DOCKERD} (log: ${logFile})`);
    // setsid -f: the daemon gets its own session and outlives us, with its output in the log, not a pipe that
    // would break when this process exits. "$0" is the log file; the command comes as "$@", never as text.
    await run([
      "sh",
      "-c",
      'exec setsid -f "$@" >>"$0" 2>&1 </dev/null',
      logFile,
      DOCKERD,
      "--pidfile",
      pidFile(paths),
      "--host",
      `unix://${DOCKER_SOCKET}`,
    ]);
    const deadline = Date.now() + (options.readyTimeoutMs ?? 60_000);
    let pid: number | undefined;
    for (;;) {
      pid ??= await ourDockerdPid(paths);
      const version = await dockerServerVersion();
      if (version && pid !== undefined) {
        log(`dockerd ${version} answers (pid ${pid})`);
        return startedHere(version, pid, logFile, paths);
      }
      const gone = (await dockerdPids()).length === 0;
      if (gone || Date.now() > deadline) {
        const tail = lastLines(await Deno.readTextFile(logFile).catch(() => ""), 20);
        if (pid !== undefined && !gone) await stopPid(pid);
        throw new ToolError(
          "docker",
          `Cannot start dockerd: it ${
            gone ? "exited" : "did not answer within the timeout"
          }; the end of ${logFile}:\n${tail}`,
          { hint: "read the log above; dockerd needs root, overlayfs or vfs, and iptables" },
        );
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  });
}

function answering(version: string): Dockerd {
  return {
    version,
    startedHere: false,
    pid: undefined,
    logFile: undefined,
    stop: () => Promise.resolve(),
    [Symbol.asyncDispose]: () => Promise.resolve(),
  };
}

function startedHere(version: string, pid: number, logFile: string, paths: ToolPaths): Dockerd {
  const stop = async () => {
    if ((await ourDockerdPid(paths)) === pid) await stopPid(pid);
  };
  return { version, startedHere: true, pid, logFile, stop, [Symbol.asyncDispose]: stop };
}

/** SIGTERM, wait up to 30 s (dockerd stops its containers first), then SIGKILL. */
async function stopPid(pid: number): Promise<void> {
  const alive = async () => (await cmdline(pid)) !== undefined;
  const signal = (s: Deno.Signal) => {
    try {
      Deno.kill(pid, s);
    } catch { /* gone */ }
  };
  signal("SIGTERM");
  const deadline = Date.now() + 30_000;
  while (await alive()) {
    if (Date.now() > deadline) {
      signal("SIGKILL");
      break;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * Stops the dockerd this project started (the one named by `.tools/state/dockerd.pid`), if it runs. A daemon
 * started by anyone else is left alone.
 *
 * @returns whether a daemon was stopped
 */
export async function stopDockerd(options: { paths?: ToolPaths } = {}): Promise<boolean> {
  const paths = options.paths ?? toolPaths();
  const pid = await ourDockerdPid(paths);
  if (pid === undefined) return false;
  await stopPid(pid);
  return true;
}

/** Whether docker.io is installed (daemon and client present). */
export async function dockerInstalled(): Promise<boolean> {
  return (await missingDebianPackages(DOCKER_PACKAGES)).length === 0;
}
