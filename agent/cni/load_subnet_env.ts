/**
 * Reading the agent's subnet.env for the plugin, with errors that tell the runtime whether to retry: the file
 * missing or half-written means the agent has no lease yet (code 11, try again later), not a broken node.
 *
 * @module
 */
import { CniError, ErrorCode } from "./errors.ts";
import type { PluginIo } from "./plugin_io.ts";
import { parseSubnetEnv, type SubnetEnv, SubnetEnvError } from "./subnet_env.ts";

const AGENT_HINT = (path: string) =>
  `is the flannel agent running on this node? it writes ${path} once it holds a lease; ` +
  `check its log (e.g. \`journalctl -u flanneld\` or the kube-flannel pod's log)`;

/**
 * Reads and parses subnet.env. Missing or incomplete → code 11 (the agent may not have a lease yet: retrying
 * helps); a bad value → code 999; unreadable → code 5.
 *
 * @param path the `subnetFile` of the configuration
 * @param io the outside world
 * @returns the parsed file
 * @throws {CniError} with the codes above, naming the agent and the file
 */
export async function loadSubnetEnv(path: string, io: PluginIo): Promise<SubnetEnv> {
  let text: string | undefined;
  try {
    text = await io.readFile(path);
  } catch (e) {
    throw new CniError(
      ErrorCode.IoFailure,
      `failed to load flannel 'subnet.env' file ${path}: ${(e as Error).message}`,
    );
  }
  if (text === undefined) {
    throw new CniError(
      ErrorCode.TryAgainLater,
      `failed to load flannel 'subnet.env' file: ${path} does not exist`,
      AGENT_HINT(path),
    );
  }
  try {
    return parseSubnetEnv(text, path);
  } catch (e) {
    if (!(e instanceof SubnetEnvError)) throw e;
    if (e.missing.length > 0) {
      throw new CniError(
        ErrorCode.TryAgainLater,
        `failed to load flannel 'subnet.env' file: ${e.message}`,
        `the file looks half-written; ${AGENT_HINT(path)}`,
      );
    }
    throw new CniError(
      ErrorCode.Internal,
      `failed to load flannel 'subnet.env' file ${path}: ${e.message}`,
      `the flannel agent writes this file; if something else wrote it, fix or delete it and restart the agent`,
    );
  }
}
