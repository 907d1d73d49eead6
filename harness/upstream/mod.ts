/**
 * The upstream test tools the harness drives — containerlab v0.79.0 (with our one patch), upstream flanneld
 * v0.28.9, Debian's Docker engine and a locally built node image — installed reproducibly from the recipes in
 * `recipes/` into the git-ignored `.tools/`, and their state for `doctor`.
 *
 * Every `ensure*` is idempotent and cheap when the tool is current (a recipe-hash stamp plus a version check),
 * and holds a lock while it builds, so concurrent callers wait instead of building twice.
 *
 * @example Make sure a lab can be deployed with containerlab
 * ```ts ignore
 * import { CONTAINERLAB_ENV, ensureContainerlab, ensureDockerd, ensureNodeImage } from "./mod.ts";
 * const clab = await ensureContainerlab();
 * await using dockerd = await ensureDockerd();
 * const { tag } = await ensureNodeImage();
 * ```
 *
 * @module
 */
export { CONTAINERLAB_ENV, CONTAINERLAB_VERSION, ensureContainerlab } from "./containerlab.ts";
export { ensureFlanneld, FLANNELD_VERSION } from "./flanneld.ts";
export {
  DOCKER,
  DOCKER_SOCKET,
  DOCKERD,
  type Dockerd,
  type DockerdOptions,
  dockerServerVersion,
  ensureDockerd,
  stopDockerd,
} from "./docker.ts";
export { ensureNodeImage, NODE_IMAGE_REPO, type NodeImage, nodeImageTag } from "./node_image.ts";
export { type ToolState, type ToolStatus, toolStatus } from "./status.ts";
export { INSTALL_COMMAND, installCommand, ToolError, type ToolName } from "./errors.ts";
export type { EnsureOptions, InstalledTool } from "./go_tool.ts";
export { type ToolPaths, toolPaths } from "./paths.ts";
