/**
 * The vxlan backend in real namespaces: kernel state equal to upstream's for the same leases, pod traffic
 * across one switch and across a router, the MTU limit, VXLAN on the wire, and DirectRouting mixed.
 */
import assert from "node:assert/strict";
import { etcdLeases } from "../helpers/mini_lab.ts";
import {
  agentLog,
  capture,
  type DataLab,
  fdbs,
  isVxlan,
  type LabNode,
  linkInfo,
  neighs,
  ping,
  routes,
  startDataLab,
  waitFor,
  waitPing,
} from "../helpers/backend_lab.ts";

const VXLAN = '{"Network":"10.244.0.0/16","Backend":{"Type":"vxlan"}}';
const DIRECT = '{"Network":"10.244.0.0/16","Backend":{"Type":"vxlan","DirectRouting":true}}';

async function vtepMac(n: LabNode): Promise<string> {
  const link = await linkInfo(n, "flannel.1");
  assert.ok(link, `flannel.1 missing on ${n.node.name}\n${await agentLog(n.node)}`);
  return link.address as string;
}

/** Asserts that `n` holds exactly upstream's vxlan entries for `peers` (set equality). */
async function assertTunnelState(n: LabNode, peers: readonly LabNode[]): Promise<void> {
  const want = {
    routes: peers.map((p) => ({ dst: p.subnet, gateway: p.subnetAddr, flags: ["onlink"] })),
    neighs: await Promise.all(peers.map(async (p) => ({ dst: p.subnetAddr, lladdr: await vtepMac(p) }))),
    fdbs: await Promise.all(peers.map(async (p) => ({ mac: await vtepMac(p), dst: p.node.ip }))),
  };
  const sort = <T>(xs: T[]) => xs.sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
  await waitFor(`${n.node.name}'s vxlan entries`, async () => {
    const r = (await routes(n)).filter((x) => x.dev === "flannel.1")
      .map((x) => ({ dst: x.dst, gateway: x.gateway, flags: x.flags }));
    const ne = (await neighs(n, "flannel.1")).filter((x) => x.state.includes("PERMANENT"))
      .map((x) => ({ dst: x.dst, lladdr: x.lladdr }));
    const f = (await fdbs(n, "flannel.1")).filter((x) => x.dst)
      .map((x) => ({ mac: x.mac, dst: x.dst }));
    assert.deepEqual(sort(r), sort(want.routes));
    assert.deepEqual(sort(ne), sort(want.neighs));
    assert.deepEqual(sort(f), sort(want.fdbs));
    return true;
  }, 20_000);
  // Every FDB entry is "self permanent", as upstream's.
  for (const f of (await fdbs(n, "flannel.1")).filter((x) => x.dst)) {
    assert.ok(f.flags?.includes("self"), JSON.stringify(f));
    assert.equal(f.state, "permanent");
  }
}

async function assertDevice(n: LabNode, mtu: number): Promise<void> {
  const link = await linkInfo(n, "flannel.1");
  assert.ok(link);
  assert.equal(link.mtu, mtu);
  const info = link.linkinfo as { info_kind: string; info_data: Record<string, unknown> };
  assert.equal(info.info_kind, "vxlan");
  assert.equal(info.info_data.id, 1);
  assert.equal(info.info_data.local, n.node.ip);
  assert.equal(info.info_data.link, "eth1");
  assert.equal(info.info_data.port, 8472);
  assert.equal(info.info_data.learning, false);
  const addrs = await n.node.ns.ipJson<{ addr_info: { local: string; prefixlen: number }[] }[]>(
    ["-4", "addr", "show", "dev", "flannel.1"],
  );
  assert.deepEqual(addrs[0]!.addr_info.map((a) => `${a.local}/${a.prefixlen}`), [`${n.subnetAddr}/32`]);
  const leases = await etcdLeases((n as unknown as { lab: never }).lab ?? ({} as never)).catch(() =>
    undefined
  );
  void leases;
}

async function assertLeaseMac(lab: DataLab, n: LabNode): Promise<void> {
  const leases = await etcdLeases(lab.lab);
  const value = JSON.parse(leases.get(`${lab.lab.etcdPrefix}/subnets/${n.subnet.replace("/", "-")}`)!);
  assert.deepEqual(value, {
    PublicIP: n.node.ip,
    PublicIPv6: null,
    BackendType: "vxlan",
    BackendData: { VNI: 1, VtepMAC: await vtepMac(n) },
  });
}

