/**
 * Builds an upstream Go program from a small tools module of ours (`recipes/go/<tool>/go.mod` + `go.sum`) through
 * the Go module proxy, the way `go install pkg@version` would if the proxy answered the queries it makes.
 *
 * The build is nice'd and single-threaded (`GOMAXPROCS=1`, hence `-p 1`): colleagues run timing-sensitive tests
 * on this 2-core machine. A cold containerlab build takes about 1.5 minutes that way, flanneld about 2.5.
 *
 * @module
 */
import { CommandError, run } from "../../cli/process/mod.ts";
import { lastLines } from "../../cli/text.ts";
import { ToolError, type ToolName } from "./errors.ts";
import type { ToolPaths } from "./paths.ts";
import { findProgram, readStamp, sha256Hex, withLock, writeStamp } from "./recipe.ts";

/** Where Go is looked for after PATH (the official tarball's place). */
const GO_FALLBACK_DIRS = ["/usr/local/go/bin"];

/** Bump when the build steps change in a way the recipe files do not show. */
const BUILD_REVISION = "1";

/** How to build one Go tool. */
export interface GoToolSpec {
  readonly tool: ToolName;
  /** The binary name under `.tools/bin/`. */
  readonly binary: string;
  /** The module that holds the main package, e.g. `github.com/srl-labs/containerlab`. */
  readonly module: string;
  /** Its version, as required in the tools module's go.mod (`v0.79.0`). */
  readonly moduleVersion: string;
  /** The main package to build (often the module path itself). */
  readonly mainPackage: string;
  /** `recipes/go/<dir>` holding go.mod and go.sum. */
  readonly recipeDir: string;
  readonly cgo: boolean;
  readonly tags: readonly string[];
  readonly ldflags: string;
  /** Extra recipe text (a patch) that changes the build; part of the recipe hash. */
  readonly extraRecipe?: readonly string[];
  /** Arguments that print the version, e.g. `["-version"]`. */
  readonly versionArgs: readonly string[];
  /** Extracts the version from that output; `undefined` when it is not there. */
  readonly parseVersion: (output: string) => string | undefined;
  /** The version the binary must report. */
  readonly expectVersion: string;
  /**
   * Prepares the build directory before `go build` (e.g. a patched module copy) and returns extra go.mod lines
   * (e.g. a `replace`). Receives the build dir, the go binary and the environment for go commands.
   */
  readonly prepare?: (ctx: PrepareContext) => Promise<string[]>;
}

/** What {@linkcode GoToolSpec.prepare} gets. */
export interface PrepareContext {
  readonly buildDir: string;
  readonly go: string;
  readonly env: Record<string, string>;
  readonly log: (line: string) => void;
}

/** Options shared by the `ensure*` functions. */
export interface EnsureOptions {
  /** Paths (default: this repository's). */
  readonly paths?: ToolPaths;
  /** Progress lines (default: none). */
  readonly log?: (line: string) => void;
  /** Rebuild even when the installed tool is current. */
  readonly force?: boolean;
}

/** An installed test tool. */
export interface InstalledTool {
  readonly tool: ToolName;
  /** The binary. */
  readonly path: string;
  /** The version it reports. */
  readonly version: string;
  /** The recipe hash it was built from. */
  readonly recipe: string;
  /** Whether this call built it (false: it was already current). */
  readonly built: boolean;
  readonly durationMs: number;
}

/** Finds the go command, or throws a {@linkcode ToolError} that says how to get one. */
export async function findGo(tool: ToolName): Promise<string> {
  const go = await findProgram("go", GO_FALLBACK_DIRS);
  if (!go) {
    throw new ToolError(tool, `Cannot build ${tool}: no "go" command on PATH or in /usr/local/go/bin`, {
      hint: "install Go 1.26 or newer (the module needs it; Debian bookworm's golang is too old)",
    });
  }
  return go;
}

/** The recipe hash of a Go tool: its go.mod, go.sum, extra recipe text, build flags and the Go version. */
export async function goToolRecipe(spec: GoToolSpec, paths: ToolPaths, goVersion: string): Promise<string> {
  const dir = `${paths.recipes}/${spec.recipeDir}`;
  const [goMod, goSum] = await Promise.all([
    Deno.readTextFile(`${dir}/go.mod`),
    Deno.readTextFile(`${dir}/go.sum`),
  ]);
  return await sha256Hex([
    BUILD_REVISION,
    spec.tool,
    spec.module,
    spec.moduleVersion,
    goMod,
    goSum,
    ...(spec.extraRecipe ?? []),
    String(spec.cgo),
    spec.tags.join(","),
    spec.ldflags,
    goVersion,
  ]);
}

/** Runs the binary's version command; `undefined` when it fails or prints no version. */
export async function binaryVersion(spec: GoToolSpec, path: string): Promise<string | undefined> {
  try {
    const r = await run([path, ...spec.versionArgs], {
      check: false,
      timeoutMs: 20_000,
      env: { CLAB_VERSION_CHECK: "disable", NO_COLOR: "1" },
    });
    return spec.parseVersion(r.stdout + "\n" + r.stderr);
  } catch {
    return undefined; // not executable, wrong format …
  }
}

/** The Go version string (`go1.26.8`). */
export async function goVersionOf(go: string): Promise<string> {
  return (await run([go, "env", "GOVERSION"], { env: { GOTOOLCHAIN: "local" } })).stdout.trim();
}

