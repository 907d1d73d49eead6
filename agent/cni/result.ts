/**
 * CNI results: reading a delegate's answer, adjusting it to the version the runtime asked for, chaining a
 * `prevResult`, and the text printed on stdout. Pure.
 *
 * @module
 */
import { CniError, ErrorCode, type ErrorJson } from "./errors.ts";
import type { JsonObject } from "./netconf.ts";
import { compareVersions } from "./version.ts";

/**
 * Parses a delegate's stdout as a result object.
 *
 * @param stdout what the delegate printed
 * @param what who printed it, for the message
 * @returns the result object
 * @throws {CniError} code 999 when it is not a JSON object
 */
export function parseResult(stdout: string, what: string): JsonObject {
  let value: unknown;
  try {
    value = JSON.parse(stdout);
  } catch (e) {
    throw new CniError(
      ErrorCode.Internal,
      `${what} printed an unreadable result: ${(e as Error).message}`,
      `stdout was ${JSON.stringify(stdout.slice(0, 200))}`,
    );
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new CniError(ErrorCode.Internal, `${what} printed a result that is not a JSON object`);
  }
  return value as JsonObject;
}

/**
 * Reads a CNI error object from a failed delegate's stdout, or `undefined` when stdout holds none.
 *
 * @param stdout the delegate's stdout
 * @returns its code, msg and details
 */
export function parseErrorJson(stdout: string): Omit<ErrorJson, "cniVersion"> | undefined {
  try {
    const v = JSON.parse(stdout) as Record<string, unknown>;
    if (typeof v !== "object" || v === null || typeof v["code"] !== "number") return undefined;
    const msg = typeof v["msg"] === "string" ? v["msg"] : "";
    const details = typeof v["details"] === "string" && v["details"] !== "" ? v["details"] : undefined;
    return details === undefined ? { code: v["code"], msg } : { code: v["code"], msg, details };
  } catch {
    return undefined;
  }
}

function list(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

/**
 * Chains an ADD result after a `prevResult` (spec: a plugin given a prevResult must output it, possibly
 * modified): interfaces, IPs and routes of the previous plugins first, then the delegate's, with the delegate's
 * `ips[].interface` indices shifted past the previous interfaces; DNS from the delegate unless it has none. Only
 * for results of 0.3.0 and later (older ones have no chaining).
 *
 * @param prev the prevResult given to us
 * @param result the delegate's result
 * @returns the combined result
 */
export function chainResult(prev: JsonObject, result: JsonObject): JsonObject {
  const version = typeof result["cniVersion"] === "string" ? result["cniVersion"] : "";
  let chained = false;
  try {
    chained = compareVersions(version, "0.3.0") >= 0;
  } catch { /* unparsable: leave the result alone */ }
  if (!chained) return result;
  const prevInterfaces = list(prev["interfaces"]);
  const shift = prevInterfaces.length;
  const ips = list(result["ips"]).map((ip) => {
    if (typeof ip !== "object" || ip === null) return ip;
    const entry = ip as JsonObject;
    return typeof entry["interface"] === "number"
      ? { ...entry, interface: entry["interface"] + shift }
      : entry;
  });
  const out: JsonObject = { cniVersion: version };
  const interfaces = [...prevInterfaces, ...list(result["interfaces"])];
  if (interfaces.length > 0) out["interfaces"] = interfaces;
  const allIps = [...list(prev["ips"]), ...ips];
  if (allIps.length > 0) out["ips"] = allIps;
  const routes = [...list(prev["routes"]), ...list(result["routes"])];
  if (routes.length > 0) out["routes"] = routes;
  const dns = result["dns"] as JsonObject | undefined;
  const hasDns = typeof dns === "object" && dns !== null && Object.keys(dns).length > 0;
  if (hasDns) out["dns"] = dns;
  else if (prev["dns"] !== undefined) out["dns"] = prev["dns"];
  return out;
}

/**
 * Fills in the gateway of routes that have none with the gateway of the result's IP of the same family — the
 * gateway the bridge plugin installed them through (libcni `ipam.ConfigureIface`). Used on the prevResult handed
 * to the delegate's CHECK: the reference plugins before v1.3.0 look for a route without a gateway and so never
 * find what they installed (containernetworking/plugins#886, fixed by #887).
 *
 * @param result a result of 0.3.0 or later
 * @returns a copy with the gateways filled in
 */
export function withRouteGateways(result: JsonObject): JsonObject {
  const gateways = new Map<string, string>();
  for (const ip of list(result["ips"])) {
    const entry = (ip ?? {}) as JsonObject;
    if (typeof entry["gateway"] !== "string" || typeof entry["address"] !== "string") continue;
    const family = entry["address"].includes(":") ? "6" : "4";
    if (!gateways.has(family)) gateways.set(family, entry["gateway"]);
  }
  if (!Array.isArray(result["routes"])) return result;
  const routes = result["routes"].map((r: unknown) => {
    const route = (r ?? {}) as JsonObject;
    if (typeof route["dst"] !== "string" || (typeof route["gw"] === "string" && route["gw"] !== "")) return r;
    const gw = gateways.get(route["dst"].includes(":") ? "6" : "4");
    return gw === undefined ? r : { ...route, gw };
  });
  return { ...result, routes };
}

/** Prints a result or error object as libcni does (`json.MarshalIndent` with four spaces). */
export function renderJson(value: unknown): string {
  return JSON.stringify(value, null, 4);
}
