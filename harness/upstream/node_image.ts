/**
 * The node image for containerlab labs, built here because no image registry is reachable: debootstrap
 * (`--variant=minbase`) of the Debian suite in `recipes/image/node.json` from the mirror this machine's apt uses,
 * the recipe's packages installed in a chroot (with a policy-rc.d that keeps their daemons from starting on
 * the host), then `docker import`. The tag carries the recipe hash, so the image is rebuilt only when the recipe
 * changes. Agents reach containers through bind mounts, so there is no Deno inside.
 *
 * @module
 */
import { CommandError, run } from "../../cli/process/mod.ts";
import { debianMirror, type SourcesFile } from "./apt_sources.ts";
import { ensureDebianPackages } from "./debian.ts";
import { DOCKER, dockerServerVersion, ensureDockerd } from "./docker.ts";
import { ToolError } from "./errors.ts";
import type { EnsureOptions } from "./go_tool.ts";
import { lastLines } from "../../cli/text.ts";
import { type ToolPaths, toolPaths } from "./paths.ts";
import { readStamp, sha256Hex, withLock, writeStamp } from "./recipe.ts";

/** The image repository; the tag is the first 12 hex digits of the recipe hash. */
export const NODE_IMAGE_REPO = "flannel-lab/node";
/** The image label that carries the full recipe hash. */
export const NODE_IMAGE_LABEL = "flannel-lab.recipe";
/** Overrides the Debian mirror read from apt's sources. */
export const MIRROR_ENV = "FLANNEL_LAB_DEBIAN_MIRROR";

/** Bump when the build steps below change in a way node.json does not show. */
const BUILD_REVISION = "1";
const BUILD_PACKAGES = ["debootstrap", "debian-archive-keyring"];

/** `recipes/image/node.json`. */
export interface NodeImageRecipe {
  readonly suite: string;
  readonly variant: string;
  readonly packages: readonly string[];
  readonly cmd: readonly string[];
}

/** A node image that exists in the daemon. */
export interface NodeImage {
  /** `flannel-lab/node:<12 hex>`, for a topology's `image:`. */
  readonly tag: string;
  /** The full recipe hash. */
  readonly recipe: string;
  /** Whether this call built it. */
  readonly built: boolean;
  readonly durationMs: number;
}

/** Reads the recipe and computes its hash and tag (no daemon needed). */
export async function nodeImageRecipe(
  paths: ToolPaths = toolPaths(),
): Promise<{ recipe: NodeImageRecipe; hash: string; tag: string }> {
  const text = await Deno.readTextFile(`${paths.recipes}/image/node.json`);
  const recipe = JSON.parse(text) as NodeImageRecipe;
  if (
    typeof recipe.suite !== "string" || typeof recipe.variant !== "string" ||
    !Array.isArray(recipe.packages) ||
    !Array.isArray(recipe.cmd)
  ) {
    throw new ToolError(
      "node-image",
      "Cannot read recipes/image/node.json: it needs suite, variant, packages and cmd",
    );
  }
  const hash = await sha256Hex([BUILD_REVISION, text]);
  return { recipe, hash, tag: `${NODE_IMAGE_REPO}:${hash.slice(0, 12)}` };
}

/** The tag the current recipe builds (no daemon needed). */
export async function nodeImageTag(paths: ToolPaths = toolPaths()): Promise<string> {
  return (await nodeImageRecipe(paths)).tag;
}

/** Whether the daemon has an image of that tag built from that recipe hash. */
export async function nodeImagePresent(tag: string, hash: string): Promise<boolean> {
  const r = await run([
    DOCKER,
    "image",
    "inspect",
    "--format",
    `{{index .Config.Labels "${NODE_IMAGE_LABEL}"}}`,
    tag,
  ], {
    check: false,
    timeoutMs: 15_000,
  });
  return r.code === 0 && r.stdout.trim() === hash;
}

/** The Debian mirror for the suite: $FLANNEL_LAB_DEBIAN_MIRROR, else the one apt's sources name. */
export async function findDebianMirror(suite: string): Promise<string> {
  const override = Deno.env.get(MIRROR_ENV);
  if (override) return override;
  const files: SourcesFile[] = [];
  const read = async (path: string) => {
    try {
      files.push({ path, text: await Deno.readTextFile(path) });
    } catch { /* absent */ }
  };
  await read("/etc/apt/sources.list");
  try {
    const names = [];
    for await (const e of Deno.readDir("/etc/apt/sources.list.d")) names.push(e.name);
    for (const name of names.sort()) await read(`/etc/apt/sources.list.d/${name}`);
  } catch { /* no directory */ }
  const mirror = debianMirror(files, suite);
  if (!mirror) {
    throw new ToolError(
      "node-image",
      `Cannot build the node image: no apt source serves Debian "${suite}" main`,
      {
        hint: `set ${MIRROR_ENV} to a Debian mirror URL`,
      },
    );
  }
  return mirror;
}

/**
 * Makes sure the daemon has the node image of the current recipe, building it when not (about 40 s with a
 * warm network: debootstrap, package install, import). Starts dockerd for the import if none answers, and stops
 * it again afterwards in that case.
 *
 * @returns the image tag to put in topologies
 * @throws {ToolError} when a step fails, with the output tail of that step
 * @example
 * ```ts ignore
 * import { ensureNodeImage } from "./node_image.ts";
 * const { tag } = await ensureNodeImage();
 * // topology: `image: ${tag}`
 * ```
 */
