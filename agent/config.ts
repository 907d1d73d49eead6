/**
 * The network config stored at `<prefix>/config`: parse, apply upstream flanneld's defaults, validate. Pure.
 *
 * Compatibility with flanneld v0.28.9 (`pkg/subnet/config.go`, the backends' option structs) is the point, and
 * that includes behaviour inherited from Go's `encoding/json`:
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
 * @module
 */
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
  parseIp,
} from "./ip.ts";

// ---------------------------------------------------------------------------------------------------------------
// Public types

/** Thrown for a network config that upstream flanneld would refuse, or that we refuse on top (see the module). */
export class ConfigError extends SyntaxError {
  override name = "ConfigError";
  /** The offending field as written in the config's terms, e.g. `SubnetLen` or `Backend.VNI`; `""` for the document. */
  readonly field: string;
  /** The offending value as decoded from JSON (`undefined` when the field is missing or the JSON is broken). */
  readonly value: unknown;

  /**
   * @param message The full message, starting with `Invalid network config:`.
   * @param field The field the message is about.
   * @param value The value the message is about.
   */
  constructor(message: string, field: string, value: unknown) {
    super(message);
    this.field = field;
    this.value = value;
  }
}

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

/** The backend types this agent implements, in the order error messages list them. */
export const BACKEND_TYPES = ["vxlan", "host-gw", "udp"] as const;

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

// ---------------------------------------------------------------------------------------------------------------
// A JSON reader with Go's `encoding/json` view of the input

/** A JSON value with its source text, as read by {@linkcode parseGoJson}. `offset` is where it starts. */
export type GoJsonNode =
  | {
    readonly kind: "object";
    readonly entries: readonly GoJsonEntry[];
    readonly raw: string;
    readonly offset: number;
  }
  | {
    readonly kind: "array";
    readonly items: readonly GoJsonNode[];
    readonly raw: string;
    readonly offset: number;
  }
  | { readonly kind: "string"; readonly value: string; readonly raw: string; readonly offset: number }
  | { readonly kind: "number"; readonly raw: string; readonly offset: number }
  | { readonly kind: "boolean"; readonly value: boolean; readonly raw: string; readonly offset: number }
  | { readonly kind: "null"; readonly raw: string; readonly offset: number };

/** One `"key": value` member of a JSON object; repeated keys are all kept, in order. */
export interface GoJsonEntry {
  /** The key with escapes decoded. */
  readonly key: string;
  /** The value. */
  readonly value: GoJsonNode;
}

/** Thrown by {@linkcode parseGoJson} for text that is not JSON. The message says where (line, column). */
export class GoJsonSyntaxError extends SyntaxError {
  override name = "GoJsonSyntaxError";
  /** Zero-based offset of the problem in the text. */
  readonly offset: number;
  /** One-based line of the problem. */
  readonly line: number;
  /** One-based column of the problem. */
  readonly column: number;

  /**
   * @param detail What is wrong, e.g. `unexpected "}"`.
   * @param text The whole text (to compute line and column).
   * @param offset Where in the text.
   */
  constructor(detail: string, text: string, offset: number) {
    const before = text.slice(0, offset);
    const line = before.split("\n").length;
    const column = offset - (before.lastIndexOf("\n") + 1) + 1;
    super(`${detail} at line ${line}, column ${column}`);
    this.offset = offset;
    this.line = line;
    this.column = column;
  }
}

/** Deeper nesting is refused (Go allows 10000; no config or lease comes near, and recursion must stay safe). */
const MAX_JSON_DEPTH = 1000;

const NUMBER_RE = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;

/**
 * Reads RFC 8259 JSON the way Go's `encoding/json` sees it: every value keeps its source text (Go hands raw text
 * to custom decoders and keeps `json.RawMessage` verbatim), and repeated object keys are all kept in order.
 *
 * @param text The JSON text.
 * @returns The top-level value.
 * @throws {GoJsonSyntaxError} When the text is not exactly one JSON value.
 * @example Reading a value and its source
 * ```ts
 * import { parseGoJson } from "./config.ts";
 * const node = parseGoJson(`{"Network": "10.0.0.0\\/8"}`);
 * if (node.kind === "object") console.assert(node.entries[0]!.value.raw === `"10.0.0.0\\/8"`);
 * ```
 */
