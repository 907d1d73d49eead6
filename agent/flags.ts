/**
 * flanneld's command line: upstream v0.28.9's flags (`main.go`) with Go's `flag` syntax, then `FLANNELD_<NAME>`
 * environment variables (coreos `flagutil.SetFlagsFromEnv`) for flags not given on the command line. Pure.
 *
 * Syntax, as Go's `flag` package: `-name` and `--name` are the same; a value as `-name=value` or `-name value`
 * (the next argument is taken whatever it looks like); a boolean only as `-name` or `-name=false`, never
 * `-name false`; parsing stops at the first non-flag argument (or a lone `-`) and after `--`. Integers are read
 * like Go's `strconv.ParseInt(s, 0, 64)`: `0x1f`, `0o17`, `017` (octal!), `0b101`, `1_000` are all numbers.
 *
 * Environment: `FLANNELD_` + the flag's name upper-cased with `-` → `_` (`FLANNELD_ETCD_ENDPOINTS`,
 * `FLANNELD_LOG_BACKTRACE_AT`); empty values are ignored; a repeatable flag gets exactly one value (no comma
 * splitting); `-version` is looked at before the environment, so `FLANNELD_VERSION` has no effect.
 *
 * Deliberately unlike upstream: an unknown flag or a bad value is a {@linkcode UsageError} (exit 2) with a hint,
 * where upstream prints the usage and exits 0 (command line) or logs and carries on (environment); and
 * `-kube-subnet-mgr` is parsed but refused, as this agent speaks etcd only.
 *
 * @module
 */
import { UsageError } from "../cli/errors.ts";
import { parseIp } from "./ip.ts";

/** The agent's options, named after upstream's flags. */
export interface AgentFlags {
  /** `-etcd-endpoints`, split at commas (empty entries dropped). */
  readonly etcdEndpoints: readonly string[];
  /** `-etcd-prefix` [`/coreos.com/network`]. */
  readonly etcdPrefix: string;
  /** `-etcd-keyfile`: TLS is used only when both key and cert files are set. */
  readonly etcdKeyfile: string;
  /** `-etcd-certfile`. */
  readonly etcdCertfile: string;
  /** `-etcd-cafile`. */
  readonly etcdCafile: string;
  /** `-etcd-username` (etcd v3 auth). */
  readonly etcdUsername: string;
  /** `-etcd-password`. */
  readonly etcdPassword: string;
  /** `-iface`, repeatable: interface names or IPs, tried in order. */
  readonly iface: readonly string[];
  /** `-iface-regex`, repeatable: Go RE2 patterns (unanchored), tried after `iface`. */
  readonly ifaceRegex: readonly string[];
  /** `-iface-can-reach`: pick the interface the kernel would use to reach this address. */
  readonly ifaceCanReach: string;
  /** `-public-ip`: the IPv4 address other nodes reach this one at ("" = the interface's). */
  readonly publicIp: string;
  /** `-public-ipv6`. */
  readonly publicIpv6: string;
  /** `-subnet-file` [`/run/flannel/subnet.env`]. */
  readonly subnetFile: string;
  /** `-subnet-lease-renew-margin` in minutes, 1..1439 [60]. */
  readonly subnetLeaseRenewMargin: number;
  /** `-ip-masq`. */
  readonly ipMasq: boolean;
  /** `-ip-masq-fully-random-disable`. */
  readonly ipMasqFullyRandomDisable: boolean;
  /** `-iptables-resync` in seconds, at least 1 [5]; also the blackhole-route period. */
  readonly iptablesResync: number;
  /** `-iptables-forward-rules` [true]. */
  readonly iptablesForwardRules: boolean;
  /** `-ip-blackhole-route`. */
  readonly ipBlackholeRoute: boolean;
  /** `-healthz-ip` [`0.0.0.0`]. */
  readonly healthzIp: string;
  /** `-healthz-port`, 0..65535 [0 = no health server]. */
  readonly healthzPort: number;
  /** `-v`: log verbosity (klog). */
  readonly v: number;
  /** `-vmodule` (klog; accepted, checked for syntax). */
  readonly vmodule: string;
  /** `-log_backtrace_at` (klog; accepted, checked for syntax). */
  readonly logBacktraceAt: string;
  /** `-version`: print the version and exit. */
  readonly version: boolean;
  /** `-h`, `-help`, `--help`: print {@linkcode agentUsage} and exit. Nothing after it is parsed. */
  readonly help: boolean;
  /** `-kube-subnet-mgr`: always false here (true is refused). */
  readonly kubeSubnetMgr: boolean;
  /** `-kube-api-url` (Kubernetes mode; accepted and unused). */
  readonly kubeApiUrl: string;
  /** `-kube-annotation-prefix` (Kubernetes mode; accepted and unused). */
  readonly kubeAnnotationPrefix: string;
  /** `-kubeconfig-file` (Kubernetes mode; accepted and unused). */
  readonly kubeconfigFile: string;
  /** `-net-config-path` (Kubernetes mode; accepted and unused). */
  readonly netConfigPath: string;
  /** `-set-node-network-unavailable` (Kubernetes mode; accepted and unused). */
  readonly setNodeNetworkUnavailable: boolean;
  /** `-teardown` (ours): remove everything the agent owns on this node, then exit. */
  readonly teardown: boolean;
  /**
   * `-net-config` (ours): a network config JSON file written to `<prefix>/config` when that key is absent;
   * "" = off.
   */
  readonly netConfig: string;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] extends readonly (infer U)[] ? U[] : T[K] };

