import assert from "node:assert/strict";
import { agentUsage, closestFlag } from "./usage.ts";

Deno.test("closestFlag suggests the nearest flag, abbreviations included", () => {
  assert.equal(closestFlag("healthz"), "healthz-ip");
  assert.equal(closestFlag("subnet-lease-renew"), "subnet-lease-renew-margin");
  assert.equal(closestFlag("kube-subnet-manager"), "kube-subnet-mgr");
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
