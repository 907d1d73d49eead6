import assert from "node:assert/strict";
import fc from "fast-check";
import { UsageError } from "../cli/errors.ts";
import { agentUsage, closestFlag, parseAgentFlags, parseGoInt } from "./flags.ts";

const parse = (argv: string[], env: Record<string, string> = {}) => parseAgentFlags(argv, env);

/** Asserts a UsageError whose message matches `re`; returns it. */
function usageError(argv: string[], env: Record<string, string>, re: RegExp): UsageError {
  try {
    parse(argv, env);
  } catch (e) {
    assert.ok(e instanceof UsageError, `expected UsageError, got ${e}`);
    assert.match(e.message, re);
    assert.equal(e.exitCode, 2);
    return e;
  }
  assert.fail(`expected ${JSON.stringify(argv)} to be refused`);
}

Deno.test("parseAgentFlags defaults are upstream's", () => {
  assert.deepEqual(parse([]), {
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
  });
});

Deno.test("parseAgentFlags accepts Go flag syntax: -name, --name, =value and separate values", () => {
  const f = parse([
    "-etcd-endpoints=http://10.0.0.1:2379,http://10.0.0.2:2379",
    "--etcd-prefix",
    "/lab/network",
    "-iface",
    "eth1",
    "--iface=10.0.0.5",
    "-iface-regex=^en",
    "-ip-masq",
    "--iptables-forward-rules=false",
    "-healthz-port",
    "8471",
    "-v=4",
    "-subnet-lease-renew-margin=30",
    "-public-ip=192.0.2.10",
    "-public-ipv6=2001:db8::10",
    "-net-config",
    "/etc/flannel/net.json",
    "-teardown=true",
  ]);
  assert.deepEqual(f.etcdEndpoints, ["http://10.0.0.1:2379", "http://10.0.0.2:2379"]);
  assert.equal(f.etcdPrefix, "/lab/network");
  assert.deepEqual(f.iface, ["eth1", "10.0.0.5"]);
  assert.deepEqual(f.ifaceRegex, ["^en"]);
  assert.equal(f.ipMasq, true);
  assert.equal(f.iptablesForwardRules, false);
  assert.equal(f.healthzPort, 8471);
  assert.equal(f.v, 4);
  assert.equal(f.subnetLeaseRenewMargin, 30);
  assert.equal(f.publicIp, "192.0.2.10");
  assert.equal(f.publicIpv6, "2001:db8::10");
  assert.equal(f.netConfig, "/etc/flannel/net.json");
  assert.equal(f.teardown, true);
});

Deno.test("parseAgentFlags: a value-taking flag takes the next argument whatever it looks like", () => {
  assert.equal(parse(["-etcd-prefix", "-iface"]).etcdPrefix, "-iface");
  assert.equal(parse(["-etcd-password", ""]).etcdPassword, "");
  assert.equal(parse(["-etcd-prefix="]).etcdPrefix, "");
  assert.equal(parse(["-etcd-password=a=b"]).etcdPassword, "a=b");
  // klog's -v is not a boolean: "-v -iface" makes "-iface" its value, which is not a number.
  usageError(["-v", "-iface", "eth0"], {}, /Invalid value "-iface" for flag -v/);
});

Deno.test("parseAgentFlags: booleans never take a separate value; parsing stops at the first non-flag", () => {
  const f = parse(["-ip-masq", "false", "-iface", "eth0"]);
  assert.equal(f.ipMasq, true, "-ip-masq false means -ip-masq, then a positional argument");
  assert.deepEqual(f.iface, [], "parsing stopped at the positional 'false'");
  assert.deepEqual(parse(["--", "-iface", "eth0"]).iface, []);
  assert.deepEqual(parse(["-", "-iface", "eth0"]).iface, []);
  assert.deepEqual(parse(["eth0", "-iface", "eth0"]).iface, []);
  for (
    const [text, want] of [
      ["1", true],
      ["t", true],
      ["T", true],
      ["TRUE", true],
      ["True", true],
      ["0", false],
      [
        "f",
        false,
      ],
      ["F", false],
      ["FALSE", false],
      ["False", false],
    ] as const
  ) {
    assert.equal(parse([`-ip-masq=${text}`]).ipMasq, want, text);
  }
  usageError(["-ip-masq=yes"], {}, /Invalid value "yes" for flag -ip-masq: must be true or false/);
  usageError(["-ip-masq=tRuE"], {}, /Invalid value "tRuE"/);
});