type Kind = "string" | "bool" | "int" | "list" | "level" | "vmodule" | "trace";

interface FlagDef {
  readonly name: string;
  readonly kind: Kind;
  readonly field: keyof AgentFlags;
  readonly usage: string;
  /** The default as Go's usage listing shows it; `undefined` = the zero value (not shown). */
  readonly shown?: string;
}

// Usage texts are upstream's (klog's for v, vmodule, log_backtrace_at), except for our own flags.
const FLAGS: readonly FlagDef[] = [
  {
    name: "etcd-endpoints",
    kind: "string",
    field: "etcdEndpoints",
    usage: "a comma-delimited list of etcd endpoints",
    shown: "http://127.0.0.1:4001,http://127.0.0.1:2379",
  },
  {
    name: "etcd-prefix",
    kind: "string",
    field: "etcdPrefix",
    usage: "etcd prefix",
    shown: "/coreos.com/network",
  },
  {
    name: "etcd-keyfile",
    kind: "string",
    field: "etcdKeyfile",
    usage: "SSL key file used to secure etcd communication",
  },
  {
    name: "etcd-certfile",
    kind: "string",
    field: "etcdCertfile",
    usage: "SSL certification file used to secure etcd communication",
  },
  {
    name: "etcd-cafile",
    kind: "string",
    field: "etcdCafile",
    usage: "SSL Certificate Authority file used to secure etcd communication",
  },
  { name: "etcd-username", kind: "string", field: "etcdUsername", usage: "username for BasicAuth to etcd" },
  { name: "etcd-password", kind: "string", field: "etcdPassword", usage: "password for BasicAuth to etcd" },
  {
    name: "iface",
    kind: "list",
    field: "iface",
    usage:
      "interface to use (IP or name) for inter-host communication. Can be specified multiple times to check each option in order. Returns the first match found.",
  },
  {
    name: "iface-regex",
    kind: "list",
    field: "ifaceRegex",
    usage:
      "regex expression to match the first interface to use (IP or name) for inter-host communication. Can be specified multiple times to check each regex in order. Returns the first match found. Regexes are checked after specific interfaces specified by the iface option have already been checked.",
  },
  {
    name: "iface-can-reach",
    kind: "string",
    field: "ifaceCanReach",
    usage:
      "detect interface to use (IP or name) for inter-host communication based on which will be used for provided IP. This is exactly the interface to use of command 'ip route get <ip-address>'",
  },
  {
    name: "subnet-file",
    kind: "string",
    field: "subnetFile",
    usage: "filename where env variables (subnet, MTU, ... ) will be written to",
    shown: "/run/flannel/subnet.env",
  },
  {
    name: "public-ip",
    kind: "string",
    field: "publicIp",
    usage: "IP accessible by other nodes for inter-host communication",
  },
  {
    name: "public-ipv6",
    kind: "string",
    field: "publicIpv6",
    usage: "IPv6 accessible by other nodes for inter-host communication",
  },
  {
    name: "subnet-lease-renew-margin",
    kind: "int",
    field: "subnetLeaseRenewMargin",
    usage: "subnet lease renewal margin, in minutes, ranging from 1 to 1439",
    shown: "60",
  },
  {
    name: "ip-masq",
    kind: "bool",
    field: "ipMasq",
    usage: "setup IP masquerade rule for traffic destined outside of overlay network",
  },
  {
    name: "ip-masq-fully-random-disable",
    kind: "bool",
    field: "ipMasqFullyRandomDisable",
    usage: "disable fully-random mode for MASQUERADE",
  },
  {
    name: "kube-subnet-mgr",
    kind: "bool",
    field: "kubeSubnetMgr",
    usage: "contact the Kubernetes API for subnet assignment instead of etcd.",
  },
  {
    name: "kube-api-url",
    kind: "string",
    field: "kubeApiUrl",
    usage: "Kubernetes API server URL. Does not need to be specified if flannel is running in a pod.",
  },
  {
    name: "kube-annotation-prefix",
    kind: "string",
    field: "kubeAnnotationPrefix",
    usage:
      `Kubernetes annotation prefix. Can contain single slash "/", otherwise it will be appended at the end.`,
    shown: "flannel.alpha.coreos.com",
  },
  {
    name: "kubeconfig-file",
    kind: "string",
    field: "kubeconfigFile",
    usage: "kubeconfig file location. Does not need to be specified if flannel is running in a pod.",
  },
  { name: "version", kind: "bool", field: "version", usage: "print version and exit" },
  {
    name: "healthz-ip",
    kind: "string",
    field: "healthzIp",
    usage: "the IP address for healthz server to listen",
    shown: "0.0.0.0",
  },
  {
    name: "healthz-port",
    kind: "int",
    field: "healthzPort",
    usage: "the port for healthz server to listen(0 to disable)",
  },
  {
    name: "iptables-resync",
    kind: "int",
    field: "iptablesResync",
    usage: "resync period for iptables rules, in seconds",
    shown: "5",
  },
  {
    name: "iptables-forward-rules",
    kind: "bool",
    field: "iptablesForwardRules",
    usage: "add default accept rules to FORWARD chain in iptables",
    shown: "true",
  },
  {
    name: "ip-blackhole-route",
    kind: "bool",
    field: "ipBlackholeRoute",
    usage: "add blackroute route ont the node for the local podCIDR",
  },
  {
    name: "net-config-path",
    kind: "string",
    field: "netConfigPath",
    usage: "path to the network configuration file",
    shown: "/etc/kube-flannel/net-conf.json",
  },
  {
    name: "set-node-network-unavailable",
    kind: "bool",
    field: "setNodeNetworkUnavailable",
    usage: "set NodeNetworkUnavailable after ready",
    shown: "true",
  },
  { name: "v", kind: "level", field: "v", usage: "number for the log level verbosity" },
  {
    name: "vmodule",
    kind: "vmodule",
    field: "vmodule",
    usage: "comma-separated list of pattern=N settings for file-filtered logging",
  },
  {
    name: "log_backtrace_at",
    kind: "trace",
    field: "logBacktraceAt",
    usage: "when logging hits line file:N, emit a stack trace",
  },
  {
    name: "teardown",
    kind: "bool",
    field: "teardown",
    usage:
      "remove the devices, routes, neighbour and FDB entries, firewall rules and subnet file this agent " +
      "created on this node, then exit (flannel-lab)",
  },
  {
    name: "net-config",
    kind: "string",
    field: "netConfig",
    usage:
      "network config JSON file to store at <etcd-prefix>/config when that key does not exist (flannel-lab)",
  },
];

