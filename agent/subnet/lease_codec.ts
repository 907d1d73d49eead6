/**
 * etcd key names and JSON values of leases, byte-compatible with upstream flanneld v0.28.9. Pure.
 *
 * Keys: `<prefix>/subnets/10.5.52.0-24`, dual-stack `…/10.5.52.0-24&fc00:0:0:1::-64`, IPv6-only
 * `…/0.0.0.0-0&fc00:0:0:1::-64` (`pkg/subnet/subnet.go`, `MakeSubnetKey`/`ParseSubnetKey`; paths joined with Go's
 * `path.Join`). Values: the compact JSON of `lease.LeaseAttrs` as Go's `encoding/json` writes it, e.g.
 * `{"PublicIP":"10.199.0.1","PublicIPv6":null,"BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"…"}}`.
 *
 * @module
 */
import { parseGoIp4 } from "../go_ip.ts";
import { goFieldMatches, type GoJsonNode, GoJsonSyntaxError, jsonType, parseGoJson } from "../go_json.ts";
import { bitsOf, formatIp, type IpAddr, type IpNet, parseIp, parseIp4 } from "../ip.ts";
import type { LeaseAttrs, LeaseSubnets } from "./lease.ts";

/**
 * Go's `path.Clean`: the shortest equivalent slash-separated path (duplicate slashes, `.` and `..` resolved, no
 * trailing slash; `""` → `"."`).
 */
function goPathClean(path: string): string {
  if (path === "") return ".";
  const rooted = path.startsWith("/");
  const out: string[] = [];
  for (const part of path.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") {
      if (out.length > 0 && out[out.length - 1] !== "..") out.pop();
      else if (!rooted) out.push("..");
      continue;
    }
    out.push(part);
  }
  const joined = out.join("/");
  if (rooted) return `/${joined}`;
  return joined === "" ? "." : joined;
}

/** Go's `path.Join`: the non-empty elements joined with `/`, then cleaned; all empty → `""`. */
function goPathJoin(...elems: string[]): string {
  const nonEmpty = elems.filter((e) => e !== "");
  return nonEmpty.length === 0 ? "" : goPathClean(nonEmpty.join("/"));
}

/**
 * The key of the network config: `path.Join(prefix, "config")`.
 *
 * @param prefix The etcd prefix (`--etcd-prefix`), e.g. `/coreos.com/network`; trailing or doubled slashes are
 *   cleaned away as upstream does.
 * @returns The key, e.g. `/coreos.com/network/config`.
 * @example
 * ```ts
 * import { configKey } from "./lease_codec.ts";
 * console.assert(configKey("/coreos.com/network/") === "/coreos.com/network/config");
 * ```
 */
export function configKey(prefix: string): string {
  return goPathJoin(prefix, "config");
}

/**
 * The key prefix under which all leases live, with a trailing slash, for prefix listings and watches.
 *
 * Upstream lists and watches `<prefix>/subnets` *without* the slash, so it would also see keys such as
 * `<prefix>/subnets-old/…`; the slash keeps those out.
 *
 * @param prefix The etcd prefix.
 * @returns E.g. `/coreos.com/network/subnets/`.
 */
export function subnetsPrefix(prefix: string): string {
  return `${goPathJoin(prefix, "subnets")}/`;
}

/**
 * The name of a lease's key (the part after `subnets/`): `10.5.52.0-24`, `10.5.52.0-24&fc00:0:0:1::-64`, or
 * for an IPv6-only lease `0.0.0.0-0&fc00:0:0:1::-64` (the IPv4 part is the empty net, as upstream writes it).
 *
 * @param s The lease's subnets.
 * @returns The key name.
 * @example
 * ```ts
 * import { leaseKeyName } from "./lease_codec.ts";
 * import { parseCidr } from "../ip.ts";
 * console.assert(leaseKeyName({ subnet: parseCidr("10.5.52.0/24") }) === "10.5.52.0-24");
 * ```
 */
