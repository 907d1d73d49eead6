/**
 * The one process runner: every child process — ip, iptables and nft, CNI delegate plugins, etcd, agents,
 * upstream flanneld, tcpdump, iperf3 — goes through here, with argument arrays (never shell strings), a
 * timeout, an abort signal, SIGTERM then SIGKILL after a grace period, and bounded output tails in errors. It
 * lives under `cli/` because both the agent and the harness use it, and the agent must not import `harness/`.
 *
 * - `run.ts`: {@linkcode run}, a short command run to completion, its output collected. Self-contained, so the
 *   CNI plugin (one process start per pod) imports that file alone rather than this door
 * - `spawn.ts`: {@linkcode spawn}, a long-running child held by a {@linkcode Process} handle, output to a log
 * - `detached.ts`: {@linkcode spawnDetached}, a lab process that outlives the command that started it, found
 *   again from its pid and start time and stopped by process group
 * - `command_error.ts`: {@linkcode CommandError}, what callers catch
 * - internal: `_command.ts` (argument array to `Deno.Command`), `_terminate.ts` (TERM then KILL, abort wiring)
 *
 * @example Running a command with a deadline
 * ```ts
 * import { CommandError, run } from "./mod.ts";
 * const error = await run(["sleep", "5"], { timeoutMs: 50 }).catch((e) => e);
 * error instanceof CommandError && error.timedOut; // true
 * ```
 *
 * @module
 */
export { run, type RunOptions, type RunResult } from "./run.ts";
export { type Process, spawn, type SpawnOptions } from "./spawn.ts";
export {
  attachDetached,
  type Detached,
  type DetachedRef,
  isAlive,
  spawnDetached,
  type SpawnDetachedOptions,
  stopDetached,
  type StopDetachedOptions,
} from "./detached.ts";
export { CommandError, type CommandFailure, TAIL_CHARS } from "./command_error.ts";
