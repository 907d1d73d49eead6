/**
 * Recipe hashes, stamps and install locks: a tool is rebuilt only when its recipe changed, and two processes
 * never build the same tool at once.
 *
 * @module
 */

/**
 * The SHA-256 of some text, in hex.
 *
 * @param parts texts hashed in order, each length-prefixed so that ["ab", "c"] and ["a", "bc"] differ
 * @returns 64 hex digits
 * @example
 * ```ts
 * import { sha256Hex } from "./recipe.ts";
 * const hash = await sha256Hex(["go.mod text", "go.sum text"]);
 * ```
 */
export async function sha256Hex(parts: readonly string[]): Promise<string> {
  const text = parts.map((p) => `${p.length}:${p}`).join("\n");
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** What was built, from which recipe, and how long it took. Stored as JSON beside the artefact. */
export interface Stamp {
  readonly recipe: string;
  readonly version: string;
  readonly builtAt: string;
  readonly buildMs: number;
}

/** Reads a stamp; a missing or unreadable one is `undefined`. */
export async function readStamp(path: string): Promise<Stamp | undefined> {
  try {
    const value = JSON.parse(await Deno.readTextFile(path)) as Partial<Stamp>;
    if (typeof value.recipe !== "string" || typeof value.version !== "string") return undefined;
    return {
      recipe: value.recipe,
      version: value.version,
      builtAt: String(value.builtAt ?? ""),
      buildMs: Number(value.buildMs ?? 0),
    };
  } catch {
    return undefined;
  }
}

/** Writes a stamp atomically (temporary file, then rename). */
export async function writeStamp(path: string, stamp: Stamp): Promise<void> {
  const tmp = `${path}.tmp-${Deno.pid}`;
  await Deno.writeTextFile(tmp, JSON.stringify(stamp, null, 2) + "\n");
  await Deno.rename(tmp, path);
}

/**
 * Runs `fn` holding an exclusive lock on `<stateDir>/<name>.lock`, so that concurrent installs of one tool
 * (two test files, a test and the CLI) wait for each other instead of building twice into the same place.
 */
export async function withLock<T>(stateDir: string, name: string, fn: () => Promise<T>): Promise<T> {
  await Deno.mkdir(stateDir, { recursive: true });
  const file = await Deno.open(`${stateDir}/${name}.lock`, { create: true, write: true });
  try {
    await file.lock(true);
    return await fn();
  } finally {
    file.close(); // closing releases the lock
  }
}

/** Whether a path exists. */
export async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

/**
 * Finds a program on PATH, then in `extraDirs`.
 *
 * @returns its absolute path, or `undefined`
 */
export async function findProgram(
  name: string,
  extraDirs: readonly string[] = [],
): Promise<string | undefined> {
  const dirs = [...(Deno.env.get("PATH") ?? "").split(":").filter(Boolean), ...extraDirs];
  for (const dir of dirs) {
    try {
      const info = await Deno.stat(`${dir}/${name}`);
      if (info.isFile && ((info.mode ?? 0) & 0o111) !== 0) return `${dir}/${name}`;
    } catch { /* not here */ }
  }
  return undefined;
}
