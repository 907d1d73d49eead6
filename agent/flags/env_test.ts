import assert from "node:assert/strict";
import { envName, envValues } from "./env.ts";
import { parse, usageError } from "./_testing.ts";

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

Deno.test("envValues skips flags given on the command line, empty values and -version, in name order", () => {
  const env = { FLANNELD_V: "2", FLANNELD_IFACE: "eth0", FLANNELD_IP_MASQ: "", FLANNELD_VERSION: "true" };
  assert.deepEqual(envValues(env, () => false).map((e) => [e.def.name, e.value, e.source.env]), [
    ["iface", "eth0", "FLANNELD_IFACE"],
    ["v", "2", "FLANNELD_V"],
  ]);
  assert.deepEqual(envValues(env, (name) => name === "iface").map((e) => e.def.name), ["v"]);
  assert.equal(envName("subnet-lease-renew-margin"), "FLANNELD_SUBNET_LEASE_RENEW_MARGIN");
});