/** The largest ICMP payload that fits, with DF, crosses; one byte more does not. */
async function assertMtu(lab: DataLab, from: LabNode, to: LabNode, mtu: number): Promise<void> {
  const fits = await ping(lab, from, to.podIp, { size: mtu - 28, df: true });
  assert.ok(fits.ok, `a ${mtu}-byte packet with DF should cross:\n${fits.output}`);
  const over = await ping(lab, from, to.podIp, { size: mtu - 27, df: true, count: 2 });
  assert.ok(!over.ok, `a ${mtu + 1}-byte packet with DF must not cross:\n${over.output}`);
}

Deno.test("vxlan: two nodes on one switch get upstream's device and entries, and pods talk", async () => {
  await using lab = await startDataLab({ nodes: 2, config: VXLAN });
  const [a, b] = lab.nodes as [LabNode, LabNode];
  for (const n of lab.nodes) {
    await assertDevice(n, 1450);
    await assertLeaseMac(lab, n);
  }
  await assertTunnelState(a, [b]);
  await assertTunnelState(b, [a]);
  await waitPing(lab, a, b.podIp);
  await waitPing(lab, b, a.podIp);
  await assertMtu(lab, a, b, 1450);

  const lines = await capture(a, ["udp", "port", "8472"], () => ping(lab, a, b.podIp, { count: 2 }));
  const vxlan = lines.filter((l) => / > .*\.8472: /.test(l));
  assert.ok(vxlan.length >= 4, lines.join("\n"));
  assert.ok(vxlan.every((l) => isVxlan(l, 1)), vxlan.join("\n"));
  assert.ok(
    lines.some((l) => l.includes(`${a.node.ip}.`) && l.includes(`${b.node.ip}.8472`)),
    lines.join("\n"),
  );
  assert.ok(lines.some((l) => l.includes(`${a.podIp} > ${b.podIp}`)), lines.join("\n"));
});

Deno.test("vxlan: nodes on two subnets behind a router talk through the tunnel", async () => {
  await using lab = await startDataLab({ nodes: 2, config: VXLAN, split: true });
  const [a, b] = lab.nodes as [LabNode, LabNode];
  assert.notEqual(a.node.ip.split(".")[2], b.node.ip.split(".")[2], "the nodes are on different subnets");
  await assertTunnelState(a, [b]);
  await assertTunnelState(b, [a]);
  await waitPing(lab, a, b.podIp);
  await assertMtu(lab, b, a, 1450);
});

Deno.test("vxlan: DirectRouting routes same-subnet peers directly and tunnels to the one behind the router", async () => {
  // n1 and n3 share 192.168.77.0/24; n2 is on 192.168.78.0/24 behind the router.
  await using lab = await startDataLab({ nodes: 3, config: DIRECT, split: true });
  const [a, b, c] = lab.nodes as [LabNode, LabNode, LabNode];
  await assertTunnelState(a, [b]);
  await assertTunnelState(b, [a, c]);
  await waitFor("n1's direct route to n3", async () => {
    const r = (await routes(a)).find((x) => x.dst === c.subnet);
    return r && r.dev === "eth1" && r.gateway === c.node.ip && !r.flags.includes("onlink") ? true : undefined;
  });
  for (const [from, to] of [[a, b], [a, c], [b, c], [c, a]] as const) await waitPing(lab, from, to.podIp);

  // a <-> c: plain IP between pod addresses on the wire, no VXLAN; a <-> b: VXLAN.
  const direct = await capture(
    a,
    ["host", c.node.ip, "or", "icmp"],
    () => ping(lab, a, c.podIp, { count: 2 }),
  );
  assert.ok(
    direct.some((l) => l.includes(`${a.podIp} > ${c.podIp}`) && /ICMP echo request/.test(l)),
    direct.join("\n"),
  );
  assert.ok(!direct.some((l) => l.includes(".8472: ")), direct.join("\n"));
  const tunnel = await capture(a, ["udp", "port", "8472"], () => ping(lab, a, b.podIp, { count: 2 }));
  assert.ok(tunnel.some((l) => isVxlan(l, 1)), tunnel.join("\n"));
  await assertMtu(lab, a, c, 1500);
});
