/**
 * What `doctor` reports about the test tools: present, missing, stale (built from an older recipe, still
 * usable) or broken, each with the command that installs it.
 *
 * @module
 */
import { CHROMIUM, chromiumInstalled, chromiumVersion } from "./chromium.ts";
import { containerlabSpec } from "./containerlab.ts";
import { DOCKER, DOCKERD, dockerInstalled, dockerServerVersion } from "./docker.ts";
import { installCommand, type ToolName } from "./errors.ts";
import { flanneldSpec } from "./flanneld.ts";
import { binaryVersion, findGo, goToolRecipe, type GoToolSpec, goVersionOf } from "./go_tool.ts";
import { nodeImagePresent, nodeImageRecipe, nodeImageStamp } from "./node_image.ts";
import { type ToolPaths, toolPaths } from "./paths.ts";
import { exists, readStamp } from "./recipe.ts";

/** The state of one tool. */
export type ToolState = "present" | "missing" | "stale" | "broken";

/** One line of the report. */
export interface ToolStatus {
  readonly tool: ToolName;
  readonly state: ToolState;
  /** What it reports or is tagged (`0.79.0`, `v0.28.9`, `20.10.24+dfsg1`, `flannel-lab/node:…`). */
  readonly version: string | undefined;
  /** The binary or image reference. */
  readonly path: string | undefined;
  /** One sentence on what was found. */
  readonly detail: string;
  /** The command that installs or rebuilds it, when the state is not `present`. */
  readonly fix: string | undefined;
}

/**
 * Checks every test tool without installing or starting anything.
 *
 * @returns one status per tool: containerlab, flanneld, docker, node-image
 * @example
 * ```ts ignore
 * import { toolStatus } from "./status.ts";
 * for (const s of await toolStatus()) console.log(s.tool, s.state, s.detail, s.fix ?? "");
 * ```
 */
export async function toolStatus(options: { paths?: ToolPaths } = {}): Promise<ToolStatus[]> {
  const paths = options.paths ?? toolPaths();
  return await Promise.all([
    goToolStatus(await containerlabSpec(paths), paths),
    goToolStatus(flanneldSpec(), paths),
    dockerStatus(),
    nodeImageStatus(paths),
    chromiumStatus(),
  ]);
}

function status(
  tool: ToolName,
  state: ToolState,
  detail: string,
  extra: { version?: string | undefined; path?: string | undefined } = {},
): ToolStatus {
  return {
    tool,
    state,
    version: extra.version,
    path: extra.path,
    detail,
    fix: state === "present" ? undefined : installCommand(tool),
  };
}

async function goToolStatus(spec: GoToolSpec, paths: ToolPaths): Promise<ToolStatus> {
  const path = `${paths.bin}/${spec.binary}`;
  if (!await exists(path)) return status(spec.tool, "missing", `${path} does not exist`, { path });
  const version = await binaryVersion(spec, path);
  if (version !== spec.expectVersion) {
    return status(
      spec.tool,
      "broken",
      `${path} reports version ${JSON.stringify(version ?? "(none)")}, not ${spec.expectVersion}`,
      { path, version },
    );
  }
  let recipe: string | undefined;
  try {
    recipe = await goToolRecipe(spec, paths, await goVersionOf(await findGo(spec.tool)));
  } catch {
    return status(spec.tool, "present", `${spec.expectVersion}; the recipe was not checked (no Go found)`, {
      path,
      version,
    });
  }
  const stamp = await readStamp(`${path}.stamp.json`);
  if (stamp?.recipe !== recipe) {
    return status(
      spec.tool,
      "stale",
      `${spec.expectVersion}, built from an older recipe (tools/${spec.recipeDir})`,
      {
        path,
        version,
      },
    );
  }
  return status(spec.tool, "present", `${spec.expectVersion}, current recipe`, { path, version });
}

async function chromiumStatus(): Promise<ToolStatus> {
  if (!await chromiumInstalled()) return status("chromium", "missing", "Debian's chromium is not installed");
  const version = await chromiumVersion();
  return version
    ? status("chromium", "present", version, { version, path: CHROMIUM })
    : status("chromium", "broken", `${CHROMIUM} --version fails`, { path: CHROMIUM });
}

async function dockerStatus(): Promise<ToolStatus> {
  if (!await dockerInstalled()) return status("docker", "missing", "Debian's docker.io is not installed");
  if (!await exists(DOCKERD) || !await exists(DOCKER)) {
    return status("docker", "broken", `docker.io is installed but ${DOCKERD} or ${DOCKER} is missing`);
  }
  const version = await dockerServerVersion();
  return status(
    "docker",
    "present",
    version
      ? `dockerd ${version} answers`
      : "docker.io installed; no daemon answers (ensureDockerd starts one)",
    { path: DOCKERD, version },
  );
}

async function nodeImageStatus(paths: ToolPaths): Promise<ToolStatus> {
  const { hash, tag } = await nodeImageRecipe(paths);
  if (await dockerServerVersion()) {
    if (await nodeImagePresent(tag, hash)) {
      return status("node-image", "present", `${tag} is in the daemon`, { path: tag, version: tag });
    }
    const stamp = await nodeImageStamp(paths);
    return stamp && stamp.recipe !== hash
      ? status("node-image", "stale", `${tag} is not built; an image of an older recipe was`, { path: tag })
      : status("node-image", "missing", `${tag} is not in the daemon`, { path: tag });
  }
  const stamp = await nodeImageStamp(paths);
  if (stamp?.recipe === hash) {
    return status("node-image", "present", `${tag} was built (dockerd not running: not checked)`, {
      path: tag,
      version: tag,
    });
  }
  return status("node-image", stamp ? "stale" : "missing", `${tag} has not been built`, { path: tag });
}