export function leaseKeyName(s: LeaseSubnets): string {
  const v4 = s.subnet === undefined ? "0.0.0.0-0" : `${formatIp(s.subnet.addr)}-${s.subnet.prefixLen}`;
  return s.ipv6Subnet === undefined ? v4 : `${v4}&${formatIp(s.ipv6Subnet.addr)}-${s.ipv6Subnet.prefixLen}`;
}

/**
 * The full key of a lease: `path.Join(prefix, "subnets", leaseKeyName(s))`.
 *
 * @param prefix The etcd prefix.
 * @param s The lease's subnets.
 * @returns E.g. `/coreos.com/network/subnets/10.5.52.0-24`.
 */
export function leaseKeyPath(prefix: string, s: LeaseSubnets): string {
  return goPathJoin(prefix, "subnets", leaseKeyName(s));
}

// Upstream's regex, character for character, except that Go's `.` (any character but "\n") is spelled out:
// JavaScript's `.` also refuses "\r", U+2028 and U+2029. Only the end is anchored, so a full key or a bare name
// both match; the second and third dots are unescaped upstream, so they match any character here too.
const SUBNET_KEY_RE = /(\d+\.\d+[^\n]\d+[^\n]\d+)-(\d+)(?:&([a-f\d:]+)-(\d+))?$/;

/** Go's `strconv.ParseUint(s, 10, bits)` for a string of ASCII digits. */
function parseUintBits(digits: string, bits: number): number | undefined {
  const trimmed = digits.replace(/^0+(?=\d)/, "");
  if (trimmed.length > 4) return undefined;
  const n = Number(trimmed);
  return n < 2 ** bits ? n : undefined;
}

/** A prefix from an address and a length, or `undefined` when host bits are set. */
function exactNet(addr: IpAddr, prefixLen: number): IpNet | undefined {
  const hostBits = BigInt(bitsOf(addr.family) - prefixLen);
  return (addr.value & ((1n << hostBits) - 1n)) === 0n ? { addr, prefixLen } : undefined;
}

/**
 * Parses a lease key (a full path or just the name) the way upstream's `ParseSubnetKey` does.
 *
 * Accepted as upstream: the regex is anchored only at the end; the IPv4 length is read as a 5-bit number (0..31,
 * so a `/32` lease key does not parse), the IPv6 one as 7 bits (0..127); leading zeros in lengths; IPv6 in any
 * valid lower-case form (upper-case hex does not match). `0.0.0.0-0&<v6>` is IPv6-only, and an IPv6 part `::-0`
 * counts as absent, as upstream.
 *
 * Refused on top of upstream (returns `undefined`): a part with host bits set (`10.5.52.1-24`; upstream would keep
 * the address unmasked), and a key with neither family (`0.0.0.0-0`).
 *
 * A hand-written key may be non-canonical (`10.5.52.0-024`), so {@linkcode leaseKeyName} of the result can differ
 * from the key read: keep the key as read to update or delete it.
 *
 * @param key The etcd key or its last part.
 * @returns The subnets, or `undefined` when the key is not a lease key.
 * @example
 * ```ts
 * import { parseLeaseKey } from "./lease_codec.ts";
 * const s = parseLeaseKey("/coreos.com/network/subnets/0.0.0.0-0&fc00:0:0:1::-64");
 * console.assert(s?.subnet === undefined && s?.ipv6Subnet?.prefixLen === 64);
 * ```
 */
