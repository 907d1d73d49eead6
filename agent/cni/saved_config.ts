/**
 * The delegate configurations the plugin saves at ADD and reads back at DEL, CHECK and GC: where they live and
 * how they are read.
 *
 * We save `<dataDir>/<CNI_CONTAINERID>@<CNI_IFNAME>`, so two flannel interfaces of one container do not overwrite
 * each other as upstream's `<dataDir>/<CNI_CONTAINERID>` does; upstream's name is still read when ours is absent,
 * so pods added by upstream's plugin before an upgrade are deleted cleanly.
 *
 * @module
 */
import { CniError, ErrorCode } from "./errors.ts";
import type { JsonObject } from "./netconf.ts";
import type { PluginIo } from "./plugin_io.ts";

/**
 * The file upstream's plugin saves for a container (read for compatibility).
 *
 * @param dataDir the plugin's `dataDir`
 * @param containerId `CNI_CONTAINERID`
 * @returns the path of upstream's saved configuration
 * @example
 * ```ts
 * import { legacySavedPath } from "./saved_config.ts";
 * console.assert(legacySavedPath("/var/lib/cni/flannel", "abc") === "/var/lib/cni/flannel/abc");
 * ```
 */
export function legacySavedPath(dataDir: string, containerId: string): string {
  return `${dataDir}/${containerId}`;
}

/**
 * The file we save for a container's interface. `@` cannot occur in a container ID, so the name is unambiguous.
 *
 * @param dataDir the plugin's `dataDir`
 * @param containerId `CNI_CONTAINERID`
 * @param ifname `CNI_IFNAME`
 * @returns the path of our saved configuration
 * @example
 * ```ts
 * import { savedPath } from "./saved_config.ts";
 * console.assert(savedPath("/var/lib/cni/flannel", "abc", "eth0") === "/var/lib/cni/flannel/abc@eth0");
 * ```
 */
export function savedPath(dataDir: string, containerId: string, ifname: string): string {
  return `${dataDir}/${containerId}@${ifname}`;
}

/**
 * The saved configuration for a container's interface (ours, else upstream's), or `undefined`.
 *
 * @param env the container and interface
 * @param dataDir the plugin's `dataDir`
 * @param io the outside world
 * @returns the path read and its text, or `undefined` when neither file exists
 * @throws {CniError} code 5 when a file exists but cannot be read
 */
export async function readSaved(
  env: { containerId: string; ifname: string },
  dataDir: string,
  io: PluginIo,
): Promise<{ path: string; text: string } | undefined> {
  for (
    const path of [savedPath(dataDir, env.containerId, env.ifname), legacySavedPath(dataDir, env.containerId)]
  ) {
    let text: string | undefined;
    try {
      text = await io.readFile(path);
    } catch (e) {
      throw new CniError(
        ErrorCode.IoFailure,
        `failed to read the saved configuration ${path}: ${(e as Error).message}`,
      );
    }
    if (text !== undefined) return { path, text };
  }
  return undefined;
}

/**
 * Parses a saved configuration; anything but a JSON object is `undefined` (the file was not written by a
 * flannel plugin, or was cut short).
 *
 * @param text the file's text
 * @returns the delegate configuration, or `undefined`
 * @example
 * ```ts
 * import { parseSaved } from "./saved_config.ts";
 * console.assert(parseSaved('{"type":"bridge"}')?.["type"] === "bridge");
 * console.assert(parseSaved("[1]") === undefined && parseSaved("{") === undefined);
 * ```
 */
export function parseSaved(text: string): JsonObject | undefined {
  try {
    const v = JSON.parse(text) as unknown;
    return typeof v === "object" && v !== null && !Array.isArray(v) ? v as JsonObject : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The IPv4/IPv6 subnets a saved delegate configuration allocates from (host-local's `ipam.ranges`).
 *
 * @param saved a parsed delegate configuration
 * @returns the `subnet` of every range, in order
 * @example
 * ```ts
 * import { savedRanges } from "./saved_config.ts";
 * const saved = { ipam: { ranges: [[{ subnet: "10.1.17.0/24" }], [{ subnet: "fc00::/64" }]] } };
 * console.assert(savedRanges(saved).join() === "10.1.17.0/24,fc00::/64");
 * ```
 */
export function savedRanges(saved: JsonObject): string[] {
  const ipam = saved["ipam"] as JsonObject | undefined;
  const ranges = ipam?.["ranges"];
  if (!Array.isArray(ranges)) return [];
  return ranges.flat().map((r) => (r as JsonObject | null)?.["subnet"]).filter((s): s is string =>
    typeof s === "string"
  );
}
