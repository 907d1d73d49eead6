/**
 * The `flannel` CNI plugin: reads subnet.env, builds the configuration of the standard `bridge` plugin (with
 * `host-local` IPAM over the node's subnet and a route to the whole flannel network), saves it, and delegates
 * ADD, DEL and CHECK to it — as upstream's `flannel-io/cni-plugin` does, with the same delegate configuration
 * byte for byte. This file validates an invocation and dispatches it; the commands are `cmd_add.ts` (ADD),
 * `cmd_del.ts` (DEL, GC) and `cmd_check.ts` (CHECK, STATUS), over `delegate_run.ts` (finding and running the
 * delegate), `saved_config.ts` (the saved delegate configurations) and `load_subnet_env.ts`. Every file,
 * process and environment access goes through the {@linkcode PluginIo} passed in (`plugin_io.ts`; `io.ts` has
 * the real one), so the logic is tested without root.
 *
 * ## Differences from upstream's flannel CNI plugin
 *
 * - **Saved configuration keyed by container and interface.** Upstream saves the delegate configuration as
 *   `<dataDir>/<CNI_CONTAINERID>`, so two flannel interfaces of one container overwrite each other and the first
 *   one's address is never released. We save `<dataDir>/<CNI_CONTAINERID>@<CNI_IFNAME>`; DEL, CHECK and GC still
 *   read upstream's `<dataDir>/<CNI_CONTAINERID>` when ours is absent, so pods added by upstream's plugin before
 *   an upgrade are deleted cleanly. (After a downgrade, upstream's DEL would not find our files: it succeeds
 *   without releasing the address, which host-local's directory then shows.)
 * - **DEL keeps the saved configuration when the delegate's DEL fails**, so the runtime's retry can still
 *   release the address; upstream removes it whatever happened (its cleanup sees a stale `nil` error).
 * - **A failed ADD leaves nothing behind.** When the delegate's ADD fails (or prints an unreadable result) we
 *   run the delegate's DEL with the same configuration — releasing the address and removing the veth — and
 *   remove the saved file. Upstream leaves both to the runtime's DEL. If that cleanup DEL fails as well, the file
 *   is kept (and the error says so) so a later DEL can finish the job. The delegate is looked up in CNI_PATH
 *   before anything is saved.
 * - **CHECK is real.** Upstream's CHECK does nothing. Ours requires `prevResult` (spec), fails with code 3 when
 *   no ADD was recorded for the container and interface, fails when the node's subnet in subnet.env no longer
 *   contains the pod's range (the pod is stranded after a lease change), and otherwise runs the delegate's CHECK
 *   with the saved configuration plus `prevResult`, which verifies the veth, addresses, routes and the IPAM
 *   reservation. Routes without a gateway in that prevResult get the gateway they were installed through, so
 *   that the reference bridge plugin before v1.3.0 (Debian's 1.1.1 among them) does not fail every CHECK on
 *   flannel's `{"dst": "<network>"}` route (containernetworking/plugins#886).
 * - **STATUS reports readiness** (CNI 1.1): code 50 "plugin not available" while subnet.env is missing or
 *   incomplete, instead of upstream's unconditional success. **GC is implemented** (CNI 1.1): saved
 *   configurations of this network whose attachment is not in `cni.dev/valid-attachments` are released through
 *   the delegate's DEL (without a namespace) and removed.
 * - **CNI 1.1.0 with 1.0-era delegates.** The reference plugins up to v1.4 refuse cniVersion 1.1.0 (code 1), so
 *   upstream's ADD fails for 1.1.0 configurations on such nodes. When the delegate refuses 1.1.0, we ask its
 *   VERSION, speak the newest 1.x it supports (same result format) and report the result as 1.1.0; the saved
 *   file then carries the version actually used, so DEL and CHECK speak it too.
 * - **Errors say what to fix and are retryable when they should be.** A missing or incomplete subnet.env gives
 *   code 11 (try again later) naming the agent and the file, rather than code 999 with "open …: no such file";
 *   invalid configuration gives code 7 and undecodable stdin code 6 (upstream: 999 for its own checks);
 *   a delegate's error keeps its code and gets the delegate and command prefixed to its message.
 * - **ADD chains a prevResult** (spec): when flannel is not first in a chain, the previous plugins' interfaces,
 *   IPs and routes are kept before the delegate's. Upstream drops them.
 * - A line of subnet.env naming a known key without `=` is an error with its line number (upstream panics).
 *   `ipam.routes` entries without a `dst` are refused (upstream writes `"dst":"<nil>"`, which host-local then
 *   rejects). An empty `subnetFile`/`dataDir` means the default (upstream opens `""`).
 *
 * @module
 */
import { cmdAdd } from "./cmd_add.ts";
import { cmdCheck, cmdStatus } from "./cmd_check.ts";
import { cmdDel, cmdGc } from "./cmd_del.ts";
import { CniError, ErrorCode, errorJson } from "./errors.ts";
import {
  type CniEnv,
  decodeNetConf,
  type FlannelNetConf,
  parseFlannelNetConf,
  readCniEnv,
} from "./netconf.ts";
import type { PluginIo } from "./plugin_io.ts";
import { renderJson } from "./result.ts";
import { checkVersion, configVersion, CURRENT_VERSION, versionInfo } from "./version.ts";

/** What the process should print and exit with. */
export interface Outcome {
  readonly stdout: string;
  readonly exitCode: number;
}

/**
 * Runs one CNI invocation: validates the environment and stdin as libcni's `skel` does, runs the command, and
 * turns any failure into the spec's error JSON.
 *
 * @param io the outside world
 * @returns what to print on stdout and the exit code
 */
export async function runPlugin(io: PluginIo): Promise<Outcome> {
  let version = CURRENT_VERSION;
  try {
    const env = readCniEnv((n) => io.getenv(n));
    if (env.command === "VERSION") return { stdout: versionInfo(), exitCode: 0 };
    let stdin: string;
    try {
      stdin = await io.readStdin();
    } catch (e) {
      throw new CniError(ErrorCode.IoFailure, `error reading from stdin: ${(e as Error).message}`);
    }
    const raw = decodeNetConf(stdin);
    const declared = configVersion(raw);
    checkVersion(env.command, declared);
    version = declared;
    const conf = parseFlannelNetConf(raw);
    const stdout = await COMMANDS[env.command](env, conf, io);
    return { stdout, exitCode: 0 };
  } catch (error) {
    return { stdout: renderJson(errorJson(error, version)) + "\n", exitCode: 1 };
  }
}

type Handler = (env: CniEnv, conf: FlannelNetConf, io: PluginIo) => Promise<string>;

const COMMANDS: Readonly<Record<Exclude<CniEnv["command"], "VERSION">, Handler>> = {
  ADD: cmdAdd,
  DEL: cmdDel,
  CHECK: cmdCheck,
  STATUS: cmdStatus,
  GC: cmdGc,
};
