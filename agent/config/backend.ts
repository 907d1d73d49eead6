/**
 * The `Backend` object of the network config: which backend, and its options with upstream's defaults (the
 * option structs of flanneld v0.28.9's vxlan, host-gw and udp backends, decoded by Go's `encoding/json`). Pure.
 *
 * On top of upstream: options a kernel or socket would refuse later (a VNI over 24 bits, a port over 65535, an
 * MTU below what VXLAN needs) are refused here, naming the field; a backend upstream has and we do not says so
 * rather than "unknown"; and with no `Backend` key at all the backend is vxlan (upstream: udp).
 *
 * @module
 */
import { decodeBool, decodeInt, goFieldMatches, type GoJsonNode, jsonType, lastEntry } from "../go_json.ts";
import { ConfigError, fieldError } from "./error.ts";

/** The kernel's VXLAN port when none is given (Linux's pre-IANA 8472, which flannel relies on): `Port: 0`. */
export const KERNEL_VXLAN_PORT = 8472;

/** The udp backend's default port (upstream's). */
export const UDP_DEFAULT_PORT = 8285;

/** The `Backend` object, with upstream's defaults applied. */
export type BackendConfig =
  | {
    readonly type: "vxlan";
    /** VXLAN network identifier, 0..16777215 (default 1). The device is `flannel.<vni>`. */
    readonly vni: number;
    /** UDP destination port; 0 (the default) leaves the kernel's default, 8472. */
    readonly port: number;
    /** The underlay MTU the device's MTU is derived from (minus 50); `undefined` = the interface's MTU. */
    readonly mtu: number | undefined;
    /** VXLAN Group Based Policy extension. */
    readonly gbp: boolean;
    /** Let the kernel learn remote MACs (upstream default: off). */
    readonly learning: boolean;
    /** Route directly (no encapsulation) to peers on the same L2 segment. */
    readonly directRouting: boolean;
  }
  | { readonly type: "host-gw" }
  | {
    readonly type: "udp";
    /** The UDP port of the userspace forwarder (default 8285). */
    readonly port: number;
  };

/** The backend types this agent implements, in the order error messages list them. */
export const BACKEND_TYPES = ["vxlan", "host-gw", "udp"] as const;

/** A backend type this agent implements. */
export type BackendType = typeof BACKEND_TYPES[number];

/** Backend types upstream flanneld knows but this agent does not implement. */
const UPSTREAM_ONLY_BACKENDS = [
  "alivpc",
  "alloc",
  "awsvpc",
  "extension",
  "gce",
  "ipip",
  "ipsec",
  "tencentvpc",
  "wireguard",
];

/**
 * Upstream's `parseBackendType`: the `Type` of the Backend object, lower-cased; `undefined` when no Backend.
 *
 * @param node The value of the config's `Backend` key, or `undefined` when the key is absent.
 * @returns One of {@linkcode BACKEND_TYPES}, or `undefined` when there is no `Backend` key.
 * @throws {ConfigError} For a Backend that is not an object (or `null`), a missing or non-string `Type`, and a
 *   type this agent does not implement.
 */
export function decodeBackendType(node: GoJsonNode | undefined): string | undefined {
  if (node === undefined) return undefined;
  if (node.kind !== "object" && node.kind !== "null") {
    throw fieldError("Backend", node, `must be an object such as {"Type": "vxlan"}, not ${jsonType(node)}`);
  }
  const typeNode = node.kind === "object" ? lastEntry(node.entries, "Type") : undefined;
  let type = "";
  if (typeNode !== undefined && typeNode.kind !== "null") {
    if (typeNode.kind !== "string") {
      throw fieldError("Backend.Type", typeNode, `must be a string, not ${jsonType(typeNode)}`);
    }
    type = typeNode.value;
  }
  const known = BACKEND_TYPES.map((t) => `"${t}"`).join(", ");
  if (type === "") {
    throw new ConfigError(
      `Invalid network config: "Backend.Type" is missing: set it to one of ${known}`,
      "Backend.Type",
      undefined,
    );
  }
  const lower = type.toLowerCase();
  if ((BACKEND_TYPES as readonly string[]).includes(lower)) return lower;
  const detail = UPSTREAM_ONLY_BACKENDS.includes(lower)
    ? `this backend is not implemented by flannel-lab; use one of ${known}`
    : `unknown backend type; known types: ${known}`;
  throw fieldError("Backend.Type", typeNode!, detail);
}