Deno.test("parseAgentFlags reads integers like Go's strconv.ParseInt(s, 0, 64)", () => {
  assert.equal(parse(["-healthz-port=0x1f90"]).healthzPort, 8080);
  assert.equal(parse(["-healthz-port=017"]).healthzPort, 15, "a leading 0 means octal");
  assert.equal(parse(["-healthz-port=0o17"]).healthzPort, 15);
  assert.equal(parse(["-healthz-port=0b101"]).healthzPort, 5);
  assert.equal(parse(["-healthz-port=8_080"]).healthzPort, 8080, "underscores between digits");
  assert.equal(parse(["-iptables-resync=+7"]).iptablesResync, 7);
  usageError(["-healthz-port=80a"], {}, /Invalid value "80a" for flag -healthz-port: not an integer/);
  usageError(["-healthz-port=089"], {}, /not an integer/);
  usageError(["-healthz-port="], {}, /not an integer/);
  usageError(["-healthz-port= 80"], {}, /not an integer/);
});

// Expected values checked against Go 1.26's strconv.ParseInt.
Deno.test("parseGoInt follows strconv.ParseInt edge cases", () => {
  const cases: [string, 0 | 10, bigint | undefined][] = [
    ["0", 0, 0n],
    ["-0", 0, 0n],
    ["00", 0, 0n],
    ["0x", 0, undefined],
    ["0x_1", 0, 1n],
    ["0x1_", 0, undefined],
    ["1_000", 0, 1000n],
    ["8_080", 0, 8080n],
    ["_1", 0, undefined],
    ["1__0", 0, undefined],
    ["0x1__0", 0, undefined],
    ["01_7", 0, 15n],
    ["0_x1", 0, undefined],
    ["0b", 0, undefined],
    ["0o", 0, undefined],
    ["08", 0, undefined],
    ["1e3", 0, undefined],
    [" 1", 0, undefined],
    ["+5", 10, 5n],
    ["0_17", 0, 15n],
    ["0b_1_0", 0, 2n],
    ["0b12", 0, undefined],
    ["0o8", 0, undefined],
    ["0X1F", 0, 31n],
    ["9223372036854775807", 0, 9223372036854775807n],
    ["9223372036854775808", 0, undefined],
    ["-9223372036854775808", 0, -9223372036854775808n],
    ["+", 0, undefined],
    ["", 0, undefined],
    ["017", 10, 17n],
    ["0x10", 10, undefined],
    ["1_0", 10, undefined],
    ["\u0661", 0, undefined],
  ];
  for (const [s, base, want] of cases) {
    assert.equal(parseGoInt(s, base), want, `${JSON.stringify(s)} base ${base}`);
  }
  fc.assert(fc.property(fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n }), (n) => {
    assert.equal(parseGoInt(n.toString(), 0), n);
    assert.equal(parseGoInt((n < 0n ? "-0x" : "0x") + (n < 0n ? -n : n).toString(16), 0), n);
  }));
});

Deno.test("parseAgentFlags: -h, -help and --help ask for help and stop parsing", () => {
  for (const arg of ["-h", "-help", "--help", "--h", "-help=false"]) {
    const f = parse([arg, "-no-such-flag"], { FLANNELD_HEALTHZ_PORT: "bad" });
    assert.equal(f.help, true, arg);
  }
  // Go parses in order: an error before the help flag wins.
  usageError(["-healthz-port=x", "-h"], {}, /healthz-port/);
});

