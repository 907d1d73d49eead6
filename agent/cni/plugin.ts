/**
 * The `flannel` CNI plugin: reads subnet.env, builds the configuration of the standard `bridge` plugin (with
 * `host-local` IPAM over the node's subnet and a route to the whole flannel network), saves it, and delegates
 * ADD, DEL and CHECK to it — as upstream's `flannel-io/cni-plugin` does, with the same delegate configuration
 * byte for byte. The command logic is here; every file, process and environment access goes through the
 * {@linkcode PluginIo} passed in (`io.ts` has the real one), so the logic is tested without root.
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
import {
  buildDelegateConfig,
  type DelegateConfig,
  renderDelegateConfig,
  validateDelegate,
} from "./delegate_config.ts";
import { CniError, ErrorCode, errorJson } from "./errors.ts";
import { goJson, type GoJsonValue } from "./go_json.ts";
import {
  type CniEnv,
  decodeNetConf,
  type FlannelNetConf,
  type JsonObject,
  parseFlannelNetConf,
  readCniEnv,
} from "./netconf.ts";
import { chainResult, parseErrorJson, parseResult, renderJson, withRouteGateways } from "./result.ts";
import { parseSubnetEnv, type SubnetEnv, SubnetEnvError } from "./subnet_env.ts";
import { checkVersion, configVersion, CURRENT_VERSION, fallbackVersion, versionInfo } from "./version.ts";
import { formatCidr, netContains, parseCidr } from "../ip.ts";

/** What running a delegate produced. */
export interface ExecResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Everything the plugin does to the outside world. `io.ts` has the real implementation. */
export interface PluginIo {
  /** Reads an environment variable. */
  getenv(name: string): string | undefined;
  /** Reads all of stdin. */
  readStdin(): Promise<string>;
  /** Reads a text file; `undefined` when it does not exist. */
  readFile(path: string): Promise<string | undefined>;
  /** Writes a file atomically (parent created 0700, file 0600, synced before the rename). */
  writeFile(path: string, text: string): Promise<void>;
  /** Removes a file; a missing file is not an error. */
  removeFile(path: string): Promise<void>;
  /** The names in a directory; none when it does not exist. */
  listDir(path: string): Promise<string[]>;
  /** The first regular file named `name` in the `:`-separated directories of `path`. */
  findInPath(name: string, path: string): Promise<string | undefined>;
  /** Runs a plugin with `stdin`, our environment plus `env`, no arguments. */
  exec(program: string, options: { stdin: string; env: Record<string, string> }): Promise<ExecResult>;
  /** Writes a diagnostic line to stderr. */
  log(line: string): void;
}

/** What the process should print and exit with. */
export interface Outcome {
  readonly stdout: string;
  readonly exitCode: number;
}

/** The file upstream's plugin saves for a container (read for compatibility). */
export function legacySavedPath(dataDir: string, containerId: string): string {
  return `${dataDir}/${containerId}`;
}

/** The file we save for a container's interface. `@` cannot occur in a container ID, so the name is unambiguous. */
export function savedPath(dataDir: string, containerId: string, ifname: string): string {
  return `${dataDir}/${containerId}@${ifname}`;
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

const AGENT_HINT = (path: string) =>
  `is the flannel agent running on this node? it writes ${path} once it holds a lease; ` +
  `check its log (e.g. \`journalctl -u flanneld\` or the kube-flannel pod's log)`;

/**
 * Reads and parses subnet.env. Missing or incomplete → code 11 (the agent may not have a lease yet: retrying
 * helps); a bad value → code 999; unreadable → code 5.
 */
async function loadSubnetEnv(path: string, io: PluginIo): Promise<SubnetEnv> {
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

/** Finds the delegate in CNI_PATH, or says how to fix it. */
async function findDelegate(type: string, env: CniEnv, io: PluginIo): Promise<string> {
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

/** The error for a delegate that failed: its own code kept, our context prefixed. */
function delegateError(type: string, command: string, res: ExecResult, note = ""): CniError {
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

function runDelegate(
  io: PluginIo,
  program: string,
  stdin: string,
  env: Record<string, string>,
): Promise<ExecResult> {
  return io.exec(program, { stdin, env });
}

/** Asks a delegate which versions it speaks (`CNI_COMMAND=VERSION`). */
async function delegateVersions(io: PluginIo, program: string, wanted: string): Promise<string[]> {
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

async function cmdAdd(env: CniEnv, conf: FlannelNetConf, io: PluginIo): Promise<string> {
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

/** The saved configuration for a container's interface (ours, else upstream's), or `undefined`. */
async function readSaved(
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

function parseSaved(text: string): JsonObject | undefined {
  try {
    const v = JSON.parse(text) as unknown;
    return typeof v === "object" && v !== null && !Array.isArray(v) ? v as JsonObject : undefined;
  } catch {
    return undefined;
  }
}

async function cmdDel(env: CniEnv, conf: FlannelNetConf, io: PluginIo): Promise<string> {
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
  const program = await findDelegate(type, { path: cniPath } as CniEnv, io);
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

/** The IPv4/IPv6 subnets a saved delegate configuration allocates from. */
function savedRanges(saved: JsonObject): string[] {
  const ipam = saved["ipam"] as JsonObject | undefined;
  const ranges = ipam?.["ranges"];
  if (!Array.isArray(ranges)) return [];
  return ranges.flat().map((r) => (r as JsonObject | null)?.["subnet"]).filter((s): s is string =>
    typeof s === "string"
  );
}

async function cmdCheck(env: CniEnv, conf: FlannelNetConf, io: PluginIo): Promise<string> {
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

async function cmdStatus(_env: CniEnv, conf: FlannelNetConf, io: PluginIo): Promise<string> {
  try {
    await loadSubnetEnv(conf.subnetFile, io);
  } catch (e) {
    const err = e as CniError;
    throw new CniError(ErrorCode.PluginNotAvailable, `plugin not available: ${err.message}`, err.details);
  }
  return "";
}

async function cmdGc(env: CniEnv, conf: FlannelNetConf, io: PluginIo): Promise<string> {
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
