/**
 * The delegate configuration: what upstream's plugin hands to the bridge plugin, built from the flannel network
 * configuration and subnet.env, and rendered byte for byte as upstream renders it (Go `json.Marshal` of a
 * `map[string]interface{}`: keys sorted at every level, compact; the IPAM routes are Go structs, so their keys
 * keep the struct's order `dst, gw, mtu, advmss, priority, table, scope`). Pure.
 *
 * For the README example (FLANNEL_IPMASQ=true, MTU 1472) this yields upstream's test string exactly:
 * `{"ipMasq":false,"ipam":{"ranges":[[{"subnet":"10.1.17.0/24"}]],"routes":[{"dst":"10.1.0.0/16"}],`
 * `"type":"host-local"},"isGateway":true,"mtu":1472,"name":"cni-flannel","type":"bridge"}`.
 *
 * @module
 */
import { formatCidr, formatIp, parseCidrWithIp, parseIp } from "../ip.ts";
import { CniError, ErrorCode } from "./errors.ts";
import { goJson, type GoJsonValue } from "./go_json.ts";
import type { FlannelNetConf, JsonObject } from "./netconf.ts";
import type { SubnetEnv } from "./subnet_env.ts";

/** A delegate configuration: a Go `map[string]interface{}` (IPAM routes are `Map`s, i.e. Go structs). */
export type DelegateConfig = { [key: string]: GoJsonValue };

function invalid(msg: string, details = ""): CniError {
  return new CniError(ErrorCode.InvalidNetworkConfig, msg, details);
}

/**
 * Checks the user's `delegate` object as upstream does: `type`, if present, a string; no `name` and no `ipam`
 * (flannel sets both). We also refuse a `type` with a `/`, which would name a binary outside CNI_PATH.
 *
 * @param delegate the `delegate` object of the configuration
 * @throws {CniError} code 7
 */
export function validateDelegate(delegate: JsonObject | undefined): void {
  if (delegate === undefined) return;
  if ("type" in delegate && typeof delegate["type"] !== "string") {
    throw invalid("'delegate' dictionary, if present, must have (string) 'type' field");
  }
  if (typeof delegate["type"] === "string" && (delegate["type"] === "" || delegate["type"].includes("/"))) {
    throw invalid(
      `'delegate' type ${JSON.stringify(delegate["type"])} is not a plugin name`,
      'use e.g. "bridge"',
    );
  }
  if ("name" in delegate) {
    throw invalid("'delegate' dictionary must not have 'name' field, it'll be set by flannel");
  }
  if ("ipam" in delegate) {
    throw invalid("'delegate' dictionary must not have 'ipam' field, it'll be set by flannel");
  }
}

function intField(route: JsonObject, key: string, index: number): number | undefined {
  const v = route[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "number" || !Number.isSafeInteger(v)) {
    throw invalid(`ipam.routes[${index}].${key} must be an integer, not ${JSON.stringify(v)}`);
  }
  return v;
}

/**
 * Re-encodes the user's `ipam.routes` as libcni's `types.Route` does (upstream decodes and re-encodes them):
 * unknown keys dropped, `dst` normalised but keeping host bits, zero `mtu`/`advmss`/`priority` and empty `gw`
 * omitted, `table`/`scope` kept when present.
 */
function userRoutes(ipam: JsonObject | undefined): Map<string, GoJsonValue>[] {
  const routes = ipam?.["routes"];
  if (routes === undefined || routes === null) return [];
  if (!Array.isArray(routes)) throw invalid(`ipam.routes must be a list, not ${JSON.stringify(routes)}`);
  return routes.map((r: unknown, i) => {
    if (typeof r !== "object" || r === null || Array.isArray(r)) {
      throw invalid(`ipam.routes[${i}] must be an object like {"dst": "10.0.0.0/8"}`);
    }
    const route = r as JsonObject;
    const out = new Map<string, GoJsonValue>();
    const dst = route["dst"];
    if (typeof dst !== "string") {
      throw invalid(`ipam.routes[${i}].dst must be a CIDR string like "10.0.0.0/8"`);
    }
    try {
      const { ip, net } = parseCidrWithIp(dst);
      out.set("dst", `${formatIp(ip)}/${net.prefixLen}`);
    } catch (e) {
      throw invalid(`ipam.routes[${i}].dst: ${(e as Error).message}`);
    }
    const gw = route["gw"];
    if (gw !== undefined && gw !== null && gw !== "") {
      if (typeof gw !== "string") throw invalid(`ipam.routes[${i}].gw must be an IP address string`);
      try {
        out.set("gw", formatIp(parseIp(gw)));
      } catch (e) {
        throw invalid(`ipam.routes[${i}].gw: ${(e as Error).message}`);
      }
    }
    for (const key of ["mtu", "advmss", "priority"]) {
      const v = intField(route, key, i);
      if (v) out.set(key, v);
    }
    for (const key of ["table", "scope"]) {
      const v = intField(route, key, i);
      if (v !== undefined) out.set(key, v);
    }
    return out;
  });
}

/**
 * Builds the delegate configuration exactly as upstream's `cmdAdd`/`doCmdAdd`/`getDelegateIPAM` do.
 *
 * @param conf the flannel configuration
 * @param env subnet.env
 * @returns the delegate configuration (render it with {@linkcode renderDelegateConfig})
 * @throws {CniError} code 7 for a bad `delegate` or `ipam.routes`
 */
export function buildDelegateConfig(conf: FlannelNetConf, env: SubnetEnv): DelegateConfig {
  validateDelegate(conf.delegate);
  const delegate: DelegateConfig = structuredClone(conf.delegate ?? {}) as never;
  if (conf.runtimeConfig !== undefined) {
    delegate["runtimeConfig"] = structuredClone(conf.runtimeConfig) as never;
  }
  delegate["name"] = conf.name;
  if (!("type" in delegate)) delegate["type"] = "bridge";
  if (!("ipMasq" in delegate)) delegate["ipMasq"] = !env.ipMasq; // flannel not masquerading: the bridge should
  if (!("mtu" in delegate)) delegate["mtu"] = env.mtu;
  if (delegate["type"] === "bridge" && !("isGateway" in delegate)) delegate["isGateway"] = true;
  if (conf.cniVersion !== "") delegate["cniVersion"] = conf.cniVersion;

  const ipam: DelegateConfig = structuredClone(conf.ipam ?? {}) as never;
  if (!("type" in ipam)) ipam["type"] = "host-local";
  const ranges: GoJsonValue[] = [];
  if (env.subnet) ranges.push([{ subnet: formatCidr(env.subnet) }]);
  if (env.ipv6Subnet) ranges.push([{ subnet: formatCidr(env.ipv6Subnet) }]);
  // Go marshals a nil slice as null: with no subnet at all (impossible after subnet.env validation) so would we.
  ipam["ranges"] = ranges.length > 0 ? ranges : null;
  const routes: GoJsonValue[] = userRoutes(conf.ipam);
  for (const net of [...env.networks, ...env.ipv6Networks]) routes.push(new Map([["dst", formatCidr(net)]]));
  ipam["routes"] = routes;
  delegate["ipam"] = ipam;
  return delegate;
}

/** Renders a delegate configuration as upstream saves and sends it (see the module doc). */
export function renderDelegateConfig(delegate: GoJsonValue): string {
  return goJson(delegate);
}