export function parseLeaseKey(key: string): LeaseSubnets | undefined {
  const m = SUBNET_KEY_RE.exec(key);
  if (!m) return undefined;
  let v4addr: IpAddr;
  try {
    v4addr = parseIp4(m[1]!);
  } catch {
    return undefined;
  }
  const v4len = parseUintBits(m[2]!, 5);
  if (v4len === undefined) return undefined;
  const subnet = exactNet(v4addr, v4len);
  if (subnet === undefined) return undefined;
  let ipv6Subnet: IpNet | undefined;
  if (m[3] !== undefined) {
    let v6addr: IpAddr;
    try {
      v6addr = parseIp(m[3]);
    } catch {
      return undefined;
    }
    const v6len = parseUintBits(m[4]!, 7);
    if (v6len === undefined || v6addr.family !== 6) return undefined;
    ipv6Subnet = exactNet(v6addr, v6len);
    if (ipv6Subnet === undefined) return undefined;
    // Upstream's IP6Net.Empty(): the IPv6 part "::-0" is no IPv6 part at all.
    if (ipv6Subnet.prefixLen === 0) ipv6Subnet = undefined;
  }
  const v4Empty = subnet.prefixLen === 0 && subnet.addr.value === 0n;
  if (v4Empty) return ipv6Subnet === undefined ? undefined : { ipv6Subnet };
  return ipv6Subnet === undefined ? { subnet } : { subnet, ipv6Subnet };
}

/** Thrown by {@linkcode decodeLeaseAttrs} for a value upstream could not decode either. */
export class LeaseDecodeError extends SyntaxError {
  override name = "LeaseDecodeError";
}

/**
 * A JSON value as Go's `encoding/json` writes it: compact, with `<`, `>`, `&`, U+2028 and U+2029 escaped as
 * `\u003c`… (Go's HTML-safe default). Those characters can only occur inside strings, so escaping them after
 * `JSON.stringify` is exact.
 */