export function parseGoJson(text: string): GoJsonNode {
  let pos = 0;
  const fail = (detail: string, at = pos): never => {
    throw new GoJsonSyntaxError(detail, text, at);
  };
  const describe = (at: number): string =>
    at >= text.length ? "unexpected end of input" : `unexpected ${JSON.stringify(text[at])}`;
  const skipSpace = () => {
    while (pos < text.length) {
      const c = text.charCodeAt(pos);
      if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) break;
      pos++;
    }
  };
  const readString = (): string => {
    const start = pos;
    pos++; // opening quote
    let out = "";
    let chunk = pos;
    for (;;) {
      if (pos >= text.length) fail("unterminated string", start);
      const c = text.charCodeAt(pos);
      if (c === 0x22) {
        out += text.slice(chunk, pos);
        pos++;
        return out;
      }
      if (c < 0x20) fail("control character in string");
      if (c !== 0x5c) {
        pos++;
        continue;
      }
      out += text.slice(chunk, pos);
      const e = text[pos + 1];
      const simple: Record<string, string> = {
        '"': '"',
        "\\": "\\",
        "/": "/",
        b: "\b",
        f: "\f",
        n: "\n",
        r: "\r",
        t: "\t",
      };
      if (e !== undefined && e in simple) {
        out += simple[e];
        pos += 2;
      } else if (e === "u") {
        const hex = text.slice(pos + 2, pos + 6);
        if (!/^[0-9a-fA-F]{4}$/.test(hex)) fail("invalid \\u escape in string");
        out += String.fromCharCode(parseInt(hex, 16));
        pos += 6;
      } else {
        fail("invalid escape in string");
      }
      chunk = pos;
    }
  };
  const readValue = (depth: number): GoJsonNode => {
    skipSpace();
    const start = pos;
    const c = text[pos];
    if (c === "{" || c === "[") {
      if (depth >= MAX_JSON_DEPTH) fail(`nesting deeper than ${MAX_JSON_DEPTH} levels`);
      pos++;
      skipSpace();
      const close = c === "{" ? "}" : "]";
      const entries: GoJsonEntry[] = [];
      const items: GoJsonNode[] = [];
      if (text[pos] === close) {
        pos++;
      } else {
        for (;;) {
          if (c === "{") {
            skipSpace();
            if (text[pos] !== '"') fail(`${describe(pos)}, expected a quoted object key`);
            const key = readString();
            skipSpace();
            if (text[pos] !== ":") fail(`${describe(pos)}, expected ":" after object key`);
            pos++;
            entries.push({ key, value: readValue(depth + 1) });
          } else {
            items.push(readValue(depth + 1));
          }
          skipSpace();
          if (text[pos] === ",") {
            pos++;
            continue;
          }
          if (text[pos] === close) {
            pos++;
            break;
          }
          fail(`${describe(pos)}, expected "," or "${close}"`);
        }
      }
      const raw = text.slice(start, pos);
      return c === "{"
        ? { kind: "object", entries, raw, offset: start }
        : { kind: "array", items, raw, offset: start };
    }
    if (c === '"') {
      const value = readString();
      return { kind: "string", value, raw: text.slice(start, pos), offset: start };
    }
    for (const [word, node] of [["true", true], ["false", false], ["null", null]] as const) {
      if (text.startsWith(word, pos)) {
        pos += word.length;
        return node === null
          ? { kind: "null", raw: word, offset: start }
          : { kind: "boolean", value: node, raw: word, offset: start };
      }
    }
    NUMBER_RE.lastIndex = pos;
    const m = NUMBER_RE.exec(text);
    if (m) {
      pos += m[0].length;
      return { kind: "number", raw: m[0], offset: start };
    }
    return fail(`${describe(pos)}, expected a value`);
  };
  const node = readValue(0);
  skipSpace();
  if (pos < text.length) fail(`${describe(pos)} after the top-level value`);
  return node;
}

/**
 * Whether a JSON object key selects a Go struct field, as `encoding/json` decides: an exact match, or equal under
 * Unicode simple case folding. Field names are ASCII, so folding reduces to ASCII case plus the two non-ASCII
 * letters that fold onto ASCII ones: `ſ` (U+017F) onto `s` and the Kelvin sign (U+212A) onto `k`.
 *
 * @param key The key as decoded from JSON.
 * @param field The Go field name (or its JSON tag).
 * @returns Whether the key selects the field.
 */
export function goFieldMatches(key: string, field: string): boolean {
  if (key.length !== field.length) {
    // ſ and K are one UTF-16 unit each, so a different length can still only match if it contains neither.
    return false;
  }
  for (let i = 0; i < key.length; i++) {
    const k = key[i]!;
    const f = field[i]!.toLowerCase();
    const folded = k === "\u017f" ? "s" : k === "\u212a" ? "k" : k.charCodeAt(0) < 0x80 ? k.toLowerCase() : k;
    if (folded !== f) return false;
  }
  return true;
}

/**
 * Parses an IPv4 address the way flannel's `ip.ParseIP4` does (Go `net.ParseIP` then `To4`): a dotted quad, or an
 * IPv4-mapped IPv6 address (`::ffff:10.0.0.1`), which Go treats as the same IPv4 address.
 *
 * @param text The address text.
 * @returns The IPv4 address, or `undefined` when the text is not one.
 */