const BY_NAME = new Map(FLAGS.map((f) => [f.name, f]));

function defaults(): Mutable<AgentFlags> {
  return {
    etcdEndpoints: ["http://127.0.0.1:4001", "http://127.0.0.1:2379"],
    etcdPrefix: "/coreos.com/network",
    etcdKeyfile: "",
    etcdCertfile: "",
    etcdCafile: "",
    etcdUsername: "",
    etcdPassword: "",
    iface: [],
    ifaceRegex: [],
    ifaceCanReach: "",
    publicIp: "",
    publicIpv6: "",
    subnetFile: "/run/flannel/subnet.env",
    subnetLeaseRenewMargin: 60,
    ipMasq: false,
    ipMasqFullyRandomDisable: false,
    iptablesResync: 5,
    iptablesForwardRules: true,
    ipBlackholeRoute: false,
    healthzIp: "0.0.0.0",
    healthzPort: 0,
    v: 0,
    vmodule: "",
    logBacktraceAt: "",
    version: false,
    help: false,
    kubeSubnetMgr: false,
    kubeApiUrl: "",
    kubeAnnotationPrefix: "flannel.alpha.coreos.com",
    kubeconfigFile: "",
    netConfigPath: "/etc/kube-flannel/net-conf.json",
    setNodeNetworkUnavailable: true,
    teardown: false,
    netConfig: "",
  };
}