/**
 * Builds the tool unless `.tools/bin/<binary>` is current (same recipe hash, reports the expected version).
 *
 * @throws {ToolError} when Go is missing, the recipe does not require the expected version, or the build fails
 */
export async function ensureGoTool(
  spec: GoToolSpec,
  options: EnsureOptions,
  paths: ToolPaths,
): Promise<InstalledTool> {
  const started = performance.now();
  const log = options.log ?? (() => {});
  const go = await findGo(spec.tool);
  const goVersion = await goVersionOf(go);
  const recipe = await goToolRecipe(spec, paths, goVersion);
  const binPath = `${paths.bin}/${spec.binary}`;
  const stampPath = `${binPath}.stamp.json`;

  const current = async () => {
    if (options.force) return false;
    const stamp = await readStamp(stampPath);
    if (stamp?.recipe !== recipe) return false;
    return (await binaryVersion(spec, binPath)) === spec.expectVersion;
  };
  const done = (built: boolean): InstalledTool => ({
    tool: spec.tool,
    path: binPath,
    version: spec.expectVersion,
    recipe,
    built,
    durationMs: Math.round(performance.now() - started),
  });
  if (await current()) return done(false);

  return await withLock(paths.state, spec.binary, async () => {
    if (await current()) return done(false); // someone else built it while we waited
    await checkRecipeRequires(spec, paths);
    const buildDir = `${paths.build}/${spec.binary}`;
    await Deno.remove(buildDir, { recursive: true }).catch(() => {});
    await Deno.mkdir(buildDir, { recursive: true });
    await Deno.mkdir(paths.bin, { recursive: true });
    const recipeDir = `${paths.recipes}/${spec.recipeDir}`;
    const goMod = await Deno.readTextFile(`${recipeDir}/go.mod`);
    await Deno.writeTextFile(`${buildDir}/go.mod`, goMod);
    await Deno.copyFile(`${recipeDir}/go.sum`, `${buildDir}/go.sum`);
    const env: Record<string, string> = {
      GOTOOLCHAIN: "local",
      GOWORK: "off",
      GOFLAGS: "-mod=mod -buildvcs=false -trimpath",
      GOMAXPROCS: "1",
      CGO_ENABLED: spec.cgo ? "1" : "0",
    };
    const extraLines = spec.prepare ? await spec.prepare({ buildDir, go, env, log }) : [];
    if (extraLines.length > 0) {
      await Deno.writeTextFile(`${buildDir}/go.mod`, goMod + "\n" + extraLines.join("\n") + "\n");
    }
    log(`building ${spec.tool} ${spec.moduleVersion} (${spec.mainPackage}) with ${goVersion}, nice'd, 1 CPU`);
    const tmpBin = `${binPath}.tmp-${Deno.pid}`;
    const buildStarted = performance.now();
    try {
      await run([
        "nice",
        "-n",
        "19",
        go,
        "build",
        ...(spec.tags.length > 0 ? ["-tags", spec.tags.join(",")] : []),
        "-ldflags",
        spec.ldflags,
        "-o",
        tmpBin,
        spec.mainPackage,
      ], { cwd: buildDir, env, timeoutMs: 45 * 60_000 });
    } catch (e) {
      await Deno.remove(tmpBin).catch(() => {});
      const detail = e instanceof CommandError ? lastLines(e.stderrTail, 15) : String(e);
      throw new ToolError(
        spec.tool,
        `Cannot build ${spec.tool} ${spec.moduleVersion}: go build failed:\n${detail}`,
        {
          cause: e,
          hint:
            `the build runs in ${buildDir}; the module proxy must serve every module in ${recipeDir}/go.sum`,
        },
      );
    }
    const buildMs = Math.round(performance.now() - buildStarted);
    const version = await binaryVersion(spec, tmpBin);
    if (version !== spec.expectVersion) {
      await Deno.remove(tmpBin).catch(() => {});
      throw new ToolError(
        spec.tool,
        `Cannot install ${spec.tool}: the built binary reports version ${JSON.stringify(version)}, not ${
          JSON.stringify(spec.expectVersion)
        }`,
      );
    }
    await Deno.rename(tmpBin, binPath);
    await writeStamp(stampPath, { recipe, version, builtAt: new Date().toISOString(), buildMs });
    log(`built ${binPath} in ${(buildMs / 1000).toFixed(1)} s`);
    return done(true);
  });
}

/** The tools module must require exactly the version we build and check: one source of truth, checked. */
async function checkRecipeRequires(spec: GoToolSpec, paths: ToolPaths): Promise<void> {
  const goMod = await Deno.readTextFile(`${paths.recipes}/${spec.recipeDir}/go.mod`);
  const escaped = spec.module.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  if (!new RegExp(`^\\s*(require\\s+)?${escaped}\\s+${spec.moduleVersion}\\s*$`, "m").test(goMod)) {
    throw new ToolError(
      spec.tool,
      `Cannot build ${spec.tool}: tools/${spec.recipeDir}/go.mod does not require ${spec.module} ${spec.moduleVersion}`,
      { hint: `keep tools/${spec.recipeDir}/go.mod and harness/upstream/${spec.binary}.ts in step` },
    );
  }
}