Deno.test("parseAgentFlags refuses unknown flags with a hint naming the closest one", () => {
  let e = usageError(["-ifcae", "eth0"], {}, /^Unknown flag: -ifcae$/);
  assert.match(e.hint!, /Did you mean -iface\?/);
  e = usageError(["--etcd-endpoint=http://x"], {}, /Unknown flag: -etcd-endpoint$/);
  assert.match(e.hint!, /-etcd-endpoints/);
  e = usageError(["-Iface", "eth0"], {}, /Unknown flag: -Iface/);
  assert.match(e.hint!, /-iface\?/);
  e = usageError(["-log-backtrace-at=x.go:1"], {}, /Unknown flag/);
  assert.match(e.hint!, /-log_backtrace_at/);
  assert.equal(closestFlag("healthz"), "healthz-ip");
  assert.equal(closestFlag("subnet-lease-renew"), "subnet-lease-renew-margin");
  assert.equal(closestFlag("kube-subnet-manager"), "kube-subnet-mgr");
});

Deno.test("parseAgentFlags refuses bad syntax and missing values", () => {
  usageError(["---iface"], {}, /Bad flag syntax: ---iface/);
  usageError(["-=x"], {}, /Bad flag syntax: -=x/);
  usageError(["--=x"], {}, /Bad flag syntax/);
  usageError(["-iface"], {}, /Flag -iface needs a value/);
  usageError(["-healthz-port"], {}, /Flag -healthz-port needs a value/);
});

Deno.test("parseAgentFlags reads FLANNELD_* variables for flags not on the command line", () => {
  const f = parse(["-iface", "eth1"], {
    FLANNELD_IFACE: "eth9",
    FLANNELD_IFACE_REGEX: "^en,^eth",
    FLANNELD_ETCD_ENDPOINTS: "http://10.0.0.1:2379",
    FLANNELD_IP_MASQ: "true",
    FLANNELD_V: "3",
    FLANNELD_LOG_BACKTRACE_AT: "main.go:10",
    FLANNELD_VMODULE: "foo=2,bar*=1",
    FLANNELD_SUBNET_LEASE_RENEW_MARGIN: "0x3c",
    FLANNELD_ETCD_PREFIX: "",
    FLANNELD_NET_CONFIG: "/etc/net.json",
    FLANNELD_NOT_A_FLAG: "x",
  });
  assert.deepEqual(f.iface, ["eth1"], "the command line wins");
  assert.deepEqual(f.ifaceRegex, ["^en,^eth"], "one value, no comma splitting");
  assert.deepEqual(f.etcdEndpoints, ["http://10.0.0.1:2379"]);
  assert.equal(f.ipMasq, true);
  assert.equal(f.v, 3);
  assert.equal(f.logBacktraceAt, "main.go:10");
  assert.equal(f.vmodule, "foo=2,bar*=1");
  assert.equal(f.subnetLeaseRenewMargin, 60);
  assert.equal(f.etcdPrefix, "/coreos.com/network", "empty values are ignored");
  assert.equal(f.netConfig, "/etc/net.json");
});

Deno.test("parseAgentFlags: a flag given on the command line ignores its variable, even at its default", () => {
  const f = parse(["-ip-masq=false", "-healthz-port=0"], {
    FLANNELD_IP_MASQ: "true",
    FLANNELD_HEALTHZ_PORT: "bad",
  });
  assert.equal(f.ipMasq, false);
  assert.equal(f.healthzPort, 0);
});

Deno.test("parseAgentFlags: -version is acted on before the environment; FLANNELD_VERSION does nothing", () => {
  const f = parse(["-version"], { FLANNELD_HEALTHZ_PORT: "bad", FLANNELD_SUBNET_LEASE_RENEW_MARGIN: "0" });
  assert.equal(f.version, true);
  assert.equal(f.healthzPort, 0);
  assert.equal(parse([], { FLANNELD_VERSION: "true" }).version, false);
  // Command-line errors still count.
  usageError(["-version", "-bogus"], {}, /Unknown flag: -bogus/);
});

