/**
 * The IPv6 data plane in real namespaces: dual-stack vxlan (flannel.1 and flannel-v6.1 with upstream's entries,
 * pods talking in both families, the v6 MTU limit), IPv6-only vxlan (upstream cannot), and dual-stack host-gw.
 * The underlay is IPv4 plus ULA fd00:77::/64 on every node's eth1.
 */
import assert from "node:assert/strict";
import { etcdLeases, waitFor } from "../helpers/mini_lab.ts";
import { agentLog } from "../helpers/backend_lab.ts";
import { link6, type Node6, ping6, startLab6, waitPing6, waitSubnetEnv } from "../helpers/backend_lab6.ts";

const DUAL =
  '{"Network":"10.244.0.0/16","EnableIPv6":true,"IPv6Network":"fd44::/48","Backend":{"Type":"vxlan"}}';
const V6ONLY = '{"EnableIPv4":false,"EnableIPv6":true,"IPv6Network":"fd44::/48","Backend":{"Type":"vxlan"}}';
const HOSTGW_DUAL =
  '{"Network":"10.244.0.0/16","EnableIPv6":true,"IPv6Network":"fd44::/48","Backend":{"Type":"host-gw"}}';

interface V6Route {
  dst: string;
  gateway?: string;
  dev: string;
  flags: string[];
  protocol?: string;
}

async function routes6(n: Node6): Promise<V6Route[]> {
  return await n.node.ns.ipJson<V6Route[]>(["-6", "route", "show"]);
}

async function mac(n: Node6, dev: string): Promise<string> {
  const l = await link6(n, dev);
  assert.ok(l, `${dev} missing on ${n.node.name}\n${await agentLog(n.node)}`);
  return l.address as string;
}

/** Asserts `n` holds exactly upstream's IPv6 vxlan entries for `peers` on flannel-v6.1. */
async function assertV6Tunnel(n: Node6, peers: readonly Node6[]): Promise<void> {
  const sort = <T>(xs: T[]) => xs.sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
  const want = {
    routes: sort(peers.map((p) => ({ dst: p.subnet6!, gateway: p.subnetAddr6!, flags: ["onlink"] }))),
    neighs: sort(
      await Promise.all(
        peers.map(async (p) => ({ dst: p.subnetAddr6!, lladdr: await mac(p, "flannel-v6.1") })),
      ),
    ),
    fdbs: sort(
      await Promise.all(peers.map(async (p) => ({ mac: await mac(p, "flannel-v6.1"), dst: p.ip6 }))),
    ),
  };
  await waitFor(`${n.node.name}'s IPv6 vxlan entries`, async () => {
    const r = (await routes6(n)).filter((x) => x.dev === "flannel-v6.1" && x.gateway)
      .map((x) => ({ dst: x.dst, gateway: x.gateway, flags: x.flags }));
    const ne = (await n.node.ns.ipJson<{ dst: string; lladdr?: string; state: string[] }[]>(
      ["-6", "neigh", "show", "dev", "flannel-v6.1"],
    )).filter((x) => x.state.includes("PERMANENT")).map((x) => ({ dst: x.dst, lladdr: x.lladdr }));
    const { stdout } = await n.node.ns.exec(["bridge", "-j", "fdb", "show", "dev", "flannel-v6.1"]);
    const f =
      (JSON.parse(stdout || "[]") as { mac: string; dst?: string; flags?: string[]; state?: string }[])
        .filter((x) => x.dst);
    assert.deepEqual(sort(r), want.routes);
    assert.deepEqual(sort(ne), want.neighs);
    assert.deepEqual(sort(f.map((x) => ({ mac: x.mac, dst: x.dst }))), want.fdbs);
    assert.ok(f.every((x) => x.flags?.includes("self") && x.state === "permanent"), JSON.stringify(f));
    return true;
  }, 20_000).catch(async (error) => {
    throw new Error(`${error.message}: ${error.cause?.message ?? ""}\n${await agentLog(n.node)}`);
  });
}

async function assertV6Device(n: Node6, mtu: number): Promise<void> {
  const l = await link6(n, "flannel-v6.1");
  assert.ok(l, `flannel-v6.1 missing on ${n.node.name}`);
  assert.equal(l.mtu, mtu);
  const info = l.linkinfo as { info_kind: string; info_data: Record<string, unknown> };
  assert.equal(info.info_kind, "vxlan");
  assert.equal(info.info_data.id, 1);
  assert.equal(info.info_data.local6 ?? info.info_data.local, n.ip6);
  assert.equal(info.info_data.link, "eth1");
  assert.equal(info.info_data.port, 8472);
  assert.equal(info.info_data.learning, false);
  const addrs = await n.node.ns.ipJson<
    { addr_info: { local: string; prefixlen: number; scope: string }[] }[]
  >(
    ["-6", "addr", "show", "dev", "flannel-v6.1"],
  );
  assert.deepEqual(
    addrs[0]!.addr_info.filter((a) => a.scope === "global").map((a) => `${a.local}/${a.prefixlen}`),
    [`${n.subnetAddr6}/128`],
  );
}

async function leaseOf(
  lab: Awaited<ReturnType<typeof startLab6>>,
  n: Node6,
): Promise<Record<string, unknown>> {
  const leases = await etcdLeases(lab.lab);
  const v4 = n.subnet ? n.subnet.replace("/", "-") : "0.0.0.0-0";
  const key = `${lab.lab.etcdPrefix}/subnets/${v4}&${n.subnet6!.replace("/", "-")}`;
  const value = leases.get(key);
  assert.ok(value, `no lease ${key} in ${[...leases.keys()].join(", ")}`);
  return JSON.parse(value);
}

