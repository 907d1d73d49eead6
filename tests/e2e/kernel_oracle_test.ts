/**
 * A kernel oracle per backend, independent of the harness's own kernel check: after `flannel-lab up`, every
 * node's routes, neighbours, FDB, devices, addresses and iptables rules are read with `ip -j`, `bridge -j` and
 * `iptables -S` and compared with what upstream flanneld programs for the same leases, written out here by hand
 * from upstream's documented and measured form (vxlan: `<subnet> via <subnet address> dev flannel.1 onlink`,
 * a PERMANENT neighbour and a `self permanent` FDB entry per peer; host-gw: `<subnet> via <PublicIP> dev eth1`;
 * udp: one `<Network> dev flannel0` route on a non-persistent TUN). The leases come straight from etcd.
 *
 * If the agent and the harness's expectation drifted together, the kernel check would still pass; this test
 * would not.
 */
import { deepEqual, equal, ok as assert } from "node:assert/strict";
import { run } from "../../cli/process/mod.ts";

const MOD = new URL("../../mod.ts", import.meta.url).pathname;
const NETWORK = "10.244.0.0/16";

/** A lease as etcd holds it, with what the oracle needs. */
interface Lease {
  subnet: string;
  /** The subnet's network address: `10.244.7.0` for `10.244.7.0/24`. */
  address: string;
  publicIp: string;
  backendType: string;
  vtepMac?: string;
}

