/**
 * subnet.env (`--subnet-file`, default `/run/flannel/subnet.env`): what the CNI plugin reads, byte-compatible with
 * upstream flanneld v0.28.9 (`WriteSubnetFile` in `pkg/subnet/subnet.go`, `ReadCIDRFromSubnetFile` in `main.go`).
 *
 * {@linkcode renderSubnetEnv} and {@linkcode parsePreviousSubnets} are pure; {@linkcode writeSubnetFile} and
 * {@linkcode readPreviousSubnets} are the thin file-system shell around them.
 *
 * @module
 */
import { formatCidr, formatIp, type IpNet, parseCidr } from "./ip.ts";

/** What subnet.env says. A family's two prefixes are present together, or not at all. */
export interface SubnetEnv {
  /** The IPv4 flannel network (`Network`); with {@linkcode subnet}. */
  readonly network?: IpNet;
  /** The node's IPv4 lease subnet (written as its first address: `10.42.10.1/24`). */
  readonly subnet?: IpNet;
  /** The IPv6 flannel network (`IPv6Network`); with {@linkcode ipv6Subnet}. */
  readonly ipv6Network?: IpNet;
  /** The node's IPv6 lease subnet. */
  readonly ipv6Subnet?: IpNet;
  /** The MTU pods should use: the backend's MTU. */
  readonly mtu: number;
  /** `--ip-masq`. */
  readonly ipMasq: boolean;
}

/** The prefixes a previous run left in subnet.env, each masked to its network address. */
export interface PreviousSubnets {
  /** `FLANNEL_NETWORK`. */
  readonly network?: IpNet;
  /** `FLANNEL_SUBNET` (`10.42.10.1/24` reads as `10.42.10.0/24`). */
  readonly subnet?: IpNet;
  /** `FLANNEL_IPV6_NETWORK`. */
  readonly ipv6Network?: IpNet;
  /** `FLANNEL_IPV6_SUBNET`. */
  readonly ipv6Subnet?: IpNet;
}

/** The subnet's address + 1 (upstream's `IncrementIP`; IPv4 wraps as Go's uint32 does). */
function firstHost(net: IpNet): string {
  const family = net.addr.family;
  const mod = 1n << BigInt(family === 4 ? 32 : 128);
  return `${formatIp({ family, value: (net.addr.value + 1n) % mod })}/${net.prefixLen}`;
}

/**
 * Renders subnet.env exactly as upstream writes it: `FLANNEL_NETWORK`, `FLANNEL_SUBNET` (IPv4 on),
 * `FLANNEL_IPV6_NETWORK`, `FLANNEL_IPV6_SUBNET` (IPv6 on), `FLANNEL_MTU`, `FLANNEL_IPMASQ`, each line ending in
 * `\n`, no quotes. A `*_SUBNET` is the lease's address + 1 with the lease's prefix length.
 *
 * @param env What to write.
 * @returns The file's contents.
 * @throws {TypeError} When a family has only one of its two prefixes, or the MTU is not a non-negative integer.
 * @example
 * ```ts
 * import { renderSubnetEnv } from "./subnet_file.ts";
 * import { parseCidr } from "./ip.ts";
 * const text = renderSubnetEnv({
 *   network: parseCidr("10.42.0.0/16"), subnet: parseCidr("10.42.10.0/24"), mtu: 1450, ipMasq: false,
 * });
 * console.assert(text === "FLANNEL_NETWORK=10.42.0.0/16\nFLANNEL_SUBNET=10.42.10.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=false\n");
 * ```
 */
export function renderSubnetEnv(env: SubnetEnv): string {
  if ((env.network === undefined) !== (env.subnet === undefined)) {
    throw new TypeError("subnet.env needs both the IPv4 network and the IPv4 subnet, or neither");
  }
  if ((env.ipv6Network === undefined) !== (env.ipv6Subnet === undefined)) {
    throw new TypeError("subnet.env needs both the IPv6 network and the IPv6 subnet, or neither");
  }
  if (!Number.isSafeInteger(env.mtu) || env.mtu < 0) {
    throw new TypeError(`The MTU must be a non-negative integer, not ${env.mtu}`);
  }
  let out = "";
  if (env.network && env.subnet) {
    out += `FLANNEL_NETWORK=${formatCidr(env.network)}\nFLANNEL_SUBNET=${firstHost(env.subnet)}\n`;
  }
  if (env.ipv6Network && env.ipv6Subnet) {
    out += `FLANNEL_IPV6_NETWORK=${formatCidr(env.ipv6Network)}\nFLANNEL_IPV6_SUBNET=${
      firstHost(env.ipv6Subnet)
    }\n`;
  }
  return `${out}FLANNEL_MTU=${env.mtu}\nFLANNEL_IPMASQ=${env.ipMasq}\n`;
}

