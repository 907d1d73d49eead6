/**
 * flanneld's flags as data: {@linkcode AgentFlags} (the parsed result), {@linkcode FLAGS} (one row per flag of
 * upstream v0.28.9's `main.go`, plus klog's and our own) and {@linkcode defaults}. Pure.
 *
 * The table is what parsing, the `FLANNELD_*` fallback and the usage listing all read, so a flag is added in one
 * place: a field in {@linkcode AgentFlags}, a row here and its default in {@linkcode defaults}.
 *
 * @module
 */

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

/** {@linkcode AgentFlags} while it is being filled in: writable fields, lists that can be pushed to. */
export type Mutable<T> = { -readonly [K in keyof T]: T[K] extends readonly (infer U)[] ? U[] : T[K] };

/**
 * How a flag reads its value, after Go's `flag.Value` types: `string`, `bool`, `int` (Go `flag`), `list` (a
 * repeatable string), and klog's `level` (`-v`), `vmodule` and `trace` (`-log_backtrace_at`).
 */
export type Kind = "string" | "bool" | "int" | "list" | "level" | "vmodule" | "trace";

/** One flag: its name on the command line, how it reads a value, where the value goes, and its help. */
export interface FlagDef {
  /** The name without the leading `-`. */
  readonly name: string;
  /** How the value is read. */
  readonly kind: Kind;
  /** The {@linkcode AgentFlags} field the value goes to. */
  readonly field: keyof AgentFlags;
  /** The help text of the usage listing. */
  readonly usage: string;
  /** The default as Go's usage listing shows it; `undefined` = the zero value (not shown). */
  readonly shown?: string;
}

// Usage texts are upstream's (klog's for v, vmodule, log_backtrace_at), except for our own flags.
/** Every flag the agent accepts, in upstream's declaration order. */
export const FLAGS: readonly FlagDef[] = [
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

/** {@linkcode FLAGS} by name. */
export const BY_NAME: ReadonlyMap<string, FlagDef> = new Map(FLAGS.map((f) => [f.name, f]));

/**
 * Upstream's defaults, as a fresh object for one parse to fill in.
 *
 * @returns The options when no flag and no variable is given.
 */
export function defaults(): Mutable<AgentFlags> {
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
