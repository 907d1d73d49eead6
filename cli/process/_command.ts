/**
 * Turning an argument array into a `Deno.Command`: the one place that checks there is a program and maps our
 * option names onto Deno's, so that `run`, `spawn` and `spawnDetached` start children the same way. Argument
 * arrays only: nothing here parses a shell string.
 *
 * @module
 */

/** How a child is started. */
export interface CommandSpec {
  readonly env?: Readonly<Record<string, string>> | undefined;
  /** Clear the environment before applying `env`. */
  readonly clearEnv?: boolean | undefined;
  readonly cwd?: string | undefined;
  readonly stdin: "piped" | "null";
  readonly stdout: "piped" | "null";
  readonly stderr: "piped" | "null";
}

/**
 * The `Deno.Command` for `argv`.
 *
 * @param caller the public function's name, for the error on an empty command
 * @param argv program and arguments
 * @param spec environment, directory and streams
 * @returns the command, not yet spawned
 * @throws {TypeError} when `argv` is empty
 */
export function toCommand(caller: string, argv: readonly string[], spec: CommandSpec): Deno.Command {
  const [program, ...args] = argv;
  if (!program) throw new TypeError(`${caller}() needs a command`);
  return new Deno.Command(program, {
    args,
    stdin: spec.stdin,
    stdout: spec.stdout,
    stderr: spec.stderr,
    ...(spec.env ? { env: { ...spec.env } } : {}),
    ...(spec.clearEnv ? { clearEnv: true } : {}),
    ...(spec.cwd ? { cwd: spec.cwd } : {}),
  });
}
