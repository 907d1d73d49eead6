/**
 * The real {@linkcode PluginIo}: stdin, the saved-configuration files, and running the delegate plugin found in
 * CNI_PATH with our environment (through the shared process runner, `cli/process/run.ts`). Thin: no decisions
 * here.
 *
 * @module
 */
// run.ts alone, not the cli/process door: each ADD is a process start, so the plugin loads no more than it uses.
import { run, type RunResult } from "../../cli/process/run.ts";
import { CniError, ErrorCode } from "./errors.ts";
import type { ExecResult, PluginIo } from "./plugin_io.ts";

const encoder = new TextEncoder();

function ioError(action: string, path: string, e: unknown, hint = ""): CniError {
  return new CniError(ErrorCode.IoFailure, `failed to ${action} ${path}: ${(e as Error).message}`, hint);
}

function dirname(path: string): string {
  const i = path.lastIndexOf("/");
  return i <= 0 ? (i === 0 ? "/" : ".") : path.slice(0, i);
}

/** Writes all of `data` to stderr. */
function writeStderr(line: string): void {
  const bytes = encoder.encode(line.endsWith("\n") ? line : line + "\n");
  let off = 0;
  while (off < bytes.length) off += Deno.stderr.writeSync(bytes.subarray(off));
}

async function writeFileAtomic(path: string, text: string): Promise<void> {
  const dir = dirname(path);
  const base = path.slice(dir.length + 1);
  const hint = 'check that the flannel "dataDir" is writable';
  try {
    await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  } catch (e) {
    throw ioError("create", dir, e, hint);
  }
  const tmp = `${dir}/.${base}.${crypto.randomUUID().slice(0, 8)}.tmp`;
  try {
    const file = await Deno.open(tmp, { write: true, createNew: true, mode: 0o600 });
    try {
      const bytes = encoder.encode(text);
      let off = 0;
      while (off < bytes.length) off += await file.write(bytes.subarray(off));
      await file.syncData();
    } finally {
      file.close();
    }
    await Deno.rename(tmp, path);
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    throw ioError("save the delegate configuration to", path, e, hint);
  }
}

async function exec(
  program: string,
  options: { stdin: string; env: Record<string, string> },
): Promise<ExecResult> {
  let out: RunResult;
  try {
    // No timeout, like libcni: the container runtime bounds the whole ADD. A non-zero exit is the delegate's
    // answer (its CNI error is on stdout), not ours to throw; only failing to start it is.
    out = await run([program], { stdin: options.stdin, env: options.env, check: false });
  } catch (e) {
    throw new CniError(
      ErrorCode.Internal,
      `failed to run the delegate plugin ${program}: ${(e as Error).message}`,
    );
  }
  if (out.stderr) writeStderr(out.stderr); // the delegate's diagnostics reach the runtime's log, as with libcni
  return { code: out.code, stdout: out.stdout, stderr: out.stderr };
}

/**
 * The plugin's I/O on the real system.
 *
 * @returns a {@linkcode PluginIo} backed by Deno's APIs
 */
export function denoIo(): PluginIo {
  return {
    getenv: (name) => Deno.env.get(name),
    readStdin: () => new Response(Deno.stdin.readable).text(),
    async readFile(path) {
      try {
        return await Deno.readTextFile(path);
      } catch (e) {
        if (e instanceof Deno.errors.NotFound) return undefined;
        throw e;
      }
    },
    writeFile: writeFileAtomic,
    async removeFile(path) {
      try {
        await Deno.remove(path);
      } catch (e) {
        if (!(e instanceof Deno.errors.NotFound)) throw ioError("remove", path, e);
      }
    },
    async listDir(path) {
      const names: string[] = [];
      try {
        for await (const entry of Deno.readDir(path)) names.push(entry.name);
      } catch (e) {
        if (e instanceof Deno.errors.NotFound) return [];
        throw ioError("list", path, e);
      }
      return names.sort();
    },
    async findInPath(name, path) {
      for (const dir of path.split(":")) {
        if (!dir) continue;
        const candidate = `${dir}/${name}`;
        try {
          if ((await Deno.stat(candidate)).isFile) return candidate;
        } catch { /* not here */ }
      }
      return undefined;
    },
    exec,
    log: writeStderr,
  };
}

/** Writes all of `text` to stdout (synchronously, so nothing is lost when the process exits right after). */
export function writeStdout(text: string): void {
  const bytes = encoder.encode(text);
  let off = 0;
  while (off < bytes.length) off += Deno.stdout.writeSync(bytes.subarray(off));
}
