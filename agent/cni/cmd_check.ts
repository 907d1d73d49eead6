/**
 * CHECK and STATUS, the commands that change nothing. CHECK verifies a pod's attachment: it was added, its
 * address range still lies in the node's lease, and the delegate's own CHECK passes with the saved
 * configuration. STATUS (CNI 1.1) says whether ADD can work now, which is whether subnet.env is there.
 *
 * @module
 */
import { delegateError, findDelegate, runDelegate } from "./delegate_run.ts";
import { CniError, ErrorCode } from "./errors.ts";
import { goJson, type GoJsonValue } from "./go_json.ts";
import { loadSubnetEnv } from "./load_subnet_env.ts";
import type { CniEnv, FlannelNetConf, JsonObject } from "./netconf.ts";
import type { PluginIo } from "./plugin_io.ts";
import { withRouteGateways } from "./result.ts";
import { parseSaved, readSaved, savedRanges } from "./saved_config.ts";
import type { SubnetEnv } from "./subnet_env.ts";
import { formatCidr, netContains, parseCidr } from "../ip.ts";

/**
 * Runs CHECK. Routes without a gateway in `prevResult` get the one they were installed through, so that bridge
 * plugins before v1.3.0 accept flannel's `{"dst": "<network>"}` route (containernetworking/plugins#886).
 *
 * @param env the CNI environment
 * @param conf the flannel network configuration, with `prevResult`
 * @param io the outside world
 * @returns the empty output
 * @throws {CniError} code 7 without `prevResult`, 3 for an attachment never added, 999 for a pod stranded by a
 *   lease change or a failing delegate CHECK
 */
export async function cmdCheck(env: CniEnv, conf: FlannelNetConf, io: PluginIo): Promise<string> {
  if (conf.prevResult === undefined) {
    throw new CniError(
      ErrorCode.InvalidNetworkConfig,
      "CHECK needs a prevResult",
      'the runtime passes the result of the ADD as "prevResult" in the configuration',
    );
  }
  const saved = await readSaved(env, conf.dataDir, io);
  if (saved === undefined) {
    throw new CniError(
      ErrorCode.UnknownContainer,
      `no flannel attachment for container ${env.containerId} interface ${env.ifname}`,
      `no saved configuration under ${conf.dataDir}: ADD was not run for it, or DEL already was`,
    );
  }
  const delegate = parseSaved(saved.text);
  if (delegate === undefined || typeof delegate["type"] !== "string") {
    throw new CniError(
      ErrorCode.Internal,
      `the saved configuration ${saved.path} is not a delegate configuration`,
    );
  }
  await checkLease(delegate, conf, io);
  const type = delegate["type"];
  const program = await findDelegate(type, env, io);
  const prevResult = withRouteGateways(conf.prevResult);
  if (typeof delegate["cniVersion"] === "string") prevResult["cniVersion"] = delegate["cniVersion"];
  const text = goJson({ ...delegate, prevResult } as GoJsonValue);
  const res = await runDelegate(io, program, text, { CNI_COMMAND: "CHECK" });
  if (res.code !== 0) throw delegateError(type, "CHECK", res);
  return "";
}

/** CHECK: the pod's address range must still be inside the node's current lease (when subnet.env is readable). */
async function checkLease(delegate: JsonObject, conf: FlannelNetConf, io: PluginIo): Promise<void> {
  let subnetEnv: SubnetEnv;
  try {
    subnetEnv = await loadSubnetEnv(conf.subnetFile, io);
  } catch {
    return; // the agent being down does not break running pods
  }
  const current = [subnetEnv.subnet, subnetEnv.ipv6Subnet].filter((s) => s !== undefined);
  for (const range of savedRanges(delegate)) {
    let net;
    try {
      net = parseCidr(range);
    } catch {
      continue;
    }
    if (
      !current.some((c) =>
        c.addr.family === net.addr.family && c.prefixLen <= net.prefixLen && netContains(c, net.addr)
      )
    ) {
      throw new CniError(
        ErrorCode.Internal,
        `the pod's addresses come from ${range}, but this node's lease is now ${
          current.map(formatCidr).join(", ")
        }`,
        `the node's subnet changed (see ${conf.subnetFile}); the pod is no longer routable: recreate it`,
      );
    }
  }
}

/**
 * Runs STATUS: ready when subnet.env loads; otherwise code 50 "plugin not available" with the reason.
 *
 * @param _env the CNI environment (unused)
 * @param conf the flannel network configuration
 * @param io the outside world
 * @returns the empty output
 * @throws {CniError} code 50 while subnet.env is missing, incomplete or unreadable
 */
export async function cmdStatus(_env: CniEnv, conf: FlannelNetConf, io: PluginIo): Promise<string> {
  try {
    await loadSubnetEnv(conf.subnetFile, io);
  } catch (e) {
    const err = e as CniError;
    throw new CniError(ErrorCode.PluginNotAvailable, `plugin not available: ${err.message}`, err.details);
  }
  return "";
}
