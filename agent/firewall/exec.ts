/**
 * Running iptables / nft for the firewall: a function-shaped seam, so unit tests can stand in for the tools and
 * integration tests can run them inside a throwaway namespace (`prefix: ["ip", "netns", "exec", ns]`).
 *
 * @module
 */

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

const decoder = new TextDecoder();

/**
 * The real runner: `Deno.Command`, with `prefix` prepended (tests: `["ip", "netns", "exec", ns]`) and a timeout
 * (iptables `--wait` can block behind another holder of the xtables lock).
 *
 * @param prefix words put before every command
 * @param timeoutMs kill the command after this long
 * @returns the runner
 * @example
 * ```ts ignore
 * const run = commandRunner(["ip", "netns", "exec", "lab1"]);
 * const { stdout } = await run(["iptables-save", "-t", "nat"]);
 * ```
 */
export function commandRunner(prefix: readonly string[] = [], timeoutMs = 30_000): CommandRunner {
  return async (argv, stdin) => {
    const [program, ...args] = [...prefix, ...argv];
    if (!program) throw new TypeError("commandRunner needs a command");
    const child = new Deno.Command(program, {
      args,
      stdin: stdin === undefined ? "null" : "piped",
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(timeoutMs),
    }).spawn();
    if (stdin !== undefined) {
      const w = child.stdin.getWriter();
      await w.write(new TextEncoder().encode(stdin)).catch(() => {});
      await w.close().catch(() => {});
    }
    const out = await child.output();
    return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
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