async function flannelLab(args: string[]): Promise<string> {
  const r = await run([Deno.execPath(), "run", "-A", "--unstable-net", "--no-check", MOD, ...args], {
    check: false,
    timeoutMs: 180_000,
  });
  assert(r.code === 0, `flannel-lab ${args.join(" ")}: exit ${r.code}\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** A lab brought up from a shipped topology, with exec and the leases in etcd. */
async function withLab(
  topology: string,
  fn: (lab: {
    exec(node: string, cmd: string): Promise<string>;
    leases: Lease[];
    nodeIp: Map<string, string>;
  }) => Promise<void>,
): Promise<void> {
  const base = await Deno.makeTempDir({ prefix: "flannel-lab-e2e-oracle-" });
  const name = `or${Deno.pid % 10000}`;
  const common = ["-t", new URL(`../../topologies/${topology}.clab.yml`, import.meta.url).pathname];
  common.push("--name", name, "--lab-dir", base);
  const exec = (node: string, cmd: string) => flannelLab(["exec", ...common, node, "--", "sh", "-c", cmd]);
  try {
    await flannelLab(["up", ...common]);
    const view = JSON.parse(await flannelLab(["inspect", ...common, "-f", "json"]))[name] as {
      nodes: { node: string; role: string; addresses: string[] }[];
      cluster: { etcd: { node: string; endpoint: string } };
    };
    const nodeIp = new Map<string, string>();
    for (const n of view.nodes.filter((n) => n.role === "node")) {
      const eth1 = n.addresses.find((a) => a.startsWith("eth1="));
      assert(eth1, `${n.node} has no eth1 address: ${n.addresses}`);
      nodeIp.set(n.node, eth1.slice(5).split("/")[0]!);
    }
    const { node: etcdNode, endpoint } = view.cluster.etcd;
    const out = await exec(
      etcdNode,
      `ETCDCTL_API=3 etcdctl --endpoints ${endpoint} get --prefix /coreos.com/network/subnets/`,
    );
    const lines = out.trim().split("\n");
    const leases: Lease[] = [];
    for (let i = 0; i + 1 < lines.length; i += 2) {
      const subnet = lines[i]!.split("/").pop()!.replace("-", "/");
      const v = JSON.parse(lines[i + 1]!);
      leases.push({
        subnet,
        address: subnet.split("/")[0]!,
        publicIp: v.PublicIP,
        backendType: v.BackendType ?? "udp",
        ...(v.BackendData?.VtepMAC ? { vtepMac: v.BackendData.VtepMAC } : {}),
      });
    }
    equal(leases.length, nodeIp.size, `one lease per node:\n${out}`);
    await fn({ exec, leases, nodeIp });
  } finally {
    await run([Deno.execPath(), "run", "-A", "--unstable-net", "--no-check", MOD, "down", ...common], {
      check: false,
      timeoutMs: 60_000,
    });
    await Deno.remove(base, { recursive: true }).catch(() => {});
  }
}

/** The addresses in `ip -j addr show dev X` output, as `address/prefix`. */
function inetAddrs(json: string): string[] {
  const [dev] = JSON.parse(json) as { addr_info: { local: string; prefixlen: number }[] }[];
  return dev!.addr_info.map((a) => `${a.local}/${a.prefixlen}`);
}

const byDst = (a: { dst: string }, b: { dst: string }) => a.dst.localeCompare(b.dst);

/** The masquerade and forward rules upstream flanneld installs with `--ip-masq`, in upstream's order. */
function upstreamRules(own: Lease): { masq: string[]; fwd: string[] } {
  const m = `-m comment --comment "flanneld masq"`;
  const P = own.subnet, C = NETWORK;
  return {
    masq: [
      "-N FLANNEL-POSTRTG",
      `-A FLANNEL-POSTRTG -m mark --mark 0x4000/0x4000 ${m} -j RETURN`,
      `-A FLANNEL-POSTRTG -s ${P} -d ${C} ${m} -j RETURN`,
      `-A FLANNEL-POSTRTG -s ${C} -d ${P} ${m} -j RETURN`,
      `-A FLANNEL-POSTRTG ! -s ${C} -d ${P} ${m} -j RETURN`,
      `-A FLANNEL-POSTRTG -s ${C} ! -d 224.0.0.0/4 ${m} -j MASQUERADE --random-fully`,
      `-A FLANNEL-POSTRTG ! -s ${C} -d ${C} ${m} -j MASQUERADE --random-fully`,
    ],
    fwd: [
      "-N FLANNEL-FWD",
      `-A FLANNEL-FWD -s ${C} -m comment --comment "flanneld forward" -j ACCEPT`,
      `-A FLANNEL-FWD -d ${C} -m comment --comment "flanneld forward" -j ACCEPT`,
    ],
  };
}

/** Reads several commands' output in one exec; sections are split on a marker line. */
async function read(
  exec: (node: string, cmd: string) => Promise<string>,
  node: string,
  cmds: string[],
): Promise<string[]> {
  const out = await exec(node, cmds.join("; echo @@@; "));
  return out.split("@@@\n").map((s) => s.trim());
}

async function checkRules(exec: (node: string, cmd: string) => Promise<string>, node: string, own: Lease) {
  const [masq, post, fwd, forward] = await read(exec, node, [
    "iptables -w 5 -t nat -S FLANNEL-POSTRTG",
    "iptables -w 5 -t nat -S POSTROUTING",
    "iptables -w 5 -S FLANNEL-FWD",
    "iptables -w 5 -S FORWARD",
  ]);
  const want = upstreamRules(own);
  deepEqual(masq!.split("\n"), want.masq, `${node}: FLANNEL-POSTRTG`);
  assert(
    post!.split("\n").includes(`-A POSTROUTING -m comment --comment "flanneld masq" -j FLANNEL-POSTRTG`),
    `${node}: POSTROUTING jumps to FLANNEL-POSTRTG\n${post}`,
  );
  deepEqual(fwd!.split("\n"), want.fwd, `${node}: FLANNEL-FWD`);
  assert(
    forward!.split("\n").includes(`-A FORWARD -m comment --comment "flanneld forward" -j FLANNEL-FWD`),
    `${node}: FORWARD jumps to FLANNEL-FWD\n${forward}`,
  );
}

/** Pod-network routes other than the node's own cni0 route, in `ip -j` form. */
function overlayRoutes(json: string): Record<string, unknown>[] {
  return (JSON.parse(json) as Record<string, unknown>[])
    .filter((r) => String(r["dst"]).startsWith("10.244.") && r["dev"] !== "cni0")
    .sort((a, b) => String(a["dst"]).localeCompare(String(b["dst"])));
}

Deno.test({
  name:
    "e2e: kernel oracle, vxlan: per peer an onlink route, a PERMANENT neighbour, a self FDB entry; upstream's rules",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await withLab("vxlan-same-subnet", async ({ exec, leases, nodeIp }) => {
      for (const [node, ip] of nodeIp) {
        const own = leases.find((l) => l.publicIp === ip)!;
        const peers = leases.filter((l) => l !== own);
        assert(
          own.vtepMac && peers.every((p) => p.backendType === "vxlan" && p.vtepMac),
          JSON.stringify(leases),
        );
        const [routes, neigh, fdb, link, addr] = await read(exec, node, [
          "ip -j route show",
          "ip -j neigh show dev flannel.1",
          "bridge -j fdb show dev flannel.1",
          "ip -j -d link show flannel.1",
          "ip -j -4 addr show dev flannel.1",
        ]);
        // Exactly one route per peer, none for the whole Network.
        deepEqual(
          overlayRoutes(routes!),
          peers.map((p) => ({ dst: p.subnet, gateway: p.address, dev: "flannel.1", flags: ["onlink"] })).sort(
            byDst,
          ),
          `${node}: routes`,
        );
        deepEqual(
          (JSON.parse(neigh!) as { dst: string }[]).sort(byDst),
          peers.map((p) => ({ dst: p.address, lladdr: p.vtepMac, state: ["PERMANENT"] })).sort(byDst),
          `${node}: neighbours`,
        );
        deepEqual(
          (JSON.parse(fdb!) as { dst: string }[]).sort(byDst),
          peers.map((p) => ({ mac: p.vtepMac, dst: p.publicIp, flags: ["self"], state: "permanent" })).sort(
            byDst,
          ),
          `${node}: FDB`,
        );
        const dev = JSON.parse(link!)[0];
        equal(dev.mtu, 1450, `${node}: flannel.1 MTU is the 1500-byte underlay minus 50`);
        equal(dev.address, own.vtepMac, `${node}: flannel.1's MAC is the one its lease announces`);
        const d = dev.linkinfo.info_data;
        deepEqual(
          {
            kind: dev.linkinfo.info_kind,
            id: d.id,
            local: d.local,
            link: d.link,
            port: d.port,
            learning: d.learning,
          },
          { kind: "vxlan", id: 1, local: ip, link: "eth1", port: 8472, learning: false },
          `${node}: flannel.1 attributes`,
        );
        // Outer packets carry no DF (the kernel default, which upstream keeps).
        equal(d.df ?? "unset", "unset", `${node}: flannel.1 df`);
        const addrs = inetAddrs(addr!);
        deepEqual(addrs, [`${own.address}/32`], `${node}: flannel.1 holds its subnet's address as a /32`);
        await checkRules(exec, node, own);
      }
    });
  },
});

