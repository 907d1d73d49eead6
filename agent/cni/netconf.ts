/**
 * The plugin's input: the CNI_* environment variables and the network configuration on stdin, validated in the
 * order libcni's `skel` validates them, with the flannel fields upstream's plugin reads. Pure.
 *
 * @module
 */
import { CniError, ErrorCode } from "./errors.ts";

/** The CNI commands (CNI_COMMAND values) of spec 1.1.0. */
export type CniCommand = "ADD" | "DEL" | "CHECK" | "VERSION" | "STATUS" | "GC";

const COMMANDS: readonly CniCommand[] = ["ADD", "DEL", "CHECK", "VERSION", "STATUS", "GC"];

/** The CNI_* variables of one invocation. Optional ones are `""` when unset, as with Go's `os.Getenv`. */
export interface CniEnv {
  readonly command: CniCommand;
  readonly containerId: string;
  readonly netns: string;
  readonly ifname: string;
  readonly args: string;
  readonly path: string;
}

/** Which variables each command requires (libcni `skel`'s `reqForCmd` table). */
const REQUIRED: Readonly<Record<string, readonly CniCommand[]>> = {
  CNI_CONTAINERID: ["ADD", "CHECK", "DEL"],
  CNI_NETNS: ["ADD", "CHECK"],
  CNI_IFNAME: ["ADD", "CHECK", "DEL"],
  CNI_PATH: ["ADD", "CHECK", "DEL", "GC", "STATUS"],
};

/** Container IDs and network names: libcni's `^[a-zA-Z0-9][a-zA-Z0-9_.\-]*$`. */
const NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.\-]*$/;

const ENV_HINT =
  "the container runtime sets CNI_COMMAND, CNI_CONTAINERID, CNI_NETNS, CNI_IFNAME and CNI_PATH; " +
  'when invoking the plugin by hand, export them (see the CNI spec, section "Parameters")';

/**
 * Validates an interface name as libcni does (and as the kernel's `dev_valid_name` does).
 *
 * @param ifname CNI_IFNAME
 * @throws {CniError} code 4
 */
export function validateIfname(ifname: string): void {
  const fail = (msg: string, details = "") => {
    throw new CniError(ErrorCode.InvalidEnvironmentVariables, msg, details);
  };
  if (ifname.length === 0) fail("interface name is empty");
  if (new TextEncoder().encode(ifname).length > 15) {
    fail("interface name is too long", "interface name should be less than 16 characters");
  }
  if (ifname === "." || ifname === "..") fail("interface name is . or ..");
  if (/[/:\s]/u.test(ifname)) fail("interface name contains / or : or whitespace characters");
}

/**
 * Reads and validates the CNI_* variables for a command. CNI_COMMAND must be set (the caller decides what to do
 * without it).
 *
 * @param getenv reads one variable (`Deno.env.get` in the plugin)
 * @returns the variables
 * @throws {CniError} code 4 for missing or invalid variables, code 3 for an empty container ID
 * @example The variables of an ADD
 * ```ts
 * import { readCniEnv } from "./netconf.ts";
 * const vars: Record<string, string> = {
 *   CNI_COMMAND: "ADD", CNI_CONTAINERID: "abc", CNI_NETNS: "/run/netns/p", CNI_IFNAME: "eth0", CNI_PATH: "/opt/cni/bin",
 * };
 * const env = readCniEnv((n) => vars[n]);
 * if (env.command !== "ADD") throw new Error("misread");
 * ```
 */
export function readCniEnv(getenv: (name: string) => string | undefined): CniEnv {
  const get = (name: string) => getenv(name) ?? "";
  const command = get("CNI_COMMAND");
  const missing: string[] = [];
  if (command === "") missing.push("CNI_COMMAND");
  for (const [name, commands] of Object.entries(REQUIRED)) {
    if (get(name) === "" && commands.includes(command as CniCommand)) missing.push(name);
  }
  if (missing.length > 0) {
    throw new CniError(
      ErrorCode.InvalidEnvironmentVariables,
      `required env variables [${missing.join(",")}] missing`,
      ENV_HINT,
    );
  }
  if (!COMMANDS.includes(command as CniCommand)) {
    throw new CniError(
      ErrorCode.InvalidEnvironmentVariables,
      `unknown CNI_COMMAND: ${command}`,
      `CNI_COMMAND must be one of ${COMMANDS.join(", ")}`,
    );
  }
  const cmd = command as CniCommand;
  const containerId = get("CNI_CONTAINERID");
  const ifname = get("CNI_IFNAME");
  if (REQUIRED["CNI_CONTAINERID"]!.includes(cmd) && !NAME_RE.test(containerId)) {
    throw new CniError(
      ErrorCode.InvalidEnvironmentVariables,
      "invalid characters in containerID",
      containerId,
    );
  }
  if (REQUIRED["CNI_IFNAME"]!.includes(cmd)) validateIfname(ifname);
  return {
    command: cmd,
    containerId,
    netns: get("CNI_NETNS"),
    ifname,
    args: get("CNI_ARGS"),
    path: get("CNI_PATH"),
  };
}

