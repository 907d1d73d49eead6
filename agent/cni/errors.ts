/**
 * CNI errors: the spec's well-known codes and the error object a plugin prints on stdout. Pure.
 *
 * @module
 */

/** The CNI specification's well-known error codes (SPEC.md "Error"), named as libcni names them. */
export const ErrorCode = {
  /** Incompatible CNI version. */
  IncompatibleCniVersion: 1,
  /** Unsupported field in the network configuration; `details` names the field. */
  UnsupportedField: 2,
  /** Container unknown or does not exist: the runtime need not clean up. */
  UnknownContainer: 3,
  /** Invalid necessary environment variables (CNI_COMMAND, CNI_CONTAINERID, …). */
  InvalidEnvironmentVariables: 4,
  /** I/O failure, such as failing to read stdin. */
  IoFailure: 5,
  /** Failed to decode content (stdin is not JSON, a version string is not one). */
  DecodingFailure: 6,
  /** Invalid network configuration. */
  InvalidNetworkConfig: 7,
  /** The namespace given is not usable (libcni's code; not in the spec's table). */
  InvalidNetNs: 8,
  /** Try again later: a transient condition; the same request may succeed when retried. */
  TryAgainLater: 11,
  /** STATUS: the plugin is not available, ADD would fail. */
  PluginNotAvailable: 50,
  /** STATUS: limited connectivity. */
  LimitedConnectivity: 51,
  /** Plugin-specific (libcni's `ErrInternal`). */
  Internal: 999,
} as const;

/** A CNI error: printed on stdout as `{cniVersion, code, msg, details}` with a non-zero exit. */
export class CniError extends Error {
  override name = "CniError";
  /** One of {@linkcode ErrorCode} or a delegate's own code. */
  readonly code: number;
  /** Longer explanation; omitted from the JSON when empty (libcni's `omitempty`). */
  readonly details: string;

  constructor(code: number, msg: string, details = "", options?: { cause?: unknown }) {
    super(msg, options);
    this.code = code;
    this.details = details;
  }
}

/** The error object of the spec, in the order libcni prints it (with `cniVersion` first, as the spec shows). */
export interface ErrorJson {
  readonly cniVersion: string;
  readonly code: number;
  readonly msg: string;
  readonly details?: string;
}

/**
 * Turns anything thrown into the spec's error object. A {@linkcode CniError} keeps its code; anything else is a
 * bug and becomes code 999 with its message.
 *
 * @param error what was thrown
 * @param cniVersion the version to report (the request's when known)
 * @returns the error object
 * @example Rendering an error
 * ```ts
 * import { CniError, errorJson } from "./errors.ts";
 * const json = errorJson(new CniError(4, "required env variables [CNI_PATH] missing"), "1.0.0");
 * if (json.code !== 4) throw new Error("code lost");
 * ```
 */
export function errorJson(error: unknown, cniVersion: string): ErrorJson {
  if (error instanceof CniError) {
    return error.details
      ? { cniVersion, code: error.code, msg: error.message, details: error.details }
      : { cniVersion, code: error.code, msg: error.message };
  }
  const msg = error instanceof Error ? error.message : String(error);
  return { cniVersion, code: ErrorCode.Internal, msg };
}