/** Go's `strconv.ParseBool`. */
function parseGoBool(s: string): boolean | undefined {
  if (["1", "t", "T", "TRUE", "true", "True"].includes(s)) return true;
  if (["0", "f", "F", "FALSE", "false", "False"].includes(s)) return false;
  return undefined;
}

/** Go's `underscoreOK`: underscores only between digits, or between a base prefix and a digit. */
function underscoreOk(s: string): boolean {
  let saw = "^";
  let i = 0;
  if (s[0] === "-" || s[0] === "+") s = s.slice(1);
  let hex = false;
  if (s.length >= 2 && s[0] === "0" && "box".includes(s[1]!.toLowerCase())) {
    i = 2;
    saw = "0";
    hex = s[1]!.toLowerCase() === "x";
  }
  for (; i < s.length; i++) {
    const c = s[i]!;
    if ((c >= "0" && c <= "9") || (hex && c.toLowerCase() >= "a" && c.toLowerCase() <= "f")) {
      saw = "0";
      continue;
    }
    if (c === "_") {
      if (saw !== "0") return false;
      saw = "_";
      continue;
    }
    if (saw === "_") return false;
    saw = "!";
  }
  return saw !== "_";
}

/**
 * Go's `strconv.ParseInt(s, base, 64)` for base 0 (Go's `flag` package: `0x`/`0o`/`0b` prefixes, a leading `0`
 * for octal, `_` between digits) or base 10 (klog's level).
 *
 * @param s The text.
 * @param base 0 or 10.
 * @returns The value, or `undefined` for a syntax or range error.
 */
