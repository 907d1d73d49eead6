/**
 * CNI spec versions: parsing and comparing them as libcni does, the versions this plugin speaks, and the checks
 * libcni's `skel` makes before a command runs. Pure.
 *
 * @module
 */
import { CniError, ErrorCode } from "./errors.ts";

/** The newest spec version implemented (what VERSION reports as its own `cniVersion`). */
export const CURRENT_VERSION = "1.1.0";

/**
 * The versions this plugin accepts: upstream's list (`version.All` of libcni 1.3). The plugin passes the
 * delegate's result through, so the older result formats (0.1.0/0.2.0) work exactly as the delegate writes them.
 */
export const SUPPORTED_VERSIONS: readonly string[] = [
  "0.1.0",
  "0.2.0",
  "0.3.0",
  "0.3.1",
  "0.4.0",
  "1.0.0",
  "1.1.0",
];

/** A parsed version: major, minor, micro. */
export type Version = readonly [number, number, number];

/**
 * Parses a version as libcni's `ParseVersion` does: `""` means 0.1.0, missing parts are 0, four parts or a
 * non-number are errors (code 6).
 *
 * @param text the version string
 * @returns major, minor and micro
 * @example Parsing
 * ```ts
 * import { parseVersion } from "./version.ts";
 * const [major, minor] = parseVersion("1.1.0");
 * if (major !== 1 || minor !== 1) throw new Error("wrong");
 * ```
 */
export function parseVersion(text: string): Version {
  if (text === "") return [0, 1, 0];
  const parts = text.split(".");
  if (parts.length >= 4) {
    throw new CniError(ErrorCode.DecodingFailure, `invalid version "${text}": too many parts`);
  }
  const nums = parts.map((p) => {
    // Go's strconv.Atoi: optional sign, decimal digits.
    if (!/^[+-]?\d+$/.test(p)) {
      throw new CniError(ErrorCode.DecodingFailure, `invalid version "${text}": "${p}" is not a number`);
    }
    return Number(p);
  });
  return [nums[0] ?? 0, nums[1] ?? 0, nums[2] ?? 0];
}

/** Compares two versions: negative, zero or positive. Throws code 6 on an unparsable one. */
export function compareVersions(a: string, b: string): number {
  const [x, y] = [parseVersion(a), parseVersion(b)];
  return x[0] - y[0] || x[1] - y[1] || x[2] - y[2];
}

/**
 * The version a network configuration declares: its `cniVersion`, or 0.1.0 when absent or empty (libcni's
 * `DecodeVersion`). A non-string `cniVersion` is a decoding failure.
 */
export function configVersion(conf: Readonly<Record<string, unknown>>): string {
  const v = conf["cniVersion"];
  if (v === undefined || v === null || v === "") return "0.1.0";
  if (typeof v !== "string") {
    throw new CniError(ErrorCode.DecodingFailure, `"cniVersion" must be a string, not ${JSON.stringify(v)}`);
  }
  return v;
}

/** The lowest config version at which each command exists (CHECK since 0.4.0, STATUS and GC since 1.1.0). */
const SINCE: Readonly<Record<string, string>> = { CHECK: "0.4.0", STATUS: "1.1.0", GC: "1.1.0" };

/**
 * Checks, as libcni's `skel` does, that this plugin speaks the configuration's version and that the command
 * exists in it. Throws code 1 otherwise (code 6 when the version does not parse).
 *
 * @param command CNI_COMMAND
 * @param version the configuration's version
 */
export function checkVersion(command: string, version: string): void {
  const since = SINCE[command];
  if (since !== undefined && compareVersions(version, since) < 0) {
    throw new CniError(
      ErrorCode.IncompatibleCniVersion,
      `config version does not allow ${command}`,
      `config is "${version}"; ${command} needs cniVersion ${since} or newer`,
    );
  }
  if (!SUPPORTED_VERSIONS.includes(version)) {
    throw new CniError(
      ErrorCode.IncompatibleCniVersion,
      "incompatible CNI versions",
      `config is "${version}", plugin supports [${SUPPORTED_VERSIONS.map((v) => `"${v}"`).join(" ")}]: ` +
        `set "cniVersion" in the network configuration to one of these`,
    );
  }
}

/** The VERSION answer, as libcni encodes it (`json.Encoder`: compact, newline-terminated). */
export function versionInfo(): string {
  return JSON.stringify({ cniVersion: CURRENT_VERSION, supportedVersions: SUPPORTED_VERSIONS }) + "\n";
}

/**
 * Picks the version to speak to a delegate that refused `wanted`: the newest of `delegateSupports` that is older
 * than `wanted` but has the same result format (1.0.0 and 1.1.0 results are identical). Returns `undefined` when
 * none fits.
 *
 * @param wanted the configuration's version
 * @param delegateSupports the delegate's VERSION answer
 * @returns the version to use, or `undefined`
 */
export function fallbackVersion(wanted: string, delegateSupports: readonly string[]): string | undefined {
  if (compareVersions(wanted, "1.0.0") <= 0) return undefined;
  let best: string | undefined;
  for (const v of delegateSupports) {
    let ok: boolean;
    try {
      ok = compareVersions(v, "1.0.0") >= 0 && compareVersions(v, wanted) < 0;
    } catch {
      continue;
    }
    if (ok && (best === undefined || compareVersions(v, best) > 0)) best = v;
  }
  return best;
}