Deno.test("parseAgentFlags names the variable for a bad environment value", () => {
  usageError(
    [],
    { FLANNELD_HEALTHZ_PORT: "http" },
    /^Invalid value "http" for FLANNELD_HEALTHZ_PORT: not an integer$/,
  );
  usageError([], { FLANNELD_IP_MASQ: "yes" }, /for FLANNELD_IP_MASQ: must be true or false/);
  usageError(
    [],
    { FLANNELD_SUBNET_LEASE_RENEW_MARGIN: "0" },
    /Invalid value "0" for FLANNELD_SUBNET_LEASE_RENEW_MARGIN: must be 1 to 1439 minutes/,
  );
  usageError(
    [],
    { FLANNELD_IPTABLES_RESYNC: "0" },
    /for FLANNELD_IPTABLES_RESYNC: must be at least 1 second/,
  );
  usageError([], { FLANNELD_V: "x" }, /FLANNELD_V/);
});

Deno.test("parseAgentFlags checks ranges", () => {
  usageError(["-subnet-lease-renew-margin=0"], {}, /for flag -subnet-lease-renew-margin: must be 1 to 1439/);
  usageError(["-subnet-lease-renew-margin=1440"], {}, /must be 1 to 1439/);
  assert.equal(parse(["-subnet-lease-renew-margin=1"]).subnetLeaseRenewMargin, 1);
  assert.equal(parse(["-subnet-lease-renew-margin=1439"]).subnetLeaseRenewMargin, 1439);
  usageError(["-iptables-resync=0"], {}, /for flag -iptables-resync: must be at least 1 second/);
  usageError(["-iptables-resync=-5"], {}, /at least 1/);
  usageError(["-healthz-port=65536"], {}, /for flag -healthz-port: must be a TCP port, 0 to 65535/);
  usageError(["-healthz-port=-1"], {}, /TCP port/);
  assert.equal(parse(["-healthz-port=65535"]).healthzPort, 65535);
  usageError(["-public-ip=2001:db8::1"], {}, /for flag -public-ip: not an IPv4 address/);
  usageError(["-public-ip=eth0"], {}, /not an IPv4 address/);
  usageError(["-public-ipv6=192.0.2.1"], {}, /for flag -public-ipv6: not an IPv6 address/);
  usageError(["-etcd-endpoints=,"], {}, /Invalid value "," for flag -etcd-endpoints: no endpoint/);
  assert.deepEqual(parse(["-etcd-endpoints= http://a:2379 ,,http://b:2379"]).etcdEndpoints, [
    "http://a:2379",
    "http://b:2379",
  ]);
});

Deno.test("parseAgentFlags checks klog's -v, -vmodule and -log_backtrace_at like klog", () => {
  assert.equal(parse(["-v", "10"]).v, 10);
  usageError(["-v=0x1"], {}, /for flag -v/); // klog parses base 10
  usageError(["-v=2147483648"], {}, /for flag -v/);
  assert.equal(parse(["-vmodule=a=1,,b*=0,"]).vmodule, "a=1,,b*=0,");
  usageError(["-vmodule=a"], {}, /pattern=N/);
  usageError(["-vmodule==1"], {}, /pattern=N/);
  usageError(["-vmodule=a=x"], {}, /pattern=N/);
  usageError(["-vmodule=a=-1"], {}, /negative/);
  assert.equal(parse(["-log_backtrace_at="]).logBacktraceAt, "");
  assert.equal(parse(["-log_backtrace_at=gc.go:123"]).logBacktraceAt, "gc.go:123");
  usageError(["-log_backtrace_at=gc:123"], {}, /file:N/);
  usageError(["-log_backtrace_at=gc.go:0"], {}, /positive/);
  usageError(["-log_backtrace_at=gc.go:1:2"], {}, /file:N/);
});

Deno.test("parseAgentFlags accepts the Kubernetes flags but refuses Kubernetes mode", () => {
  const f = parse([
    "-kube-api-url=https://k8s:6443",
    "-kube-annotation-prefix=example.com",
    "-kubeconfig-file=/root/.kube/config",
    "-net-config-path=/etc/kube-flannel/x.json",
    "-set-node-network-unavailable=false",
    "-kube-subnet-mgr=false",
  ]);
  assert.equal(f.kubeApiUrl, "https://k8s:6443");
  assert.equal(f.kubeAnnotationPrefix, "example.com");
  assert.equal(f.kubeconfigFile, "/root/.kube/config");
  assert.equal(f.netConfigPath, "/etc/kube-flannel/x.json");
  assert.equal(f.setNodeNetworkUnavailable, false);
  const e = usageError(["-kube-subnet-mgr"], {}, /^Kubernetes mode is not supported; use etcd/);
  assert.match(e.hint!, /-etcd-endpoints/);
  usageError([], { FLANNELD_KUBE_SUBNET_MGR: "true" }, /FLANNELD_KUBE_SUBNET_MGR is true/);
});