export function parseGoInt(s: string, base: 0 | 10 = 0): bigint | undefined {
  const original = s;
  let negative = false;
  if (s[0] === "+" || s[0] === "-") {
    negative = s[0] === "-";
    s = s.slice(1);
  }
  if (s === "") return undefined;
  let radix = 10;
  if (base === 0 && s[0] === "0") {
    const p = s.length >= 3 ? s[1]!.toLowerCase() : "";
    radix = p === "b" ? 2 : p === "o" || p === "" || !"bx".includes(p) ? 8 : 16;
    s = p === "b" || p === "o" || p === "x" ? s.slice(2) : s.slice(1);
  }
  let n = 0n;
  let underscores = false;
  for (const c of s) {
    if (c === "_" && base === 0) {
      underscores = true;
      continue;
    }
    const lower = c.toLowerCase();
    const d = c >= "0" && c <= "9"
      ? c.charCodeAt(0) - 48
      : lower >= "a" && lower <= "z"
      ? lower.charCodeAt(0) - 87
      : 99;
    if (d >= radix) return undefined;
    n = n * BigInt(radix) + BigInt(d);
  }
  if (underscores && !underscoreOk(original)) return undefined;
  if (negative) n = -n;
  if (n < -(1n << 63n) || n > (1n << 63n) - 1n) return undefined;
  return n;
}

/** Levenshtein distance, for "did you mean". */
function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length]!;
}

/** The known flag closest to an unknown name. */
export function closestFlag(name: string): string {
  const lower = name.toLowerCase().replaceAll("_", "-");
  let best = FLAGS[0]!.name;
  let bestScore = Infinity;
  for (const f of FLAGS) {
    const candidate = f.name.replaceAll("_", "-");
    // A known flag that starts with what was typed (an abbreviation) counts as close.
    const score = candidate.startsWith(lower) && lower.length >= 3 ? 0.5 : editDistance(lower, candidate);
    if (score < bestScore) [best, bestScore] = [f.name, score];
  }
  return best;
}

/** Where a value came from, for messages: `flag -name` or the environment variable. */
type Source = { readonly flag: string } | { readonly env: string };

function sourceText(s: Source): string {
  return "flag" in s ? `flag -${s.flag}` : s.env;
}

function envName(flag: string): string {
  return `FLANNELD_${flag.toUpperCase().replaceAll("-", "_")}`;
}

/** Applies one value to a flag, as the flag's Go `Set` method would; throws a UsageError for a bad value. */
function setFlag(out: Mutable<AgentFlags>, def: FlagDef, value: string, source: Source): void {
  const invalid = (why: string) =>
    new UsageError(`Invalid value ${JSON.stringify(value)} for ${sourceText(source)}: ${why}`, {
      hint: `See -help for the flag's meaning; e.g. -${def.name}${
        def.kind === "bool" ? "=true" : def.kind === "int" || def.kind === "level" ? "=1" : "=VALUE"
      }`,
    });
  const o = out as unknown as Record<string, unknown>;
  switch (def.kind) {
    case "string":
      o[def.field] = value;
      return;
    case "list":
      (o[def.field] as string[]).push(value);
      return;
    case "bool": {
      const b = parseGoBool(value);
      if (b === undefined) throw invalid("must be true or false (or 1/0, t/f)");
      o[def.field] = b;
      return;
    }
    case "int": {
      const n = parseGoInt(value, 0);
      if (n === undefined) throw invalid("not an integer");
      o[def.field] = Number(n);
      return;
    }
    case "level": {
      const n = parseGoInt(value, 10);
      if (n === undefined || n < -(1n << 31n) || n >= 1n << 31n) throw invalid("not an integer log level");
      o[def.field] = Number(n);
      return;
    }
    case "vmodule": {
      for (const pat of value.split(",")) {
        if (pat === "") continue;
        const parts = pat.split("=");
        if (parts.length !== 2 || parts[0] === "" || parts[1] === "") {
          throw invalid("expected a comma-separated list of pattern=N");
        }
        const n = parseGoInt(parts[1]!, 10);
        if (n === undefined || n >= 1n << 31n || n < -(1n << 31n)) {
          throw invalid("expected a comma-separated list of pattern=N");
        }
        if (n < 0n) throw invalid("negative value for vmodule level");
      }
      o[def.field] = value;
      return;
    }
    case "trace": {
      if (value !== "") {
        const parts = value.split(":");
        const line = parts.length === 2 ? parseGoInt(parts[1]!, 10) : undefined;
        if (parts.length !== 2 || !parts[0]!.includes(".") || line === undefined || line > (1n << 63n) - 1n) {
          throw invalid("expected file:N, e.g. main.go:123");
        }
        if (line <= 0n) throw invalid("the line number must be positive");
      }
      o[def.field] = value;
      return;
    }
  }
}

