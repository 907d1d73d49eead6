/**
 * ADD: build the delegate configuration from subnet.env, save it, run the delegate's ADD and print its result
 * (chained after a `prevResult`). A delegate that refuses our cniVersion is spoken to in the newest version it
 * supports; a failed ADD is undone so that nothing is left behind (see `plugin.ts` for how this differs from
 * upstream).
 *
 * @module
 */
import {
  buildDelegateConfig,
  type DelegateConfig,
  renderDelegateConfig,
  validateDelegate,
} from "./delegate_config.ts";
import { delegateError, delegateVersions, findDelegate, runDelegate } from "./delegate_run.ts";
import { CniError, ErrorCode } from "./errors.ts";
import { loadSubnetEnv } from "./load_subnet_env.ts";
import type { CniEnv, FlannelNetConf, JsonObject } from "./netconf.ts";
import type { PluginIo } from "./plugin_io.ts";
import { chainResult, parseErrorJson, parseResult, renderJson } from "./result.ts";
import { savedPath } from "./saved_config.ts";
import { fallbackVersion } from "./version.ts";

/**
 * Runs ADD.
 *
 * @param env the CNI environment
 * @param conf the flannel network configuration
 * @param io the outside world
 * @returns the result JSON to print
 * @throws {CniError} for an invalid configuration, a subnet.env not ready, a missing or failing delegate
 */
export async function cmdAdd(env: CniEnv, conf: FlannelNetConf, io: PluginIo): Promise<string> {
  validateDelegate(conf.delegate); // a permanent configuration error is reported before a transient one
  const subnetEnv = await loadSubnetEnv(conf.subnetFile, io);
  const delegate: DelegateConfig = buildDelegateConfig(conf, subnetEnv);
  const type = delegate["type"] as string;
  const program = await findDelegate(type, env, io);
  const path = savedPath(conf.dataDir, env.containerId, env.ifname);
  let text = renderDelegateConfig(delegate);
  // Saved before the delegate runs, as upstream does: if we die half-way, DEL still finds what to undo.
  await io.writeFile(path, text);
  io.log(`flannel: delegate ${type} ADD config: ${text}`);
  let res = await runDelegate(io, program, text, { CNI_COMMAND: "ADD" });
  let negotiated = false;
  if (res.code !== 0 && parseErrorJson(res.stdout)?.code === ErrorCode.IncompatibleCniVersion) {
    const fallback = fallbackVersion(
      conf.cniVersion || "0.1.0",
      await delegateVersions(io, program, conf.cniVersion),
    );
    if (fallback !== undefined) {
      delegate["cniVersion"] = fallback;
      text = renderDelegateConfig(delegate);
      await io.writeFile(path, text);
      io.log(`flannel: delegate ${type} refused cniVersion ${conf.cniVersion}; speaking ${fallback} to it`);
      res = await runDelegate(io, program, text, { CNI_COMMAND: "ADD" });
      negotiated = true;
    }
  }
  let result: JsonObject;
  try {
    if (res.code !== 0) throw delegateError(type, "ADD", res);
    result = parseResult(res.stdout, `delegate "${type}" ADD`);
  } catch (error) {
    throw await rollback(error as CniError, { io, program, type, text, path });
  }
  if (negotiated) result["cniVersion"] = conf.cniVersion;
  if (conf.prevResult) result = chainResult(conf.prevResult, result);
  return renderJson(result) + "\n";
}

/** Undoes a failed ADD: the delegate's DEL (address, veth), then the saved file. Returns the error to report. */
async function rollback(
  error: CniError,
  ctx: { io: PluginIo; program: string; type: string; text: string; path: string },
): Promise<CniError> {
  const res = await runDelegate(ctx.io, ctx.program, ctx.text, { CNI_COMMAND: "DEL" });
  if (res.code === 0) {
    await ctx.io.removeFile(ctx.path);
    return error;
  }
  const cleanup = delegateError(ctx.type, "DEL", res);
  const note =
    `cleaning up with the delegate's DEL also failed (${cleanup.message}); the saved configuration ` +
    `${ctx.path} was kept so that the runtime's DEL can release what the ADD allocated`;
  return new CniError(error.code, error.message, [error.details, note].filter(Boolean).join("; "));
}