export async function ensureNodeImage(options: EnsureOptions = {}): Promise<NodeImage> {
  const started = performance.now();
  const paths = options.paths ?? toolPaths();
  const log = options.log ?? (() => {});
  const { recipe, hash, tag } = await nodeImageRecipe(paths);
  const done = (built: boolean): NodeImage => ({
    tag,
    recipe: hash,
    built,
    durationMs: Math.round(performance.now() - started),
  });
  if (!options.force && (await dockerServerVersion()) && (await nodeImagePresent(tag, hash))) {
    return done(false);
  }

  await using _dockerd = await ensureDockerd({ paths, log });
  return await withLock(paths.state, "node-image", async () => {
    if (!options.force && await nodeImagePresent(tag, hash)) return done(false);
    await ensureDebianPackages(BUILD_PACKAGES, { log });
    const mirror = await findDebianMirror(recipe.suite);
    const buildDir = `${paths.build}/node-image`;
    const rootfs = `${buildDir}/rootfs`;
    const buildStarted = performance.now();
    await Deno.remove(buildDir, { recursive: true }).catch(() => {});
    await Deno.mkdir(buildDir, { recursive: true });
    try {
      log(`debootstrap --variant=${recipe.variant} ${recipe.suite} from ${mirror}`);
      await step("debootstrap", rootfs, [
        "nice",
        "-n",
        "19",
        "debootstrap",
        `--variant=${recipe.variant}`,
        "--components=main",
        recipe.suite,
        rootfs,
        mirror,
      ]);
      // Package scripts call invoke-rc.d; without this, etcd's and iperf3's would start daemons on the host.
      await Deno.writeTextFile(`${rootfs}/usr/sbin/policy-rc.d`, "#!/bin/sh\nexit 101\n", { mode: 0o755 });
      await Deno.chmod(`${rootfs}/usr/sbin/policy-rc.d`, 0o755);
      const inChroot = ["nice", "-n", "19", "chroot", rootfs, "/usr/bin/env", "-i", ...CHROOT_ENV];
      log(`installing ${recipe.packages.length} packages in the image: ${recipe.packages.join(" ")}`);
      await step("apt-get update", rootfs, [
        ...inChroot,
        "apt-get",
        "-qq",
        "-o",
        "Acquire::Retries=3",
        "update",
      ]);
      await step("apt-get install", rootfs, [
        ...inChroot,
        "apt-get",
        "-y",
        "-qq",
        "-o",
        "Acquire::Retries=3",
        "--no-install-recommends",
        "install",
        ...recipe.packages,
      ]);
      await step("apt-get clean", rootfs, [...inChroot, "apt-get", "clean"]);
      await Deno.remove(`${rootfs}/usr/sbin/policy-rc.d`);
      await emptyDir(`${rootfs}/var/lib/apt/lists`);
      // Docker provides these per container; the build host's must not end up in the image.
      await Deno.writeTextFile(`${rootfs}/etc/resolv.conf`, "");
      await Deno.writeTextFile(`${rootfs}/etc/hostname`, "node\n");
      await Deno.writeTextFile(`${rootfs}/etc/flannel-lab-node-image`, `${hash}\n`);
      log(`importing ${tag}`);
      await step("tar", rootfs, [
        "tar",
        "--numeric-owner",
        "-C",
        rootfs,
        "-cf",
        `${buildDir}/rootfs.tar`,
        ".",
      ]);
      await step("docker import", rootfs, [
        DOCKER,
        "import",
        "--change",
        `CMD ${JSON.stringify(recipe.cmd)}`,
        "--change",
        `LABEL ${NODE_IMAGE_LABEL}=${hash}`,
        "--message",
        "flannel-lab node image (recipes/image/node.json)",
        `${buildDir}/rootfs.tar`,
        tag,
      ]);
    } finally {
      await Deno.remove(buildDir, { recursive: true }).catch(() => {});
    }
    const buildMs = Math.round(performance.now() - buildStarted);
    await writeStamp(`${paths.state}/node-image.stamp.json`, {
      recipe: hash,
      version: tag,
      builtAt: new Date().toISOString(),
      buildMs,
    });
    await removeOtherTags(tag);
    log(`built ${tag} in ${(buildMs / 1000).toFixed(1)} s`);
    return done(true);
  });
}

const CHROOT_ENV = [
  "PATH=/usr/sbin:/usr/bin:/sbin:/bin",
  "DEBIAN_FRONTEND=noninteractive",
  "LC_ALL=C",
  "HOME=/root",
];

/** The stamp of the last image build (no daemon needed). */
export async function nodeImageStamp(
  paths: ToolPaths = toolPaths(),
): Promise<{ recipe: string } | undefined> {
  return await readStamp(`${paths.state}/node-image.stamp.json`);
}

async function step(name: string, rootfs: string, command: string[]): Promise<void> {
  try {
    await run(command, { timeoutMs: 30 * 60_000 });
  } catch (e) {
    let detail = e instanceof CommandError ? lastLines(e.stderrTail || e.stdoutTail, 15) : String(e);
    if (name === "debootstrap") {
      const log = await Deno.readTextFile(`${rootfs}/debootstrap/debootstrap.log`).catch(() => "");
      if (log) detail += `\n${lastLines(log, 15)}`;
    }
    throw new ToolError("node-image", `Cannot build the node image: ${name} failed:\n${detail}`, {
      cause: e,
    });
  }
}

async function emptyDir(dir: string): Promise<void> {
  for await (const e of Deno.readDir(dir)) {
    await Deno.remove(`${dir}/${e.name}`, { recursive: true });
  }
}

/** Removes older node images (other tags of the repository); one still used by a container stays. */
async function removeOtherTags(keep: string): Promise<void> {
  const r = await run([DOCKER, "images", "--format", "{{.Repository}}:{{.Tag}}", NODE_IMAGE_REPO], {
    check: false,
  });
  for (const ref of r.stdout.split("\n").map((l) => l.trim()).filter(Boolean)) {
    if (ref !== keep) await run([DOCKER, "image", "rm", ref], { check: false });
  }
}