/**
 * Parses the agent's command line and `FLANNELD_*` environment variables like upstream flanneld, then checks
 * the values.
 *
 * @param argv The arguments after the subcommand (no program name).
 * @param env The environment, e.g. `Deno.env.toObject()`.
 * @returns The options. With `help` or `version` set, the environment is not consulted and nothing is checked.
 * @throws {UsageError} For an unknown flag (the hint names the closest known one), bad syntax, a missing or bad
 *   value (naming the flag or the variable and the value), a renew margin outside 1..1439, an iptables resync below
 *   1, a port outside 0..65535, a public IP of the wrong family, and `-kube-subnet-mgr`.
 * @example
 * ```ts
 * import { parseAgentFlags } from "./flags.ts";
 * const flags = parseAgentFlags(["--iface", "eth1", "-ip-masq"], { FLANNELD_ETCD_PREFIX: "/lab/network" });
 * console.assert(flags.iface[0] === "eth1" && flags.ipMasq && flags.etcdPrefix === "/lab/network");
 * ```
 */
export function parseAgentFlags(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): AgentFlags {
  const out = defaults();
  const given = new Map<string, Source>();
  let endpointsRaw: string | undefined;
  const set = (def: FlagDef, value: string, source: Source) => {
    if (def.name === "etcd-endpoints") endpointsRaw = value;
    else setFlag(out, def, value, source);
    given.set(def.name, source);
  };

  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg.length < 2 || arg[0] !== "-") break;
    let minuses = 1;
    if (arg[1] === "-") {
      minuses = 2;
      if (arg.length === 2) break; // "--" ends the flags
    }
    let name = arg.slice(minuses);
    if (name === "" || name[0] === "-" || name[0] === "=") {
      throw new UsageError(`Bad flag syntax: ${arg}`, {
        hint: "Flags look like -name, -name=value or -name value",
      });
    }
    let value: string | undefined;
    const eq = name.indexOf("=");
    if (eq >= 0) [name, value] = [name.slice(0, eq), name.slice(eq + 1)];
    const def = BY_NAME.get(name);
    if (def === undefined) {
      if (name === "h" || name === "help") {
        out.help = true;
        return out;
      }
      const close = closestFlag(name);
      throw new UsageError(`Unknown flag: -${name}`, {
        hint: `Did you mean -${close}? Run with -help to list the flags`,
      });
    }
    if (def.kind === "bool") {
      set(def, value ?? "true", { flag: name });
      continue;
    }
    if (value === undefined) {
      if (i + 1 >= argv.length) {
        throw new UsageError(`Flag -${name} needs a value`, {
          hint: `Write -${name}=VALUE or -${name} VALUE`,
        });
      }
      value = argv[++i]!;
    }
    set(def, value, { flag: name });
  }

  // -version is acted on before the environment is read (so FLANNELD_VERSION does nothing), as upstream.
  if (out.version) return finish(out, endpointsRaw, given);

  // Upstream visits flags in lexicographic order; the first bad value stops us.
  for (const def of [...FLAGS].sort((a, b) => (a.name < b.name ? -1 : 1))) {
    if (given.has(def.name) || def.name === "version") continue;
    const name = envName(def.name);
    const value = env[name];
    if (value === undefined || value === "") continue;
    set(def, value, { env: name });
  }
  const flags = finish(out, endpointsRaw, given);
  validate(flags, given);
  return flags;
}

