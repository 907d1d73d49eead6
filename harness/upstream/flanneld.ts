/**
 * Upstream flanneld v0.28.9, built from its Go module for interop tests against our agent.
 *
 * Built like upstream's `make dist/flanneld`: cgo on (the udp backend's proxy is C on amd64, so a build without
 * cgo fails) and linked statically, so the same binary runs on the host and inside node containers. The tags
 * `netgo,osusergo` use Go's own resolver and user lookup, which a static binary needs to avoid glibc's NSS
 * (upstream's release has the same link warnings otherwise). Its go.mod pins a tencentcloud-sdk-go/vpc version
 * the proxy does not serve; recipes/go/flanneld/go.mod replaces it with one that is.
 *
 * @module
 */
import { ensureGoTool, type EnsureOptions, type GoToolSpec, type InstalledTool } from "./go_tool.ts";
import { type ToolPaths, toolPaths } from "./paths.ts";
import { ensureDebianPackages } from "./debian.ts";

/** The upstream flanneld version used for interop. */
export const FLANNELD_VERSION = "v0.28.9";

const MODULE = "github.com/flannel-io/flannel";

/** Debian packages the cgo build needs. */
export const FLANNELD_BUILD_PACKAGES: readonly string[] = ["gcc", "libc6-dev"];

/** The build recipe of flanneld. */
export function flanneldSpec(): GoToolSpec {
  return {
    tool: "flanneld",
    binary: "flanneld",
    module: MODULE,
    moduleVersion: FLANNELD_VERSION,
    mainPackage: MODULE,
    recipeDir: "go/flanneld",
    cgo: true,
    tags: ["netgo", "osusergo"],
    ldflags: `-s -w -X ${MODULE}/pkg/version.Version=${FLANNELD_VERSION} -extldflags "-static"`,
    versionArgs: ["-version"],
    parseVersion: (out) => /^\s*(v\d+\.\d+\.\d+\S*)\s*$/m.exec(out)?.[1],
    expectVersion: FLANNELD_VERSION,
  };
}

/**
 * Installs upstream flanneld into `.tools/bin/flanneld` unless it is already current. Cold: about 2.5 minutes;
 * warm: well under a second.
 *
 * @returns the installed binary
 * @throws {ToolError} with the reason and the install command
 * @example
 * ```ts ignore
 * import { ensureFlanneld } from "./flanneld.ts";
 * const flanneld = await ensureFlanneld();
 * // spawn([flanneld.path, "--etcd-endpoints=http://10.0.0.1:2379", "--iface=eth1"])
 * ```
 */
export async function ensureFlanneld(options: EnsureOptions = {}): Promise<InstalledTool> {
  const paths: ToolPaths = options.paths ?? toolPaths();
  await ensureDebianPackages(FLANNELD_BUILD_PACKAGES, options.log ? { log: options.log } : {});
  return await ensureGoTool(flanneldSpec(), options, paths);
}
