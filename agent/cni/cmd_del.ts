/**
 * DEL and GC: both release an attachment by running the delegate's DEL with its saved configuration, and
 * remove the saved file only when that succeeded, so a failed release can be retried. GC (CNI 1.1) does it for
 * every saved attachment of this network that the runtime no longer lists as valid.
 *
 * @module
 */
import { delegateError, findDelegate, runDelegate } from "./delegate_run.ts";
import { CniError, ErrorCode } from "./errors.ts";
import type { CniEnv, FlannelNetConf, JsonObject } from "./netconf.ts";
import type { PluginIo } from "./plugin_io.ts";
import { parseSaved, readSaved } from "./saved_config.ts";

/**
 * Runs DEL. Nothing saved (never added, or already deleted) is success, as the spec asks.
 *
 * @param env the CNI environment
 * @param conf the flannel network configuration
 * @param io the outside world
 * @returns the empty output
 * @throws {CniError} when the delegate's DEL fails (the saved file is kept)
 */
export async function cmdDel(env: CniEnv, conf: FlannelNetConf, io: PluginIo): Promise<string> {
  const saved = await readSaved(env, conf.dataDir, io);
  if (saved === undefined) return ""; // never added, or already deleted: success, as the spec asks
  await delegateDel(io, env.path, saved, {});
  return "";
}

/** Runs the delegate's DEL with a saved configuration and removes the file when it succeeded. */
async function delegateDel(
  io: PluginIo,
  cniPath: string,
  saved: { path: string; text: string },
  extraEnv: Record<string, string>,
): Promise<void> {
  const parsed = parseSaved(saved.text);
  const type = parsed?.["type"];
  if (typeof type !== "string" || type === "") {
    // As upstream: nothing can be done with it; the interface goes when the node reboots. Keep the file.
    io.log(`flannel: ${saved.path} is not a delegate configuration; leaving it and reporting success`);
    return;
  }
  const program = await findDelegate(type, { path: cniPath }, io);
  const res = await runDelegate(io, program, saved.text, { CNI_COMMAND: "DEL", ...extraEnv });
  if (res.code !== 0) {
    throw delegateError(
      type,
      "DEL",
      res,
      `the saved configuration ${saved.path} was kept so that DEL can be retried`,
    );
  }
  await io.removeFile(saved.path);
}

/**
 * Runs GC: releases this network's saved attachments that are not in `cni.dev/valid-attachments`, through the
 * delegate's DEL without a namespace. Upstream's container-ID-only files carry no interface name and are left
 * alone.
 *
 * @param env the CNI environment
 * @param conf the flannel network configuration, with `cni.dev/valid-attachments`
 * @param io the outside world
 * @returns the empty output
 * @throws {CniError} code 7 without the list; code 999 naming every attachment that could not be released
 */
export async function cmdGc(env: CniEnv, conf: FlannelNetConf, io: PluginIo): Promise<string> {
  const attachments = conf.raw["cni.dev/valid-attachments"];
  if (!Array.isArray(attachments)) {
    throw new CniError(
      ErrorCode.InvalidNetworkConfig,
      'GC needs "cni.dev/valid-attachments": the list of attachments still in use',
    );
  }
  const valid = new Set(
    attachments.map((a) => {
      const o = (a ?? {}) as JsonObject;
      return `${o["containerID"]}@${o["ifname"]}`;
    }),
  );
  const failures: string[] = [];
  for (const name of await io.listDir(conf.dataDir)) {
    const at = name.indexOf("@");
    if (name.startsWith(".") || at <= 0 || valid.has(name)) continue; // upstream's files: no ifname, left alone
    const path = `${conf.dataDir}/${name}`;
    const text = await io.readFile(path);
    if (text === undefined || parseSaved(text)?.["name"] !== conf.name) continue;
    const extraEnv = { CNI_CONTAINERID: name.slice(0, at), CNI_IFNAME: name.slice(at + 1), CNI_NETNS: "" };
    try {
      await delegateDel(io, env.path, { path, text }, extraEnv);
    } catch (e) {
      failures.push(`${name}: ${(e as Error).message}`);
    }
  }
  if (failures.length > 0) {
    throw new CniError(
      ErrorCode.Internal,
      `GC could not release ${failures.length} attachment(s)`,
      failures.join("; "),
    );
  }
  return "";
}
