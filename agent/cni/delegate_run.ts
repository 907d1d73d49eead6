/**
 * Finding, running and reporting the delegate plugin (`bridge` by default): the lookup in CNI_PATH, the call,
 * the VERSION query used to negotiate an older CNI version, and the error for a delegate that failed, which
 * keeps the delegate's own code and prefixes our context so the runtime's log says which plugin failed at what.
 *
 * @module
 */
import { CniError, ErrorCode } from "./errors.ts";
import type { CniEnv } from "./netconf.ts";
import type { ExecResult, PluginIo } from "./plugin_io.ts";
import { parseErrorJson } from "./result.ts";

/**
 * Finds the delegate in CNI_PATH, or says how to fix it.
 *
 * @param type the delegate's `type` (its program name)
 * @param env the CNI environment (only `path`, CNI_PATH, is read)
 * @param io the outside world
 * @returns the delegate's path
 * @throws {CniError} code 999 naming the directories searched and the package to install
 */
export async function findDelegate(type: string, env: Pick<CniEnv, "path">, io: PluginIo): Promise<string> {
  const found = await io.findInPath(type, env.path);
  if (found === undefined) {
    throw new CniError(
      ErrorCode.Internal,
      `failed to find plugin "${type}" in path [${env.path.split(":").filter(Boolean).join(" ")}]`,
      `the flannel plugin delegates to the "${type}" plugin: install the reference CNI plugins ` +
        `(containernetworking-plugins) into a CNI_PATH directory, or change "delegate"."type"`,
    );
  }
  return found;
}

/** Known delegate failures and what to do about them. */
function delegateHint(msg: string): string {
  if (/already has an IP address different from/.test(msg)) {
    return "the node's subnet (subnet.env) changed while the bridge kept its old gateway address, so pods on " +
      "the old subnet are stranded: once they are gone, delete the bridge (`ip link delete cni0`), or set " +
      '"forceAddress": true under "delegate"';
  }
  return "";
}

/**
 * The error for a delegate that failed: its own code kept, our context prefixed.
 *
 * @param type the delegate's `type`
 * @param command the CNI command it ran
 * @param res what it printed and exited with
 * @param note a sentence appended to the details (what was kept for a retry)
 * @returns the error to throw
 * @example
 * ```ts
 * import { delegateError } from "./delegate_run.ts";
 * const res = { code: 1, stdout: '{"code":11,"msg":"busy"}', stderr: "" };
 * const error = delegateError("bridge", "ADD", res);
 * console.assert(error.code === 11 && error.message === 'delegate "bridge" ADD failed: busy');
 * ```
 */
export function delegateError(type: string, command: string, res: ExecResult, note = ""): CniError {
  const parsed = parseErrorJson(res.stdout);
  const join = (...parts: (string | undefined)[]) => parts.filter((p) => p).join("; ");
  if (parsed) {
    return new CniError(
      parsed.code,
      `delegate "${type}" ${command} failed: ${parsed.msg}`,
      join(parsed.details, delegateHint(parsed.msg), note),
    );
  }
  const tail = (res.stderr.trim() || res.stdout.trim()).slice(-1000);
  return new CniError(
    ErrorCode.Internal,
    `delegate "${type}" ${command} failed with exit code ${res.code}${tail ? `: ${tail}` : ""}`,
    note,
  );
}

/**
 * Runs the delegate with a configuration on stdin and CNI_COMMAND (and any other variable) in `env`.
 *
 * @param io the outside world
 * @param program the delegate's path ({@linkcode findDelegate})
 * @param stdin the configuration
 * @param env variables set on top of ours (CNI_COMMAND at least)
 * @returns what the delegate printed and exited with
 */
export function runDelegate(
  io: PluginIo,
  program: string,
  stdin: string,
  env: Record<string, string>,
): Promise<ExecResult> {
  return io.exec(program, { stdin, env });
}

/**
 * Asks a delegate which versions it speaks (`CNI_COMMAND=VERSION`).
 *
 * @param io the outside world
 * @param program the delegate's path
 * @param wanted the version we would like to speak, sent as the configuration's `cniVersion`
 * @returns its `supportedVersions`; none when it fails or prints something else
 */
export async function delegateVersions(io: PluginIo, program: string, wanted: string): Promise<string[]> {
  const res = await runDelegate(io, program, JSON.stringify({ cniVersion: wanted }), {
    CNI_COMMAND: "VERSION",
  });
  if (res.code !== 0) return [];
  try {
    const info = JSON.parse(res.stdout) as { supportedVersions?: unknown };
    return Array.isArray(info.supportedVersions)
      ? info.supportedVersions.filter((v) => typeof v === "string")
      : [];
  } catch {
    return [];
  }
}