Deno.test("parseAgentFlags only ever throws UsageError (fuzz)", () => {
  const names = [
    "iface",
    "ip-masq",
    "healthz-port",
    "v",
    "etcd-endpoints",
    "vmodule",
    "log_backtrace_at",
    "h",
    "x",
  ];
  const arg = fc.oneof(
    fc.string(),
    fc.tuple(
      fc.constantFrom("-", "--", "---", ""),
      fc.constantFrom(...names),
      fc.constantFrom("", "=", "=1", "=x"),
    )
      .map((p) => p.join("")),
  );
  const envVal = fc.oneof(fc.string(), fc.constantFrom("1", "true", "0", "x.go:1", "a=1"));
  fc.assert(
    fc.property(
      fc.array(arg, { maxLength: 6 }),
      fc.dictionary(
        fc.constantFrom("FLANNELD_V", "FLANNELD_IP_MASQ", "FLANNELD_HEALTHZ_PORT", "FLANNELD_IFACE"),
        envVal,
      ),
      (argv, env) => {
        try {
          parseAgentFlags(argv, env);
        } catch (e) {
          assert.ok(e instanceof UsageError, String(e));
        }
      },
    ),
    { numRuns: 3000 },
  );
});

Deno.test("agentUsage lists every flag in Go's PrintDefaults style", () => {
  const text = agentUsage("flanneld");
  assert.ok(
    text.startsWith(
      "Usage: flanneld [OPTION]...\n  -etcd-cafile string\n    \tSSL Certificate Authority file",
    ),
  );
  assert.ok(text.endsWith("\n"));
  for (
    const block of [
      `  -etcd-endpoints string\n    \ta comma-delimited list of etcd endpoints (default "http://127.0.0.1:4001,http://127.0.0.1:2379")\n`,
      "  -ip-masq\n    \tsetup IP masquerade rule for traffic destined outside of overlay network\n",
      "  -iptables-forward-rules\n    \tadd default accept rules to FORWARD chain in iptables (default true)\n",
      "  -subnet-lease-renew-margin int\n    \tsubnet lease renewal margin, in minutes, ranging from 1 to 1439 (default 60)\n",
      "  -healthz-port int\n    \tthe port for healthz server to listen(0 to disable)\n",
      "  -iface value\n",
      "  -v value\n    \tnumber for the log level verbosity\n",
      "  -vmodule value\n",
      "  -log_backtrace_at value\n",
    ]
  ) {
    assert.ok(text.includes(`\n${block}`), block);
  }
  const listed = [...text.matchAll(/^ {2}-(\S+)/gm)].map((m) => m[1]!);
  assert.deepEqual(listed, [...listed].sort(), "sorted by name");
  for (
    const name of [
      "etcd-endpoints",
      "etcd-prefix",
      "etcd-keyfile",
      "etcd-certfile",
      "etcd-cafile",
      "etcd-username",
      "etcd-password",
      "iface",
      "iface-regex",
      "iface-can-reach",
      "public-ip",
      "public-ipv6",
      "subnet-file",
      "subnet-lease-renew-margin",
      "ip-masq",
      "ip-masq-fully-random-disable",
      "iptables-resync",
      "iptables-forward-rules",
      "ip-blackhole-route",
      "healthz-ip",
      "healthz-port",
      "version",
      "v",
      "vmodule",
      "log_backtrace_at",
      "kube-subnet-mgr",
      "kube-api-url",
      "kube-annotation-prefix",
      "kubeconfig-file",
      "net-config-path",
      "set-node-network-unavailable",
      "teardown",
      "net-config",
    ]
  ) {
    assert.ok(listed.includes(name), name);
  }
  assert.equal(listed.length, 33);
  assert.ok(agentUsage().startsWith("Usage: flannel-lab agent [OPTION]...\n"));
});
