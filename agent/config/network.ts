/**
 * The top level of the network config: the address families' pools, with upstream's defaults and
 * `CheckNetworkConfig`'s checks (`pkg/subnet/config.go`), and the whole parse ({@linkcode parseNetworkConfig}).
 * Pure.
 *
 * The fields are decoded as Go's `encoding/json` decodes them (`../go_json.ts`, `../go_ip.ts`); the `Backend`
 * object is `backend.ts`'s; every failure is a {@linkcode ConfigError} (`error.ts`).
 *
 * @module
 */
import {
  decodeBool,
  type Decoded,
  decodeInt,
  goFieldMatches,
  type GoJsonNode,
  GoJsonSyntaxError,
  jsonType,
  parseGoJson,
} from "../go_json.ts";
import { goIpText, parseGoIp4, parseGoIp6 } from "../go_ip.ts";
import {
  bitsOf,
  type Family,
  formatCidr,
  formatIp,
  type IpAddr,
  type IpNet,
  lastAddr,
  netContains,
  parseCidrWithIp,
} from "../ip.ts";
import { type BackendConfig, decodeBackend, decodeBackendType } from "./backend.ts";
import { ConfigError, fieldError, valueOf } from "./error.ts";

/** The range subnets of one address family are allocated from. Host bits of every address are zero. */
export interface SubnetPool {
  /** The whole flannel network (`Network` / `IPv6Network`). */
  readonly network: IpNet;
  /** The prefix length of each node's subnet (`SubnetLen` / `IPv6SubnetLen`). */
  readonly subnetLen: number;
  /** The first subnet that may be handed out (`SubnetMin`); by default the network's second subnet. */
  readonly subnetMin: IpAddr;
  /** The last subnet that may be handed out (`SubnetMax`); by default the network's last subnet. */
  readonly subnetMax: IpAddr;
}

/** A parsed and validated network config. */
export interface NetworkConfig {
  /** The IPv4 pool; `undefined` when `EnableIPv4` is false. */
  readonly ipv4: SubnetPool | undefined;
  /** The IPv6 pool; `undefined` unless `EnableIPv6` is true. */
  readonly ipv6: SubnetPool | undefined;
  /** Use nftables instead of iptables for the masquerade and forward rules. */
  readonly enableNFTables: boolean;
  /** The backend and its options. */
  readonly backend: BackendConfig;
  /** True when the config had no `Backend` key, so {@linkcode backend} is our default (vxlan; upstream: udp). */
  readonly backendDefaulted: boolean;
}

/** The top-level fields as written, before defaults. Undefined = absent (or `null` where Go ignores it). */
interface RawFamily {
  network: { net: IpNet; node: GoJsonNode } | undefined;
  subnetLen: { value: number; node: GoJsonNode } | undefined;
  subnetMin: { addr: IpAddr; node: GoJsonNode } | undefined;
  subnetMax: { addr: IpAddr; node: GoJsonNode } | undefined;
}

const FIELD_NAMES = {
  4: { network: "Network", subnetLen: "SubnetLen", subnetMin: "SubnetMin", subnetMax: "SubnetMax" },
  6: {
    network: "IPv6Network",
    subnetLen: "IPv6SubnetLen",
    subnetMin: "IPv6SubnetMin",
    subnetMax: "IPv6SubnetMax",
  },
} as const;

/**
 * Parses the network config JSON (the value of `<prefix>/config`), applies upstream's defaults and validates it.
 *
 * Defaults: `EnableIPv4` true, `EnableIPv6` false; `SubnetLen` 24 when the network is /22 or larger, else the
 * network's prefix + 2 (IPv6: 64 up to /62); `SubnetMin` the network's second subnet, `SubnetMax` its last; a
 * `SubnetMin`/`SubnetMax` of `0.0.0.0` (`::`) counts as unset, as upstream. Backend: see {@linkcode BackendConfig}.
 *
 * @param text The JSON text.
 * @returns The config with defaults applied.
 * @throws {ConfigError} For anything upstream would refuse, and for the few things we refuse on top (see module).
 * @example The smallest useful config
 * ```ts
 * import { parseNetworkConfig } from "./mod.ts";
 * import { formatIp } from "../ip.ts";
 * const config = parseNetworkConfig(`{"Network": "10.5.0.0/16", "Backend": {"Type": "vxlan"}}`);
 * console.assert(config.ipv4?.subnetLen === 24);
 * console.assert(formatIp(config.ipv4!.subnetMin) === "10.5.1.0");
 * console.assert(formatIp(config.ipv4!.subnetMax) === "10.5.255.0");
 * ```
 */