function finish(
  out: Mutable<AgentFlags>,
  endpointsRaw: string | undefined,
  given: Map<string, Source>,
): AgentFlags {
  if (endpointsRaw !== undefined) {
    out.etcdEndpoints = endpointsRaw.split(",").map((e) => e.trim()).filter((e) => e !== "");
    if (out.etcdEndpoints.length === 0) {
      throw new UsageError(
        `Invalid value ${JSON.stringify(endpointsRaw)} for ${
          sourceText(given.get("etcd-endpoints")!)
        }: no endpoint`,
        { hint: "Give a comma-separated list such as http://127.0.0.1:2379" },
      );
    }
  }
  return out;
}

function validate(flags: AgentFlags, given: Map<string, Source>): void {
  const where = (name: string) => {
    const s = given.get(name);
    return s ? sourceText(s) : `flag -${name}`;
  };
  const check = (ok: boolean, name: string, value: unknown, why: string, hint: string) => {
    if (!ok) {
      throw new UsageError(`Invalid value ${JSON.stringify(String(value))} for ${where(name)}: ${why}`, {
        hint,
      });
    }
  };
  check(
    flags.subnetLeaseRenewMargin >= 1 && flags.subnetLeaseRenewMargin <= 1439,
    "subnet-lease-renew-margin",
    flags.subnetLeaseRenewMargin,
    "must be 1 to 1439 minutes (leases last 24 hours)",
    "The default, 60, renews each lease an hour before it expires",
  );
  check(
    flags.iptablesResync >= 1,
    "iptables-resync",
    flags.iptablesResync,
    "must be at least 1 second",
    "The default is 5",
  );
  check(
    flags.healthzPort >= 0 && flags.healthzPort <= 65535,
    "healthz-port",
    flags.healthzPort,
    "must be a TCP port, 0 to 65535 (0 = no health server)",
    "E.g. -healthz-port=8471",
  );
  const isFamily = (text: string, family: 4 | 6) => {
    try {
      return parseIp(text).family === family;
    } catch {
      return false;
    }
  };
  if (flags.publicIp !== "") {
    check(
      isFamily(flags.publicIp, 4),
      "public-ip",
      flags.publicIp,
      "not an IPv4 address",
      "E.g. -public-ip=192.0.2.10",
    );
  }
  if (flags.publicIpv6 !== "") {
    check(
      isFamily(flags.publicIpv6, 6),
      "public-ipv6",
      flags.publicIpv6,
      "not an IPv6 address",
      "E.g. -public-ipv6=2001:db8::10",
    );
  }
  if (flags.kubeSubnetMgr) {
    throw new UsageError(`Kubernetes mode is not supported; use etcd (${where("kube-subnet-mgr")} is true)`, {
      hint: "Drop -kube-subnet-mgr and point -etcd-endpoints at your etcd cluster",
    });
  }
}

/** Go's `strconv.Quote` for the printable ASCII our defaults use. */
function goQuote(s: string): string {
  return JSON.stringify(s);
}

/**
 * The flag listing, in the style of Go's `flag.PrintDefaults` (sorted by name; `-name type` then the usage on an
 * indented line; non-zero defaults shown), preceded by a usage line as upstream prints it.
 *
 * @param program The command shown in the usage line.
 * @returns The text, ending with a newline.
 */
export function agentUsage(program = "flannel-lab agent"): string {
  let out = `Usage: ${program} [OPTION]...\n`;
  for (const def of [...FLAGS].sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const type = def.kind === "bool"
      ? ""
      : def.kind === "string"
      ? "string"
      : def.kind === "int"
      ? "int"
      : "value";
    let line = `  -${def.name}${type ? ` ${type}` : ""}`;
    line += line.length <= 4 ? "\t" : "\n    \t";
    line += def.usage;
    if (def.shown !== undefined) {
      line += ` (default ${def.kind === "string" ? goQuote(def.shown) : def.shown})`;
    }
    out += `${line}\n`;
  }
  return out;
}