Deno.test("vxlan dual-stack: flannel.1 and flannel-v6.1 with upstream's entries; pods talk in both families", async () => {
  await using lab = await startLab6({ nodes: 2, config: DUAL });
  const [a, b] = lab.nodes as [Node6, Node6];
  for (const n of lab.nodes) {
    await assertV6Device(n, 1430);
    assert.equal((await link6(n, "flannel.1"))?.mtu, 1450);
    assert.deepEqual(await leaseOf(lab, n), {
      PublicIP: n.node.ip,
      PublicIPv6: n.ip6,
      BackendType: "vxlan",
      BackendData: { VNI: 1, VtepMAC: await mac(n, "flannel.1") },
      BackendV6Data: { VNI: 1, VtepMAC: await mac(n, "flannel-v6.1") },
    });
    const env = await waitSubnetEnv(n.node);
    assert.equal(env.get("FLANNEL_IPV6_NETWORK"), "fd44::/48");
    assert.equal(env.get("FLANNEL_IPV6_SUBNET"), `${n.subnetAddr6}1/64`);
    assert.equal(env.get("FLANNEL_MTU"), "1430", "the smallest tunnel MTU");
  }
  await assertV6Tunnel(a, [b]);
  await assertV6Tunnel(b, [a]);
  // The IPv4 side is untouched by the IPv6 scope.
  const v4 = (await a.node.ns.ipJson<V6Route[]>(["route", "show"])).filter((r) => r.dev === "flannel.1");
  assert.deepEqual(v4.map((r) => [r.dst, r.gateway, r.flags]), [[b.subnet, b.subnetAddr, ["onlink"]]]);

  await waitPing6(a, b.podIp6!);
  await waitPing6(b, a.podIp6!);
  await waitPing6(a, b.podIp!);
  await waitPing6(b, a.podIp!);

  // flannel-v6.1's MTU is 1430: a 1430-byte IPv6 packet (1382 bytes of ICMPv6 payload) crosses with DF, one
  // byte more does not (the outer packet is 1500 with the 70-byte IPv6 VXLAN overhead).
  const fits = await ping6(a, b.podIp6!, { size: 1430 - 48, df: true });
  assert.ok(fits.ok, fits.output);
  const over = await ping6(a, b.podIp6!, { size: 1430 - 47, df: true, count: 2 });
  assert.ok(!over.ok, over.output);
});

Deno.test("vxlan IPv6-only (EnableIPv4 false): only flannel-v6.1, PublicIP 0.0.0.0, pods talk over IPv6", async () => {
  await using lab = await startLab6({ nodes: 3, config: V6ONLY });
  const [a, b, c] = lab.nodes as [Node6, Node6, Node6];
  const subnets = new Set(lab.nodes.map((n) => n.subnet6));
  assert.equal(subnets.size, 3, "three distinct IPv6 subnets");
  for (const n of lab.nodes) {
    assert.equal(await link6(n, "flannel.1"), undefined, "no IPv4 device");
    await assertV6Device(n, 1430);
    assert.deepEqual(await leaseOf(lab, n), {
      PublicIP: "0.0.0.0",
      PublicIPv6: n.ip6,
      BackendType: "vxlan",
      BackendV6Data: { VNI: 1, VtepMAC: await mac(n, "flannel-v6.1") },
    });
    const env = await waitSubnetEnv(n.node);
    assert.equal(env.get("FLANNEL_NETWORK"), undefined);
    assert.equal(env.get("FLANNEL_SUBNET"), undefined);
  }
  await assertV6Tunnel(a, [b, c]);
  await assertV6Tunnel(c, [a, b]);
  await waitPing6(a, b.podIp6!);
  await waitPing6(c, a.podIp6!);
});

Deno.test("host-gw dual-stack: a route via each peer's PublicIP and PublicIPv6 on eth1; pods talk in both families", async () => {
  await using lab = await startLab6({ nodes: 2, config: HOSTGW_DUAL });
  const [a, b] = lab.nodes as [Node6, Node6];
  for (const [n, p] of [[a, b], [b, a]] as const) {
    await waitFor(`${n.node.name}'s host-gw routes`, async () => {
      const r6 = (await routes6(n)).filter((r) => r.dst.startsWith("fd44:") && r.dev === "eth1");
      assert.deepEqual(r6.map((r) => [r.dst, r.gateway, r.dev]), [[p.subnet6, p.ip6, "eth1"]]);
      const r4 = (await n.node.ns.ipJson<V6Route[]>(["route", "show"])).filter((r) =>
        r.dst.startsWith("10.244.") && r.dev === "eth1"
      );
      assert.deepEqual(r4.map((r) => [r.dst, r.gateway, r.dev]), [[p.subnet, p.node.ip, "eth1"]]);
      return true;
    }, 20_000);
    assert.equal(await link6(n, "flannel-v6.1"), undefined);
    const env = await waitSubnetEnv(n.node);
    assert.equal(env.get("FLANNEL_MTU"), "1500");
  }
  await waitPing6(a, b.podIp6!);
  await waitPing6(b, a.podIp!);
  // A route deleted by hand comes back.
  await a.node.ns.ip(["-6", "route", "del", b.subnet6!]);
  await waitFor(
    "the IPv6 host-gw route to return",
    async () => (await routes6(a)).some((r) => r.dst === b.subnet6) || undefined,
    15_000,
  );
});
