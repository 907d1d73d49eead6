import assert from "node:assert/strict";
import fc from "fast-check";
import { UsageError } from "../../cli/errors.ts";
import { parse, usageError } from "./_testing.ts";
import { parseAgentFlags } from "./parse.ts";

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
});

Deno.test("parseAgentFlags refuses bad syntax and missing values", () => {
  usageError(["---iface"], {}, /Bad flag syntax: ---iface/);
  usageError(["-=x"], {}, /Bad flag syntax: -=x/);
  usageError(["--=x"], {}, /Bad flag syntax/);
  usageError(["-iface"], {}, /Flag -iface needs a value/);
  usageError(["-healthz-port"], {}, /Flag -healthz-port needs a value/);
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