/**
 * The Backend object's options for its type, with upstream's defaults for those not given.
 *
 * @param type The type from {@linkcode decodeBackendType}; `undefined` (no `Backend` key) means vxlan.
 * @param node The value of the config's `Backend` key, or `undefined` when the key is absent.
 * @returns The backend and its options.
 * @throws {ConfigError} For an option of the wrong JSON type or out of range.
 * @example Upstream's defaults for vxlan
 * ```ts
 * import { decodeBackend } from "./backend.ts";
 * import { parseGoJson } from "../go_json.ts";
 * const b = decodeBackend("vxlan", parseGoJson(`{"Type": "vxlan", "VNI": 4}`));
 * console.assert(b.type === "vxlan" && b.vni === 4 && b.port === 0 && b.mtu === undefined);
 * ```
 */
export function decodeBackend(type: string | undefined, node: GoJsonNode | undefined): BackendConfig {
  const entries = node?.kind === "object" ? node.entries : [];
  const int = (field: string, fallback: number): { value: number; node: GoJsonNode | undefined } => {
    let value = fallback;
    let at: GoJsonNode | undefined;
    for (const e of entries) {
      if (!goFieldMatches(e.key, field)) continue;
      const d = decodeInt(e.value, false);
      if (!d.ok) throw fieldError(`Backend.${field}`, e.value, d.detail);
      if (d.value !== undefined) [value, at] = [d.value, e.value];
    }
    return { value, node: at };
  };
  const bool = (field: string): boolean => {
    let value = false;
    for (const e of entries) {
      if (!goFieldMatches(e.key, field)) continue;
      const d = decodeBool(e.value);
      if (!d.ok) throw fieldError(`Backend.${field}`, e.value, d.detail);
      if (d.value !== undefined) value = d.value;
    }
    return value;
  };
  const range = (
    field: string,
    v: { value: number; node: GoJsonNode | undefined },
    lo: number,
    hi: number,
    detail: string,
  ) => {
    if (v.node !== undefined && (v.value < lo || v.value > hi)) {
      throw fieldError(`Backend.${field}`, v.node, detail);
    }
  };
  switch (type ?? "vxlan") {
    case "host-gw":
      return { type: "host-gw" };
    case "udp": {
      const port = int("Port", UDP_DEFAULT_PORT);
      range("Port", port, 1, 65535, `must be a UDP port, 1 to 65535 (default ${UDP_DEFAULT_PORT})`);
      return { type: "udp", port: port.value };
    }
    default: {
      // Every option is decoded before any is range-checked, as Go decodes the whole struct first.
      const vni = int("VNI", 1);
      const port = int("Port", 0);
      const mtu = int("MTU", 0);
      const gbp = bool("GBP");
      const learning = bool("Learning");
      const directRouting = bool("DirectRouting");
      range("VNI", vni, 0, 0xffffff, "must be a VXLAN network identifier, 0 to 16777215 (default 1)");
      range(
        "Port",
        port,
        0,
        65535,
        `must be a UDP port, 1 to 65535, or 0 for the kernel's default (${KERNEL_VXLAN_PORT})`,
      );
      if (mtu.value !== 0) {
        range(
          "MTU",
          mtu,
          118,
          65535,
          "must be 0 (use the interface's MTU) or 118 to 65535: it is the underlay MTU, the VXLAN device gets 50 less, and the kernel's minimum is 68",
        );
      }
      return {
        type: "vxlan",
        vni: vni.value,
        port: port.value,
        mtu: mtu.value === 0 ? undefined : mtu.value,
        gbp,
        learning,
        directRouting,
      };
    }
  }
}