/** A JSON object. */
export type JsonObject = Record<string, unknown>;

function isObject(v: unknown): v is JsonObject {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * Decodes stdin into a network configuration object and checks its name (libcni `skel`'s `validateConfig`).
 *
 * @param stdin the text on stdin
 * @returns the configuration object
 * @throws {CniError} code 6 when stdin is empty or not a JSON object, code 7 for a missing or invalid name
 */
export function decodeNetConf(stdin: string): JsonObject {
  if (stdin.trim() === "") {
    throw new CniError(
      ErrorCode.DecodingFailure,
      "empty network configuration on stdin",
      "the container runtime passes the network configuration (this plugin's entry of the .conflist in " +
        '/etc/cni/net.d, with "cniVersion" and "name") on stdin; when invoking by hand, pipe it in',
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(stdin);
  } catch (e) {
    throw new CniError(
      ErrorCode.DecodingFailure,
      `error decoding the network configuration on stdin: ${(e as Error).message}`,
      `stdin must be one JSON object; it starts with ${JSON.stringify(stdin.slice(0, 40))}`,
    );
  }
  if (!isObject(value)) {
    throw new CniError(
      ErrorCode.DecodingFailure,
      `error decoding the network configuration on stdin: expected a JSON object, got ${
        Array.isArray(value) ? "an array" : value === null ? "null" : `a ${typeof value}`
      }`,
    );
  }
  const name = value["name"];
  if (name !== undefined && name !== null && typeof name !== "string") {
    throw new CniError(ErrorCode.DecodingFailure, `"name" must be a string, not ${JSON.stringify(name)}`);
  }
  if (!name) {
    throw new CniError(
      ErrorCode.InvalidNetworkConfig,
      "missing network name",
      'set "name" in the network configuration (for example "cbr0")',
    );
  }
  if (!NAME_RE.test(name)) {
    throw new CniError(ErrorCode.InvalidNetworkConfig, "invalid characters found in network name", name);
  }
  return value;
}

/** Upstream's defaults. */
export const DEFAULT_SUBNET_FILE = "/run/flannel/subnet.env";
/** Upstream's defaults. */
export const DEFAULT_DATA_DIR = "/var/lib/cni/flannel";

/** The flannel plugin's network configuration (upstream's `NetConf`). */
export interface FlannelNetConf {
  /** As written; `""` when absent (then the delegate gets no `cniVersion`, as upstream does). */
  readonly cniVersion: string;
  readonly name: string;
  readonly subnetFile: string;
  readonly dataDir: string;
  readonly delegate: JsonObject | undefined;
  readonly ipam: JsonObject | undefined;
  readonly runtimeConfig: JsonObject | undefined;
  readonly prevResult: JsonObject | undefined;
  /** The whole decoded object (GC reads `cni.dev/valid-attachments` from it). */
  readonly raw: JsonObject;
}

function optionalObject(conf: JsonObject, key: string): JsonObject | undefined {
  const v = conf[key];
  if (v === undefined || v === null) return undefined;
  if (!isObject(v)) {
    throw new CniError(
      ErrorCode.InvalidNetworkConfig,
      `"${key}" must be a JSON object, not ${JSON.stringify(v)}`,
      `fix "${key}" in the flannel entry of the CNI configuration`,
    );
  }
  return v;
}

function optionalString(conf: JsonObject, key: string, fallback: string): string {
  const v = conf[key];
  if (v === undefined || v === null || v === "") return fallback;
  if (typeof v !== "string") {
    throw new CniError(ErrorCode.InvalidNetworkConfig, `"${key}" must be a string, not ${JSON.stringify(v)}`);
  }
  return v;
}

/**
 * Reads the flannel fields of a decoded configuration, with upstream's defaults.
 *
 * @param conf the object from {@linkcode decodeNetConf}
 * @returns the typed configuration
 * @throws {CniError} code 7 when a field has the wrong type
 */
export function parseFlannelNetConf(conf: JsonObject): FlannelNetConf {
  const cniVersion = conf["cniVersion"];
  return {
    cniVersion: typeof cniVersion === "string" ? cniVersion : "",
    name: conf["name"] as string,
    subnetFile: optionalString(conf, "subnetFile", DEFAULT_SUBNET_FILE),
    dataDir: optionalString(conf, "dataDir", DEFAULT_DATA_DIR),
    delegate: optionalObject(conf, "delegate"),
    ipam: optionalObject(conf, "ipam"),
    runtimeConfig: optionalObject(conf, "runtimeConfig"),
    prevResult: optionalObject(conf, "prevResult"),
    raw: conf,
  };
}