// ---------------------------------------------------------------------------------------------------------------
// Reading: a forgiving version of godotenv (v1.5.1), which upstream uses

/** godotenv's "space": blanks that are not line breaks. */
function isBlank(c: string): boolean {
  return c === "\t" || c === "\v" || c === "\f" || c === "\r" || c === " " || c === "\x85" || c === "\xa0";
}

const KEY_CHAR = /^[\p{L}\p{N}_.-]$/u;

/**
 * Reads `KEY=value` lines the way godotenv does: blank lines and `#` comments skipped, an optional `export `
 * prefix, `=` or `:` after the key, values unquoted (trimmed, ` #comment` cut), 'single-quoted' (literal) or
 * "double-quoted" (`\n`, `\r` and `\x` escapes; may span lines). Unlike godotenv, a malformed line is skipped
 * instead of failing the whole file, and `$VAR` is not expanded.
 */
function parseDotenv(text: string): Map<string, string> {
  const src = text.replaceAll("\r\n", "\n");
  const out = new Map<string, string>();
  let pos = 0;
  const skipLine = () => {
    const nl = src.indexOf("\n", pos);
    pos = nl < 0 ? src.length : nl + 1;
  };
  while (pos < src.length) {
    // Statement start: skip whitespace (line breaks included) and comment lines.
    while (pos < src.length && /\s/.test(src[pos]!)) pos++;
    if (pos >= src.length) break;
    if (src[pos] === "#") {
      skipLine();
      continue;
    }
    let line = pos;
    if (src.startsWith("export", line) && isBlank(src[line + 6] ?? "")) {
      line += 6;
      while (line < src.length && isBlank(src[line]!)) line++;
    }
    // The key: letters, digits, "_", ".", "-", blanks ignored, up to "=" or ":".
    let i = line;
    let keyEnd = -1;
    for (; i < src.length; i++) {
      const c = src[i]!;
      if (c === "=" || c === ":") {
        keyEnd = i;
        break;
      }
      if (isBlank(c) || KEY_CHAR.test(c)) continue;
      break;
    }
    if (keyEnd < 0) {
      skipLine();
      continue;
    }
    const key = src.slice(line, keyEnd).trimEnd();
    pos = keyEnd + 1;
    while (pos < src.length && isBlank(src[pos]!)) pos++;
    const quote = src[pos];
    if (quote === '"' || quote === "'") {
      // Find the closing quote that is not escaped (preceded by an odd number of backslashes).
      let j = pos + 1;
      for (; j < src.length; j++) {
        if (src[j] !== quote) continue;
        let backslashes = 0;
        for (let k = j - 1; k > pos && src[k] === "\\"; k--) backslashes++;
        if (backslashes % 2 === 0) break;
      }
      if (j >= src.length) {
        skipLine(); // unterminated: godotenv fails the file; we skip the line
        continue;
      }
      let value = src.slice(pos + 1, j);
      if (quote === '"') {
        value = value.replace(/\\(.)/g, (m, c: string) => (c === "n" ? "\n" : c === "r" ? "\r" : m))
          .replace(/\\([^$])/gs, "$1");
      }
      out.set(key, value);
      pos = j + 1;
      skipLine(); // whatever follows the closing quote on that line is ignored
      continue;
    }
    const nl = src.slice(pos).search(/[\n\r]/);
    const end = nl < 0 ? src.length : pos + nl;
    let value = src.slice(pos, end);
    const comment = value.search(/[\t\v\f\r \x85\xa0]#/);
    if (comment >= 0) value = value.slice(0, comment);
    out.set(key, value.replace(/^[\t\v\f\r \x85\xa0]+|[\t\v\f\r \x85\xa0]+$/g, ""));
    pos = end;
  }
  return out;
}

/**
 * Upstream's `ReadCIDRFromSubnetFile`: the value split at commas, each part parsed as a CIDR (no trimming) and
 * masked; exactly one part that parses → that prefix, none or several → absent.
 */
function readCidr(vars: Map<string, string>, key: string, family: 4 | 6): IpNet | undefined {
  const value = vars.get(key);
  if (value === undefined) return undefined;
  const parsed: IpNet[] = [];
  for (const part of value.split(",")) {
    try {
      parsed.push(parseCidr(part));
    } catch {
      // upstream logs and skips the part
    }
  }
  return parsed.length === 1 && parsed[0]!.addr.family === family ? parsed[0] : undefined;
}

/**
 * Reads the prefixes a previous run wrote to subnet.env, as upstream does at startup to reuse its subnet (and,
 * with `--ip-masq`, to remove masquerade rules built from old values). Each `*_SUBNET` is masked to its network
 * address. A value holding more than one comma-separated CIDR counts as absent, as upstream; so does a value of
 * the wrong family. Never throws: garbage yields fewer fields.
 *
 * @param text The file's contents.
 * @returns The prefixes found.
 * @example
 * ```ts
 * import { parsePreviousSubnets } from "./subnet_file.ts";
 * import { formatCidr } from "./ip.ts";
 * const prev = parsePreviousSubnets("FLANNEL_NETWORK=10.42.0.0/16\nFLANNEL_SUBNET=10.42.10.1/24\n");
 * console.assert(formatCidr(prev.subnet!) === "10.42.10.0/24");
 * ```
 */
export function parsePreviousSubnets(text: string): PreviousSubnets {
  const vars = parseDotenv(text);
  const network = readCidr(vars, "FLANNEL_NETWORK", 4);
  const subnet = readCidr(vars, "FLANNEL_SUBNET", 4);
  const ipv6Network = readCidr(vars, "FLANNEL_IPV6_NETWORK", 6);
  const ipv6Subnet = readCidr(vars, "FLANNEL_IPV6_SUBNET", 6);
  return {
    ...(network ? { network } : {}),
    ...(subnet ? { subnet } : {}),
    ...(ipv6Network ? { ipv6Network } : {}),
    ...(ipv6Subnet ? { ipv6Subnet } : {}),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// The file-system shell

function splitPath(path: string): { dir: string; base: string } {
  const trimmed = path.replace(/\/+$/, "");
  const slash = trimmed.lastIndexOf("/");
  if (slash < 0) return { dir: ".", base: trimmed };
  return { dir: slash === 0 ? "/" : trimmed.slice(0, slash), base: trimmed.slice(slash + 1) };
}

/**
 * Writes a file atomically, as upstream does with google/renameio: creates the parent directory (mode 0755), writes
 * a temporary file `.<basename><random>` beside the target, fsyncs it, sets mode 0644 exactly (regardless of the
 * umask) and renames it over the target. Readers see the old file or the new one, never a mix. The temporary file
 * is removed if anything fails.
 *
 * @param path The target, e.g. `/run/flannel/subnet.env`.
 * @param contents The file's contents.
 * @returns When the file is in place.
 */
export async function writeSubnetFile(path: string, contents: string): Promise<void> {
  const { dir, base } = splitPath(path);
  if (base === "") throw new TypeError(`Not a file path: "${path}"`);
  await Deno.mkdir(dir, { recursive: true, mode: 0o755 });
  const random = crypto.getRandomValues(new Uint32Array(1))[0]!;
  const temp = `${dir === "/" ? "" : dir}/.${base}${random}`;
  try {
    const file = await Deno.open(temp, { write: true, createNew: true, mode: 0o644 });
    try {
      const bytes = new TextEncoder().encode(contents);
      let written = 0;
      while (written < bytes.length) written += await file.write(bytes.subarray(written));
      await file.sync();
    } finally {
      file.close();
    }
    await Deno.chmod(temp, 0o644);
    await Deno.rename(temp, path);
  } catch (e) {
    await Deno.remove(temp).catch(() => {});
    throw e;
  }
}

/**
 * Reads the previous subnets from a subnet.env file (see {@linkcode parsePreviousSubnets}).
 *
 * @param path The file, e.g. `/run/flannel/subnet.env`.
 * @returns The prefixes found; `{}` when the file does not exist.
 * @throws {Deno.errors.PermissionDenied} And other read errors except "not found": upstream logs them and goes
 *   on without a previous subnet, which the caller can do too.
 */
export async function readPreviousSubnets(path: string): Promise<PreviousSubnets> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return {};
    throw e;
  }
  return parsePreviousSubnets(text);
}
