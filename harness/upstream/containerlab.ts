/**
 * containerlab v0.79.0, built from its Go module with one small patch of ours.
 *
 * This kernel has no loadable-module support, so /proc/modules does not exist and containerlab's deploy aborts
 * on it. At install time the module is copied from the Go module cache into `.tools/build/containerlab/`, made
 * writable, and `recipes/patches/containerlab-v0.79.0-proc-modules.patch` is applied to the copy; the tools
 * module's go.mod gets a `replace` to it. The patched file's SHA-256 is checked before and after, so a module
 * whose text differs from the one the patch was written for fails loudly instead of building something else.
 * Nothing of containerlab lives in the repository.
 *
 * @module
 */
import { run } from "../../cli/process/mod.ts";
import { ToolError } from "./errors.ts";
import { ensureGoTool, type EnsureOptions, type GoToolSpec, type InstalledTool } from "./go_tool.ts";
import { lastLines } from "../../cli/text.ts";
import { type ToolPaths, toolPaths } from "./paths.ts";
import { findProgram } from "./recipe.ts";

/** The containerlab version the harness is written against. */
export const CONTAINERLAB_VERSION = "0.79.0";

/** Environment for every containerlab run: never look for a newer release on the internet. */
export const CONTAINERLAB_ENV: Readonly<Record<string, string>> = { CLAB_VERSION_CHECK: "disable" };

const MODULE = "github.com/srl-labs/containerlab";
const PATCH = "patches/containerlab-v0.79.0-proc-modules.patch";
const PATCHED_FILE = "utils/kernel_module.go";
/** SHA-256 of utils/kernel_module.go in the v0.79.0 module, before and after our patch. */
const UPSTREAM_SHA256 = "990b0255091aac749fa58418f18a8f7b9b7270401fea9db88d49ae1be8d69370";
const PATCHED_SHA256 = "ddf7b44321d47e6cc762f549441e49019130d58b628e30e4ce4a0448e6b2af69";
/** The patched copy's directory name inside the build dir (the `replace` target). */
const COPY_DIR = `containerlab-v${CONTAINERLAB_VERSION}-patched`;

async function fileSha256(path: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", await Deno.readFile(path));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** The build recipe of containerlab (flags as in upstream's release build, without the podman runtime). */
export async function containerlabSpec(paths: ToolPaths = toolPaths()): Promise<GoToolSpec> {
  const patchPath = `${paths.recipes}/${PATCH}`;
  const patch = await Deno.readTextFile(patchPath);
  return {
    tool: "containerlab",
    binary: "containerlab",
    module: MODULE,
    moduleVersion: `v${CONTAINERLAB_VERSION}`,
    mainPackage: MODULE,
    recipeDir: "go/containerlab",
    cgo: false,
    tags: [],
    ldflags: `-s -w -X ${MODULE}/cmd.Version=${CONTAINERLAB_VERSION} -X ${MODULE}/cmd.commit=none`,
    extraRecipe: [patch, UPSTREAM_SHA256, PATCHED_SHA256],
    versionArgs: ["version", "--short"],
    parseVersion: (out) => /^\s*(\d+\.\d+\.\d+)\s*$/m.exec(out)?.[1],
    expectVersion: CONTAINERLAB_VERSION,
    prepare: async ({ buildDir, go, env, log }) => {
      const git = await findProgram("git");
      if (!git) {
        throw new ToolError(
          "containerlab",
          'Cannot patch containerlab: no "git" command (used as `git apply`)',
          {
            hint: "apt-get install git",
          },
        );
      }
      const download = await run([go, "mod", "download", "-json", `${MODULE}@v${CONTAINERLAB_VERSION}`], {
        cwd: buildDir,
        env,
        timeoutMs: 10 * 60_000,
      });
      const source = (JSON.parse(download.stdout) as { Dir?: string }).Dir;
      if (!source) {
        throw new ToolError(
          "containerlab",
          `Cannot find ${MODULE} v${CONTAINERLAB_VERSION} in the module cache`,
        );
      }
      const copy = `${buildDir}/${COPY_DIR}`;
      log(`patching a copy of ${source} in ${copy}`);
      await run(["cp", "-R", source, copy]);
      await run(["chmod", "-R", "u+w", copy]); // the module cache is read-only
      const before = await fileSha256(`${copy}/${PATCHED_FILE}`);
      if (before !== UPSTREAM_SHA256) {
        throw new ToolError(
          "containerlab",
          `Cannot patch containerlab: ${PATCHED_FILE} in ${source} has SHA-256 ${before}, not the ${UPSTREAM_SHA256} the patch was written for`,
          {
            hint:
              `check ${PATCH} against the module and update the hashes in harness/upstream/containerlab.ts`,
          },
        );
      }
      // GIT_CEILING_DIRECTORIES: the copy sits inside this repository's work tree (.tools/ is ignored); without
      // it `git apply` would take paths relative to the repository root.
      const applied = await run([git, "apply", "--verbose", patchPath], {
        cwd: copy,
        env: { GIT_CEILING_DIRECTORIES: buildDir },
        check: false,
      });
      const after = await fileSha256(`${copy}/${PATCHED_FILE}`);
      if (applied.code !== 0 || after !== PATCHED_SHA256) {
        throw new ToolError(
          "containerlab",
          `Cannot patch containerlab: \`git apply ${PATCH}\` ${
            applied.code !== 0 ? `failed: ${lastLines(applied.stderr, 5)}` : `gave SHA-256 ${after}`
          }`,
          { hint: `check ${PATCH} against ${source}/${PATCHED_FILE}` },
        );
      }
      return [`replace ${MODULE} => ./${COPY_DIR}`];
    },
  };
}

/**
 * Installs containerlab into `.tools/bin/containerlab` unless it is already current (same recipe, reports
 * 0.79.0). Cold: about 1.5 minutes (module downloads and a single-CPU build); warm: well under a second.
 *
 * @returns the installed binary
 * @throws {ToolError} with the reason and the install command
 * @example
 * ```ts ignore
 * import { CONTAINERLAB_ENV, ensureContainerlab } from "./containerlab.ts";
 * const clab = await ensureContainerlab({ log: console.error });
 * // run([clab.path, "deploy", "-t", topo], { env: { ...CONTAINERLAB_ENV } })
 * ```
 */
export async function ensureContainerlab(options: EnsureOptions = {}): Promise<InstalledTool> {
  const paths = options.paths ?? toolPaths();
  return await ensureGoTool(await containerlabSpec(paths), options, paths);
}
