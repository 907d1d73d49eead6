/**
 * Running iptables / nft for the firewall: a function-shaped seam, so unit tests can stand in for the tools and
 * integration tests can run them inside a throwaway namespace (`prefix: ["ip", "netns", "exec", ns]`). The real
 * runner is a thin adapter over the shared process runner (`cli/process`), which owns timeouts and TERM then KILL.
 *
 * @module
 */
import { run } from "../../cli/process/mod.ts";

/** What a finished command produced. */
export interface CommandOutput {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command (argument array, optional stdin) to completion; never throws for a non-zero exit. */
export type CommandRunner = (argv: readonly string[], stdin?: string) => Promise<CommandOutput>;

/** A firewall tool that failed. */
export class FirewallCommandError extends Error {
  override name = "FirewallCommandError";
  /**
   * @param command the command line
   * @param output what it printed and its exit code
   * @param input what was written to its stdin (kept for the log: the rules it refused)
   */
  constructor(readonly command: readonly string[], readonly output: CommandOutput, readonly input?: string) {
    super(
      `Failed to run ${JSON.stringify(command.join(" "))}: exit ${output.code}: ${
        (output.stderr.trim() || output.stdout.trim()).slice(-2000)
      }`,
    );
  }
}

/** Options of {@linkcode commandRunner}. */
export interface CommandRunnerOptions {
  /** Stop a command (TERM, then KILL) after this long (default 30 s). */
  readonly timeoutMs?: number;
  /** Stop a running command when this aborts (the runner then rejects with the runner's `CommandError`). */
  readonly signal?: AbortSignal;
}

/**
 * The real runner: the shared process runner (`cli/process`), with `prefix` prepended (tests:
 * `["ip", "netns", "exec", ns]`) and a timeout (iptables `--wait` can block behind another holder of the xtables
 * lock). A non-zero exit, or a command stopped by the timeout, is returned with its code, never thrown: callers
 * judge it ({@linkcode mustRun}).
 *
 * @param prefix words put before every command
 * @param options timeout and abort signal
 * @returns the runner
 * @example
 * ```ts ignore
 * const run = commandRunner(["ip", "netns", "exec", "lab1"]);
 * const { stdout } = await run(["iptables-save", "-t", "nat"]);
 * ```
 */
export function commandRunner(
  prefix: readonly string[] = [],
  options: CommandRunnerOptions = {},
): CommandRunner {
  const timeoutMs = options.timeoutMs ?? 30_000;
  return async (argv, stdin) => {
    const command = [...prefix, ...argv];
    if (!command.length) throw new TypeError("commandRunner needs a command");
    const { code, stdout, stderr } = await run(command, {
      check: false,
      timeoutMs,
      ...(stdin === undefined ? {} : { stdin }),
      ...(options.signal ? { signal: options.signal } : {}),
    });
    return { code, stdout, stderr };
  };
}

/**
 * Runs a command and throws {@linkcode FirewallCommandError} unless it exits 0.
 *
 * @param run the runner
 * @param argv the command
 * @param stdin its input
 * @returns its output
 */
export async function mustRun(
  run: CommandRunner,
  argv: readonly string[],
  stdin?: string,
): Promise<CommandOutput> {
  const out = await run(argv, stdin);
  if (out.code !== 0) throw new FirewallCommandError(argv, out, stdin);
  return out;
}