Deno.test({
  name:
    "e2e: kernel oracle, host-gw: per peer a route via its PublicIP on eth1, no tunnel device; upstream's rules",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await withLab("hostgw-same-subnet", async ({ exec, leases, nodeIp }) => {
      for (const [node, ip] of nodeIp) {
        const own = leases.find((l) => l.publicIp === ip)!;
        const peers = leases.filter((l) => l !== own);
        assert(leases.every((l) => l.backendType === "host-gw" && !l.vtepMac), JSON.stringify(leases));
        const [routes, links] = await read(exec, node, ["ip -j route show", "ip -j link show"]);
        deepEqual(
          overlayRoutes(routes!),
          peers.map((p) => ({ dst: p.subnet, gateway: p.publicIp, dev: "eth1", flags: [] })).sort(byDst),
          `${node}: routes`,
        );
        const names = (JSON.parse(links!) as { ifname: string }[]).map((l) => l.ifname);
        assert(!names.some((n) => n.startsWith("flannel")), `${node}: host-gw makes no device: ${names}`);
        await checkRules(exec, node, own);
      }
    });
  },
});

Deno.test({
  name:
    "e2e: kernel oracle, udp: a non-persistent TUN flannel0 with one route for the Network, no peer routes",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await withLab("udp-same-subnet", async ({ exec, leases, nodeIp }) => {
      for (const [node, ip] of nodeIp) {
        const own = leases.find((l) => l.publicIp === ip)!;
        // upstream's udp backend writes no BackendType.
        assert(leases.every((l) => l.backendType === "udp" && !l.vtepMac), JSON.stringify(leases));
        const [routes, link, addr] = await read(exec, node, [
          "ip -j route show",
          "ip -j -d link show flannel0",
          "ip -j -4 addr show dev flannel0",
        ]);
        deepEqual(
          overlayRoutes(routes!).map(({ dst, dev, scope }) => ({ dst, dev, scope })),
          [{ dst: NETWORK, dev: "flannel0", scope: undefined }],
          `${node}: one route for the whole Network via flannel0, scope universe`,
        );
        const dev = JSON.parse(link!)[0];
        equal(dev.mtu, 1472, `${node}: flannel0 MTU is the 1500-byte underlay minus 28`);
        const d = dev.linkinfo.info_data;
        deepEqual(
          { kind: dev.linkinfo.info_kind, type: d.type, pi: d.pi, persist: d.persist },
          { kind: "tun", type: "tun", pi: false, persist: false },
          `${node}: flannel0 is a non-persistent TUN without packet info`,
        );
        const addrs = inetAddrs(addr!);
        deepEqual(addrs, [`${own.address}/32`], `${node}: flannel0 holds its subnet's address as a /32`);
        await checkRules(exec, node, own);
      }
    });
  },
});
