/**
 * subnet.env as upstream's CNI plugin reads it (`loadFlannelSubnetEnv`). Pure.
 *
 * Line by line, split at the first `=`, no trimming and no unquoting (so the file must be what the agent
 * writes, not a general dotenv file); unknown keys ignored; a later line for the same key replaces an earlier
 * one. `FLANNEL_NETWORK`/`FLANNEL_IPV6_NETWORK` may be comma-separated lists (duplicates dropped);
 * `FLANNEL_SUBNET`/`FLANNEL_IPV6_SUBNET` are masked to their network (`10.1.17.1/24` → `10.1.17.0/24`);
 * `FLANNEL_MTU` is an unsigned 32-bit decimal; `FLANNEL_IPMASQ` is true only for exactly `true`. A network (v4 or
 * v6), a subnet (v4 or v6), the MTU and IPMASQ are required.
 *
 * @module
 */
import { type IpNet, netEqual, parseCidr } from "../ip.ts";

/** What subnet.env says. */
export interface SubnetEnv {
  /** FLANNEL_NETWORK: the IPv4 flannel network(s), in file order, without duplicates. */
  readonly networks: readonly IpNet[];
  /** FLANNEL_SUBNET masked to the node's IPv4 subnet. */
  readonly subnet: IpNet | undefined;
  /** FLANNEL_IPV6_NETWORK. */
  readonly ipv6Networks: readonly IpNet[];
  /** FLANNEL_IPV6_SUBNET masked to the node's IPv6 subnet. */
  readonly ipv6Subnet: IpNet | undefined;
  /** FLANNEL_MTU. */
  readonly mtu: number;
  /** FLANNEL_IPMASQ: whether the agent masquerades (then the bridge must not). */
  readonly ipMasq: boolean;
}

/** Why subnet.env could not be used. `incomplete` lists the missing keys (a file being written, or truncated). */
export class SubnetEnvError extends SyntaxError {
  override name = "SubnetEnvError";
  /** The keys that were missing, empty when the problem is a bad value. */
  readonly missing: readonly string[];
  constructor(message: string, missing: readonly string[] = []) {
    super(message);
    this.missing = missing;
  }
}

const KEYS: ReadonlySet<string> = new Set([
  "FLANNEL_NETWORK",
  "FLANNEL_SUBNET",
  "FLANNEL_IPV6_NETWORK",
  "FLANNEL_IPV6_SUBNET",
  "FLANNEL_MTU",
  "FLANNEL_IPMASQ",
]);

function parseNetworks(key: string, value: string, line: number): IpNet[] {
  const nets: IpNet[] = [];
  for (const cidr of value.split(",")) {
    const net = parseValue(key, cidr, line);
    if (!nets.some((n) => netEqual(n, net))) nets.push(net);
  }
  return nets;
}

function parseValue(key: string, cidr: string, line: number): IpNet {
  try {
    return parseCidr(cidr);
  } catch (e) {
    throw new SubnetEnvError(`line ${line}: ${key}: ${(e as Error).message}`);
  }
}

/**
 * Parses subnet.env text with upstream's semantics.
 *
 * @param text the file's content
 * @param path the file name, for messages
 * @returns the parsed values
 * @throws {SubnetEnvError} on a bad value, or with `missing` set when required keys are absent
 * @example Reading the agent's file
 * ```ts
 * import { parseSubnetEnv } from "./subnet_env.ts";
 * const env = parseSubnetEnv(
 *   "FLANNEL_NETWORK=10.1.0.0/16\nFLANNEL_SUBNET=10.1.17.1/24\nFLANNEL_MTU=1472\nFLANNEL_IPMASQ=true\n",
 *   "/run/flannel/subnet.env",
 * );
 * if (env.mtu !== 1472 || !env.ipMasq) throw new Error("misread");
 * ```
 */
export function parseSubnetEnv(text: string, path: string): SubnetEnv {
  let networks: IpNet[] = [];
  let ipv6Networks: IpNet[] = [];
  let subnet: IpNet | undefined;
  let ipv6Subnet: IpNet | undefined;
  let mtu: number | undefined;
  let ipMasq: boolean | undefined;
  // bufio.ScanLines: split at "\n", drop one trailing "\r", no empty last line after a final "\n".
  const lines = text.split("\n");
  if (lines.at(-1) === "") lines.pop();
  lines.forEach((raw, i) => {
    const line = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
    const eq = line.indexOf("=");
    const key = eq < 0 ? line : line.slice(0, eq);
    const value = eq < 0 ? undefined : line.slice(eq + 1);
    if (!KEYS.has(key)) return;
    // Upstream indexes past the end here and panics; we say what is wrong.
    if (value === undefined) throw new SubnetEnvError(`line ${i + 1}: ${key} has no "=value"`);
    switch (key) {
      case "FLANNEL_NETWORK":
        networks = parseNetworks(key, value, i + 1);
        break;
      case "FLANNEL_IPV6_NETWORK":
        ipv6Networks = parseNetworks(key, value, i + 1);
        break;
      case "FLANNEL_SUBNET":
        subnet = parseValue(key, value, i + 1);
        break;
      case "FLANNEL_IPV6_SUBNET":
        ipv6Subnet = parseValue(key, value, i + 1);
        break;
      case "FLANNEL_MTU":
        // strconv.ParseUint(s, 10, 32): decimal digits only, at most 2^32-1.
        if (!/^\d+$/.test(value) || Number(value) > 0xffffffff) {
          throw new SubnetEnvError(`line ${i + 1}: FLANNEL_MTU: "${value}" is not an unsigned 32-bit number`);
        }
        mtu = Number(value);
        break;
      case "FLANNEL_IPMASQ":
        ipMasq = value === "true";
        break;
    }
  });
  const missing: string[] = [];
  if (networks.length === 0 && ipv6Networks.length === 0) {
    missing.push("FLANNEL_NETWORK", "FLANNEL_IPV6_NETWORK");
  }
  if (subnet === undefined && ipv6Subnet === undefined) missing.push("FLANNEL_SUBNET", "FLANNEL_IPV6_SUBNET");
  if (mtu === undefined) missing.push("FLANNEL_MTU");
  if (ipMasq === undefined) missing.push("FLANNEL_IPMASQ");
  if (missing.length > 0 || mtu === undefined || ipMasq === undefined) {
    throw new SubnetEnvError(`${path} is missing ${missing.join(", ")}`, missing);
  }
  return { networks, subnet, ipv6Networks, ipv6Subnet, mtu, ipMasq };
}