export function parseNetworkConfig(text: string): NetworkConfig {
  let root: GoJsonNode;
  try {
    root = parseGoJson(text);
  } catch (e) {
    if (!(e instanceof GoJsonSyntaxError)) throw e;
    throw new ConfigError(`Invalid network config: not valid JSON: ${e.message}`, "", undefined);
  }
  if (root.kind !== "object") {
    throw new ConfigError(
      `Invalid network config: must be a JSON object, not ${jsonType(root)}`,
      "",
      valueOf(root),
    );
  }

  // Decode in document order so the first problem reported is the first one written, as Go does.
  let enableIPv4 = true;
  let enableIPv6 = false;
  let enableNFTables = false;
  const fam: Record<Family, RawFamily> = {
    4: { network: undefined, subnetLen: undefined, subnetMin: undefined, subnetMax: undefined },
    6: { network: undefined, subnetLen: undefined, subnetMin: undefined, subnetMax: undefined },
  };
  let backendNode: GoJsonNode | undefined;

  const must = <T>(field: string, node: GoJsonNode, d: Decoded<T>): T | undefined => {
    if (!d.ok) throw fieldError(field, node, d.detail);
    return d.value;
  };
  const bool = (field: string, node: GoJsonNode, current: boolean): boolean =>
    must(field, node, decodeBool(node)) ?? current;

  for (const { key, value: node } of root.entries) {
    if (goFieldMatches(key, "EnableIPv4")) enableIPv4 = bool("EnableIPv4", node, enableIPv4);
    else if (goFieldMatches(key, "EnableIPv6")) enableIPv6 = bool("EnableIPv6", node, enableIPv6);
    else if (goFieldMatches(key, "EnableNFTables")) {
      enableNFTables = bool("EnableNFTables", node, enableNFTables);
    } else if (goFieldMatches(key, "Backend")) backendNode = node;
    else {
      for (const family of [4, 6] as const) {
        const names = FIELD_NAMES[family];
        if (goFieldMatches(key, names.network)) {
          fam[family].network = { net: decodeNetwork(names.network, node, family), node };
        } else if (goFieldMatches(key, names.subnetLen)) {
          const v = must(names.subnetLen, node, decodeInt(node, true));
          if (v !== undefined) fam[family].subnetLen = v === 0 ? undefined : { value: v, node };
        } else if (goFieldMatches(key, names.subnetMin) || goFieldMatches(key, names.subnetMax)) {
          const which = goFieldMatches(key, names.subnetMin) ? "subnetMin" : "subnetMax";
          // IPv4's are plain values (null is an error); IPv6's are pointers (null = unset).
          const t = must(names[which], node, goIpText(node, family === 6));
          if (t === undefined) {
            fam[family][which] = undefined;
            continue;
          }
          const addr = family === 4 ? parseGoIp4(t) : parseGoIp6(t);
          if (!addr) {
            throw fieldError(names[which], node, `not an IPv${family} address`);
          }
          // The zero address means "unset" to upstream.
          fam[family][which] = addr.value === 0n ? undefined : { addr, node };
        }
      }
    }
  }

  const backendType = decodeBackendType(backendNode);
  const ipv4 = enableIPv4 ? checkFamily(4, fam[4]) : undefined;
  const ipv6 = enableIPv6 ? checkFamily(6, fam[6]) : undefined;
  if (!enableIPv4 && !enableIPv6) {
    throw new ConfigError(
      `Invalid network config: "EnableIPv4" is false and "EnableIPv6" is false: at least one address family must be enabled`,
      "EnableIPv4",
      false,
    );
  }
  return {
    ipv4,
    ipv6,
    enableNFTables,
    backend: decodeBackend(backendType, backendNode),
    backendDefaulted: backendNode === undefined,
  };
}

