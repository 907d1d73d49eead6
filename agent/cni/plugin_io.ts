/**
 * The plugin's seam to the outside world: every file, process and environment access of the commands goes
 * through a {@linkcode PluginIo}, so the command logic is tested without root with an in-memory one
 * (`plugin_test.ts`). `io.ts` has the real implementation.
 *
 * @module
 */

/** What running a delegate produced. */
export interface ExecResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Everything the plugin does to the outside world. `io.ts` has the real implementation. */
export interface PluginIo {
  /** Reads an environment variable. */
  getenv(name: string): string | undefined;
  /** Reads all of stdin. */
  readStdin(): Promise<string>;
  /** Reads a text file; `undefined` when it does not exist. */
  readFile(path: string): Promise<string | undefined>;
  /** Writes a file atomically (parent created 0700, file 0600, synced before the rename). */
  writeFile(path: string, text: string): Promise<void>;
  /** Removes a file; a missing file is not an error. */
  removeFile(path: string): Promise<void>;
  /** The names in a directory; none when it does not exist. */
  listDir(path: string): Promise<string[]>;
  /** The first regular file named `name` in the `:`-separated directories of `path`. */
  findInPath(name: string, path: string): Promise<string | undefined>;
  /** Runs a plugin with `stdin`, our environment plus `env`, no arguments. */
  exec(program: string, options: { stdin: string; env: Record<string, string> }): Promise<ExecResult>;
  /** Writes a diagnostic line to stderr. */
  log(line: string): void;
}