function goJson(value: unknown): string {
  const text = JSON.stringify(value);
  if (text === undefined) throw new TypeError(`Cannot encode ${typeof value} as JSON`);
  return text.replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/**
 * Encodes lease attributes exactly as upstream writes them: compact JSON, fields in the order `PublicIP`,
 * `PublicIPv6` (`null` when absent), `BackendType` (omitted when empty), `BackendData`, `BackendV6Data` (each
 * omitted when `undefined`, embedded as JSON, not as a string).
 *
 * @param attrs The attributes.
 * @returns The JSON text.
 * @throws {TypeError} When `publicIp` is not IPv4, `publicIpv6` not IPv6, or backend data cannot be encoded.
 * @example A host-gw lease
 * ```ts
 * import { encodeLeaseAttrs } from "./lease_codec.ts";
 * import { parseIp } from "../ip.ts";
 * const json = encodeLeaseAttrs({ publicIp: parseIp("10.199.0.1"), backendType: "host-gw" });
 * console.assert(json === `{"PublicIP":"10.199.0.1","PublicIPv6":null,"BackendType":"host-gw"}`);
 * ```
 */
export function encodeLeaseAttrs(attrs: LeaseAttrs): string {
  if (attrs.publicIp.family !== 4) {
    throw new TypeError(`PublicIP must be IPv4, not ${formatIp(attrs.publicIp)}`);
  }
  if (attrs.publicIpv6 !== undefined && attrs.publicIpv6.family !== 6) {
    throw new TypeError(`PublicIPv6 must be IPv6, not ${formatIp(attrs.publicIpv6)}`);
  }
  let out = `{"PublicIP":"${formatIp(attrs.publicIp)}","PublicIPv6":${
    attrs.publicIpv6 === undefined ? "null" : `"${formatIp(attrs.publicIpv6)}"`
  }`;
  if (attrs.backendType !== undefined && attrs.backendType !== "") {
    out += `,"BackendType":${goJson(attrs.backendType)}`;
  }
  if (attrs.backendData !== undefined) out += `,"BackendData":${goJson(attrs.backendData)}`;
  if (attrs.backendV6Data !== undefined) out += `,"BackendV6Data":${goJson(attrs.backendV6Data)}`;
  return `${out}}`;
}

/**
 * Decodes a lease value as upstream does (`json.Unmarshal` into `lease.LeaseAttrs`): field names match
 * case-insensitively, unknown fields are ignored, a repeated field's last value wins; `PublicIP` missing means
 * `0.0.0.0` and `null` is an error; `PublicIPv6` may be `null` or missing (and an IPv4 text becomes its
 * IPv4-mapped IPv6 form, as Go's `To16`); `BackendType` `null` means none; `BackendData`/`BackendV6Data` keep any
 * JSON value (including `null`). A top-level `null` decodes to empty attributes, as in Go.
 *
 * @param json The value of a lease key.
 * @returns The attributes.
 * @throws {LeaseDecodeError} For anything else; never another error.
 * @example
 * ```ts
 * import { decodeLeaseAttrs } from "./lease_codec.ts";
 * import { formatIp } from "../ip.ts";
 * const a = decodeLeaseAttrs(`{"publicip":"10.199.0.1","BackendType":"vxlan","BackendData":{"VNI":1}}`);
 * console.assert(formatIp(a.publicIp) === "10.199.0.1" && a.backendType === "vxlan");
 * ```
 */
export function decodeLeaseAttrs(json: string): LeaseAttrs {
  let root: GoJsonNode;
  try {
    root = parseGoJson(json);
  } catch (e) {
    if (e instanceof GoJsonSyntaxError) {
      throw new LeaseDecodeError(`Invalid lease value: not valid JSON: ${e.message}`);
    }
    throw e;
  }
  if (root.kind === "null") return { publicIp: { family: 4, value: 0n } };
  if (root.kind !== "object") {
    throw new LeaseDecodeError(`Invalid lease value: must be a JSON object, not ${jsonType(root)}`);
  }
  const fail = (field: string, node: GoJsonNode, detail: string): never => {
    const raw = node.raw.length > 60 ? `${node.raw.slice(0, 57)}...` : node.raw;
    throw new LeaseDecodeError(`Invalid lease value: "${field}" is ${raw}: ${detail}`);
  };
  /** The text flannel's IP types see: raw JSON with quotes trimmed, so only an escape-free string can parse. */
  const ipText = (field: string, node: GoJsonNode): string => {
    if (node.kind !== "string") return fail(field, node, `must be a string, not ${jsonType(node)}`);
    if (node.raw.includes("\\")) return fail(field, node, "must be written without escape sequences");
    return node.value;
  };
  let publicIp: IpAddr = { family: 4, value: 0n };
  let publicIpv6: IpAddr | undefined;
  let backendType: string | undefined;
  let backendData: unknown;
  let backendV6Data: unknown;
  for (const { key, value: node } of root.entries) {
    if (goFieldMatches(key, "PublicIP")) {
      publicIp = parseGoIp4(ipText("PublicIP", node)) ?? fail("PublicIP", node, "not an IPv4 address");
    } else if (goFieldMatches(key, "PublicIPv6")) {
      if (node.kind === "null") {
        publicIpv6 = undefined;
        continue;
      }
      const text = ipText("PublicIPv6", node);
      let addr: IpAddr;
      try {
        addr = parseIp(text);
      } catch {
        return fail("PublicIPv6", node, "not an IP address");
      }
      publicIpv6 = addr.family === 6 ? addr : { family: 6, value: 0xffff00000000n | addr.value };
    } else if (goFieldMatches(key, "BackendType")) {
      if (node.kind === "null") continue; // Go leaves a string untouched on null
      if (node.kind !== "string") fail("BackendType", node, `must be a string, not ${jsonType(node)}`);
      backendType = (node as { value: string }).value;
    } else if (goFieldMatches(key, "BackendData")) {
      backendData = JSON.parse(node.raw);
    } else if (goFieldMatches(key, "BackendV6Data")) {
      backendV6Data = JSON.parse(node.raw);
    }
  }
  return {
    publicIp,
    ...(publicIpv6 !== undefined ? { publicIpv6 } : {}),
    ...(backendType !== undefined && backendType !== "" ? { backendType } : {}),
    ...(backendData !== undefined ? { backendData } : {}),
    ...(backendV6Data !== undefined ? { backendV6Data } : {}),
  };
}