/** Flannel's `ip.IP4Net`/`ip.IP6Net` (Go `net.ParseCIDR`), refusing a network of the other family. */
function decodeNetwork(field: string, node: GoJsonNode, family: Family): IpNet {
  const d = goIpText(node, false);
  if (!d.ok) throw fieldError(field, node, d.detail);
  let parsed;
  try {
    parsed = parseCidrWithIp(d.value!);
  } catch {
    throw fieldError(
      field,
      node,
      `not a CIDR network such as ${family === 4 ? '"10.5.0.0/16"' : '"fc00::/48"'}`,
    );
  }
  if (family === 4 && parsed.ip.family === 6) {
    // Go turns "::ffff:10.0.0.0/104" into an IPv4 network with a 104-bit prefix; refuse rather than copy that.
    const mapped = parsed.ip.value >> 32n === 0xffffn;
    throw fieldError(
      field,
      node,
      mapped ? "must be written as an IPv4 network" : `an IPv6 network belongs in "IPv6Network"`,
    );
  }
  if (family === 6 && parsed.ip.family === 4) {
    throw fieldError(field, node, `must be an IPv6 network (an IPv4 one belongs in "Network")`);
  }
  return parsed.net;
}

/** Upstream's `CheckNetworkConfig` for one family, plus our SubnetMin <= SubnetMax check. */
function checkFamily(family: Family, raw: RawFamily): SubnetPool {
  const names = FIELD_NAMES[family];
  const bits = bitsOf(family);
  const maxLen = bits - 2; // 30 / 126: room for a tunnel and a bridge address
  const network = raw.network;
  if (network === undefined || (network.net.prefixLen === 0 && network.net.addr.value === 0n)) {
    // Upstream treats 0.0.0.0/0 (::/0) as "not set", like a missing field.
    const enable = family === 4 ? `"EnableIPv4" is true (the default)` : `"EnableIPv6" is true`;
    if (network === undefined) {
      throw new ConfigError(
        `Invalid network config: "${names.network}" is missing: required when ${enable}`,
        names.network,
        undefined,
      );
    }
    throw fieldError(names.network, network.node, `the whole address space cannot be the flannel network`);
  }
  const net = network.net;
  let subnetLen: number;
  if (raw.subnetLen !== undefined) {
    subnetLen = raw.subnetLen.value;
    if (subnetLen > maxLen) {
      throw fieldError(names.subnetLen, raw.subnetLen.node, `must be at most ${maxLen}`);
    }
    if (subnetLen < net.prefixLen + 2) {
      throw fieldError(
        names.subnetLen,
        raw.subnetLen.node,
        `must be at least ${net.prefixLen + 2} so that "${names.network}" ${
          formatCidr(net)
        } holds at least four subnets`,
      );
    }
  } else {
    const smallest = bits - 4; // /28, /124
    const roomy = family === 4 ? 22 : 62;
    if (net.prefixLen > smallest) {
      throw fieldError(
        names.network,
        network.node,
        `too small for flannel: the prefix must be /${smallest} or shorter`,
      );
    }
    subnetLen = net.prefixLen <= roomy ? (family === 4 ? 24 : 64) : net.prefixLen + 2;
  }
  const size = 1n << BigInt(bits - subnetLen);
  const last = lastAddr(net).value + 1n - size;
  const bound = (which: "subnetMin" | "subnetMax", fallback: bigint): IpAddr => {
    const given = raw[which];
    if (given === undefined) return { family, value: fallback };
    if (given.addr.family !== family || !netContains(net, given.addr)) {
      throw fieldError(names[which], given.node, `not inside "${names.network}" ${formatCidr(net)}`);
    }
    if (given.addr.value % size !== 0n) {
      throw fieldError(
        names[which],
        given.node,
        `not the start of a /${subnetLen} subnet (the subnet length): e.g. ${
          formatIp({ family, value: given.addr.value - given.addr.value % size })
        }`,
      );
    }
    return given.addr;
  };
  const subnetMin = bound("subnetMin", net.addr.value + size);
  const subnetMax = bound("subnetMax", last);
  if (subnetMin.value > subnetMax.value) {
    const node = raw.subnetMin?.node ?? raw.subnetMax?.node;
    const field = raw.subnetMin ? names.subnetMin : names.subnetMax;
    const detail = `"${names.subnetMin}" ${formatIp(subnetMin)} is above "${names.subnetMax}" ${
      formatIp(subnetMax)
    }: no subnet could be allocated`;
    if (node) throw fieldError(field, node, detail);
    throw new ConfigError(`Invalid network config: ${detail}`, field, undefined);
  }
  return { network: net, subnetLen, subnetMin, subnetMax };
}