export function parseGoIp4(text: string): IpAddr | undefined {
  let addr: IpAddr;
  try {
    addr = parseIp(text);
  } catch {
    return undefined;
  }
  if (addr.family === 4) return addr;
  return addr.value >> 32n === 0xffffn ? { family: 4, value: addr.value & 0xffffffffn } : undefined;
}

// ---------------------------------------------------------------------------------------------------------------
// Decoding fields with Go's rules

/** A field decoder's verdict: a value, "leave the default" (Go's `null`), or an error detail. */
type Decoded<T> = { ok: true; value: T | undefined } | { ok: false; detail: string };

const ok = <T>(value: T | undefined): Decoded<T> => ({ ok: true, value });
const bad = <T>(detail: string): Decoded<T> => ({ ok: false, detail });

function jsonType(node: GoJsonNode): string {
  return node.kind === "boolean"
    ? "a boolean"
    : node.kind === "null"
    ? "null"
    : `a${node.kind === "object" || node.kind === "array" ? "n" : ""} ${node.kind}`;
}

/** Go `bool`: true/false; null leaves the default. */
function decodeBool(node: GoJsonNode): Decoded<boolean> {
  if (node.kind === "boolean") return ok(node.value);
  if (node.kind === "null") return ok(undefined);
  return bad(`must be true or false, not ${jsonType(node)}`);
}

/** Go `int` (signed 64-bit) or `uint`: a JSON number written as an integer; null leaves the default. */
function decodeInt(node: GoJsonNode, unsigned: boolean): Decoded<number> {
  if (node.kind === "null") return ok(undefined);
  if (node.kind !== "number") return bad(`must be a number, not ${jsonType(node)}`);
  if (!/^-?\d+$/.test(node.raw)) return bad("must be an integer");
  const n = BigInt(node.raw);
  if (unsigned && node.raw.startsWith("-")) return bad("must not be negative");
  const [lo, hi] = unsigned ? [0n, (1n << 64n) - 1n] : [-(1n << 63n), (1n << 63n) - 1n];
  if (n < lo || n > hi) return bad("is out of range");
  // Anything outside the safe range is refused by every caller's range check anyway.
  return ok(Number(n));
}

/**
 * The text a flannel IP type's `UnmarshalJSON` sees: Go passes the raw JSON and trims `"` from both ends, so
 * only a string without escapes can ever parse; `null` becomes the text `null` (an error) unless `nullable`.
 */
function ipText(node: GoJsonNode, nullable: boolean): Decoded<string> {
  if (node.kind === "null" && nullable) return ok(undefined);
  if (node.kind !== "string") return bad(`must be a string, not ${jsonType(node)}`);
  if (node.raw.includes("\\")) return bad("must be written without escape sequences");
  return ok(node.value);
}

/** Shows a JSON value in a message: its source text, shortened. */
function show(node: GoJsonNode): string {
  const raw = node.raw.replace(/\s+/g, " ");
  return raw.length > 60 ? `${raw.slice(0, 57)}...` : raw;
}

/** The decoded JS value of a node, for {@linkcode ConfigError.value}. */
function valueOf(node: GoJsonNode): unknown {
  return JSON.parse(node.raw);
}

function fieldError(field: string, node: GoJsonNode, detail: string): ConfigError {
  return new ConfigError(
    `Invalid network config: "${field}" is ${show(node)}: ${detail}`,
    field,
    valueOf(node),
  );
}

/** Looks up a field in an object's entries, Go-style: the last matching entry wins. */
function lastEntry(entries: readonly GoJsonEntry[], field: string): GoJsonNode | undefined {
  let found: GoJsonNode | undefined;
  for (const e of entries) if (goFieldMatches(e.key, field)) found = e.value;
  return found;
}

// ---------------------------------------------------------------------------------------------------------------
// The config

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
 * import { parseNetworkConfig } from "./config.ts";
 * import { formatIp } from "./ip.ts";
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
          const t = must(names[which], node, ipText(node, family === 6));
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

/** Go `net.ParseIP` for an `*ip.IP6` field: any address; an IPv4 one becomes its IPv4-mapped IPv6 form. */
function parseGoIp6(text: string): IpAddr | undefined {
  try {
    const a = parseIp(text);
    return a.family === 6 ? a : { family: 6, value: 0xffff00000000n | a.value };
  } catch {
    return undefined;
  }
}

function decodeNetwork(field: string, node: GoJsonNode, family: Family): IpNet {
  const d = ipText(node, false);
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

/** Upstream's `parseBackendType`: the `Type` of the Backend object, lower-cased; `undefined` when no Backend. */
function decodeBackendType(node: GoJsonNode | undefined): string | undefined {
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

function decodeBackend(type: string | undefined, node: GoJsonNode | undefined): BackendConfig {
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
      const port = int("Port", 8285);
      range("Port", port, 1, 65535, "must be a UDP port, 1 to 65535 (default 8285)");
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
      range("Port", port, 0, 65535, "must be a UDP port, 1 to 65535, or 0 for the kernel's default (8472)");
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
