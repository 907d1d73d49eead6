/**
 * Where the test tools live: the recipes in the repository (`recipes/`) and what they build in the git-ignored
 * `.tools/` beside them.
 *
 * @module
 */

/** The repository root, two levels above this file. */
export const REPO_ROOT: string = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");

/** Paths of the recipes and of what is installed from them. */
export interface ToolPaths {
  /** The repository root. */
  readonly root: string;
  /** `recipes/`: recipes (Go tools modules, the patch, the image recipe), committed. */
  readonly recipes: string;
  /** `.tools/`: everything installed, git-ignored. */
  readonly installed: string;
  /** `.tools/bin/`: the built binaries and their stamps. */
  readonly bin: string;
  /** `.tools/build/`: scratch space of the Go builds (tools module copies, the patched containerlab). */
  readonly build: string;
  /** `.tools/state/`: lock files, dockerd's pid file and log, the image stamp. */
  readonly state: string;
}

/**
 * The tool paths under a repository root.
 *
 * @param root the repository root (default: the one this module belongs to)
 * @returns the paths of recipes and installed tools
 * @example Where containerlab is installed
 * ```ts
 * import { toolPaths } from "./paths.ts";
 * const bin = `${toolPaths().bin}/containerlab`;
 * ```
 */
export function toolPaths(root: string = REPO_ROOT): ToolPaths {
  const installed = `${root}/.tools`;
  return {
    root,
    recipes: `${root}/recipes`,
    installed,
    bin: `${installed}/bin`,
    build: `${installed}/build`,
    state: `${installed}/state`,
  };
}
