/**
 * The network config stored at `<prefix>/config`: parse, apply upstream flanneld's defaults, validate. Pure.
 *
 * Compatibility with flanneld v0.28.9 (`pkg/subnet/config.go`, the backends' option structs) is the point, and
 * that includes behaviour inherited from Go's `encoding/json` (`../go_json.ts`, `../go_ip.ts`):
 * - field names match case-insensitively (`"network"`, `"NETWORK"`; even `ſ`/`K` fold as in Go), unknown fields
 *   are ignored, and for a repeated field the last one wins;
 * - `null` leaves a number or boolean at its default, but is an error for `Network`, `SubnetMin` and `SubnetMax`;
 * - addresses must be plain JSON strings: Go hands the raw text to the IP parser, so an escape sequence inside the
 *   string (`"10.0.0.0\/8"`) is an error, and so is a number;
 * - integers must be written as integers (`24`, not `24.0` or `2.4e1`).
 *
 * Differences, each deliberate: every failure is one {@linkcode ConfigError} naming the field and its value;
 * `SubnetMin` above `SubnetMax`, an IPv4 prefix in `IPv6Network` and nonsense backend options (VNI, ports, MTU)
 * are refused; and when the `Backend` key is absent the backend is vxlan (upstream: udp), with
 * {@linkcode NetworkConfig.backendDefaulted} set so the daemon can say so.
 *
 * Files: `network.ts` (the top level and the pools, {@linkcode parseNetworkConfig}), `backend.ts` (the `Backend`
 * object), `error.ts` ({@linkcode ConfigError} and its messages).
 *
 * @example
 * ```ts
 * import { parseNetworkConfig } from "./mod.ts";
 * const config = parseNetworkConfig(`{"Network": "10.5.0.0/16", "Backend": {"Type": "host-gw"}}`);
 * console.assert(config.backend.type === "host-gw" && config.ipv6 === undefined);
 * ```
 *
 * @module
 */
export {
  BACKEND_TYPES,
  type BackendConfig,
  type BackendType,
  KERNEL_VXLAN_PORT,
  UDP_DEFAULT_PORT,
} from "./backend.ts";
export { ConfigError } from "./error.ts";
export { type NetworkConfig, parseNetworkConfig, type SubnetPool } from "./network.ts";
