/**
 * Running the harness's processes INSIDE a container: in its mount, pid, network, UTS and IPC namespaces, so
 * `docker exec <container> ps -ef` lists them and they see the container's filesystem (its /etc, /run, its
 * iptables/nft). They are entered from the host with `nsenter -t <container's init pid>`, not `docker exec`:
 *
 * - the process stays a child of a host process the harness started, so it is known by its host pid and start
 *   time (a {@linkcode Detached}), exactly like the netns runtime's processes: `down` after a crash finds it
 *   from the state file, and a signal reaches it (killing a `docker exec` client does not stop what it runs);
 * - entering a pid namespace makes nsenter fork: the command is nsenter's only child, and that child — not
 *   nsenter, which dies on the first signal without passing it on — is what is tracked and signalled;
 * - everything still dies with the container: removing it kills every process of its pid namespace.
 *
 * The programs reach the container through bind mounts at their host paths (see `containerlab.ts`).
 *
 * @module
 */
import { UserError } from "../../cli/errors.ts";
import { attachDetached, type Detached, isAlive, spawnDetached } from "../../cli/process/mod.ts";
import type { RunOptions, RunResult } from "../../cli/process/mod.ts";
import type { Topology } from "../topology/model.ts";
import type { Runtime } from "./runtime.ts";

/** A runtime whose nodes have a filesystem and process table of their own (containers). */
export interface InsideRuntime extends Runtime {
  /**
   * Starts a long-running command detached inside a node (its filesystem, pid and network namespaces), output
   * appended to `logFile` (a path the node shares with the host).
   */
  startDetached(
    topo: Topology,
    node: string,
    command: readonly string[],
    options: { readonly logFile: string },
  ): Promise<Detached>;
  /** Runs a command inside a node with the node's own filesystem (like `docker exec`). */
  execInside(
    topo: Topology,
    node: string,
    command: readonly string[],
    options?: RunOptions,
  ): Promise<RunResult>;
}

/** Whether a runtime runs processes inside its nodes' own filesystems. Pure. */
export function isInsideRuntime(rt: Runtime): rt is InsideRuntime {
  const r = rt as Partial<InsideRuntime>;
  return typeof r.startDetached === "function" && typeof r.execInside === "function";
}

/**
 * The argument array that runs `command` inside the namespaces of process `pid` (a container's init). Pure.
 *
 * @param pid the container's init process, as the host sees it
 * @param command the command, resolved in the container's filesystem
 * @param env extra environment (`env K=V …` in front of the command)
 */
export function nsenterArgs(
  pid: number,
  command: readonly string[],
  env: Record<string, string> = {},
): string[] {
  const vars = Object.entries(env).map(([k, v]) => `${k}=${v}`);
  return [
    "nsenter",
    "-t",
    String(pid),
    "-m",
    "-u",
    "-i",
    "-n",
    "-p",
    "--",
    ...(vars.length ? ["env", ...vars] : []),
    ...command,
  ];
}

/**
 * The argument array that runs `command` (a host program) in a network namespace the container keeps bound at
 * `/run/netns/<name>` in its own filesystem (a pod's), reached through `/proc/<pid>/root`. Pure. No fork: the
 * pid of the spawned process is the command's, so stopping it stops the command.
 */
export function podNetnsArgs(pid: number, netns: string, command: readonly string[]): string[] {
  return ["nsenter", `--net=/proc/${pid}/root/run/netns/${netns}`, "--", ...command];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function startTimeOf(pid: number): string | undefined {
  try {
    const text = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return text.slice(text.lastIndexOf(")") + 2).split(" ")[19];
  } catch {
    return undefined;
  }
}

function childrenOf(pid: number): number[] {
  try {
    return Deno.readTextFileSync(`/proc/${pid}/task/${pid}/children`).split(/\s+/).filter(Boolean).map(
      Number,
    );
  } catch {
    return [];
  }
}

/**
 * Starts `command` detached inside the namespaces of `pid` and returns the command's own process.
 *
 * @param pid the container's init process
 * @param command the command (resolved inside the container)
 * @param options the log file (shared with the container) and extra environment
 */
export async function spawnInside(
  pid: number,
  command: readonly string[],
  options: { readonly logFile: string; readonly env?: Record<string, string> },
): Promise<Detached> {
  const outer = await spawnDetached(nsenterArgs(pid, command, options.env), { logFile: options.logFile });
  const deadline = Date.now() + 15_000;
  for (;;) {
    const [child] = childrenOf(outer.pid);
    const startTime = child === undefined ? undefined : startTimeOf(child);
    if (child !== undefined && startTime !== undefined) {
      return attachDetached({ pid: child, startTime, command, logFile: options.logFile });
    }
    if (!isAlive(outer) || Date.now() > deadline) {
      await outer.stop("SIGKILL", 0);
      const log = await Deno.readTextFile(options.logFile).catch(() => "");
      throw new UserError(
        `could not start ${JSON.stringify(command.join(" "))} inside the container (pid ${pid}): ${
          log.trim().split("\n").slice(-5).join("\n")
        }`,
      );
    }
    await sleep(2);
  }
}
