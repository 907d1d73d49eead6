/**
 * Interop with upstream flanneld v0.28.9 in dual-stack vxlan: our agent on n1, upstream's on n2, one etcd.
 * Leases have the same form (BackendV6Data, PublicIPv6); flannel-v6.1 has the same attributes on both (the
 * MTU too: upstream asks for underlay − 50, and the kernel clamps it to underlay − 70,
 * which is what we ask for); FLANNEL_MTU differs (ours 1430, upstream's 1450); each holds
 * upstream's IPv6 entries for the other; pods talk in both families.
 */
import assert from "node:assert/strict";
import { etcdLeases, type MiniLab, type MiniNode, waitFor } from "../helpers/mini_lab.ts";
import { startUpstreamAgent } from "../helpers/upstream.ts";
import { link6, type Node6, ping6, startLab6, waitPing6 } from "../helpers/backend_lab6.ts";

const DUAL =
  '{"Network":"10.244.0.0/16","EnableIPv6":true,"IPv6Network":"fd44::/48","Backend":{"Type":"vxlan"}}';

function vxlanAttrs(link: Record<string, unknown>): Record<string, unknown> {
  const info = link.linkinfo as { info_kind: string; info_data: Record<string, unknown> };
  return { kind: info.info_kind, ...info.info_data, flags: link.flags, txqlen: link.txqlen };
}

Deno.test("interop dual-stack vxlan: same lease form and flannel-v6.1; pods talk in both families", async () => {
  await using lab = await startLab6({
    nodes: 2,
    config: DUAL,
    start: (l: MiniLab, n: MiniNode, i: number) => i === 0 ? l.startAgent(n) : startUpstreamAgent(l, n),
  });
  const [ours, up] = lab.nodes as [Node6, Node6];

  const leases = await etcdLeases(lab.lab);
  const value = (n: Node6) => {
    const key = `${lab.lab.etcdPrefix}/subnets/${n.subnet!.replace("/", "-")}&${
      n.subnet6!.replace("/", "-")
    }`;
    const v = leases.get(key);
    assert.ok(v, `no lease ${key} in ${[...leases.keys()].join(", ")}`);
    return JSON.parse(v) as Record<string, unknown>;
  };
  const form = (v: Record<string, unknown>) =>
    JSON.stringify(v).replace(/"\d+\.\d+\.\d+\.\d+"/g, '"<ip>"').replace(/"fd00:77::\d"/g, '"<ip6>"')
      .replace(/"([0-9a-f]{2}:){5}[0-9a-f]{2}"/g, '"<mac>"');
  assert.equal(form(value(ours)), form(value(up)));
  assert.equal(value(ours).PublicIPv6, ours.ip6);
  assert.equal(value(up).PublicIPv6, up.ip6);
  assert.deepEqual(Object.keys(value(ours)), Object.keys(value(up)));

  const a = await link6(ours, "flannel-v6.1");
  const b = await link6(up, "flannel-v6.1");
  assert.ok(a && b);
  // Upstream asks for underlay − 50 (spec §13.6), but the kernel clamps an IPv6 vxlan device to its lower
  // device's MTU − 70 [measured, kernel 6.18], so on the same underlay both devices end up 1430. Upstream's
  // FLANNEL_MTU stays underlay − 50; ours is the smallest tunnel MTU.
  assert.equal(a.mtu, 1430);
  assert.equal(b.mtu, 1430);
  const env = async (n: Node6) => await Deno.readTextFile(`${n.node.dir}/subnet.env`);
  assert.match(await env(ours), /^FLANNEL_MTU=1430$/m);
  assert.match(await env(up), /^FLANNEL_MTU=1450$/m);
  const strip = (x: Record<string, unknown>) => {
    const { local6: _l, ...rest } = x;
    return rest;
  };
  assert.deepEqual(strip(vxlanAttrs(a)), strip(vxlanAttrs(b)));

  // Each holds upstream's IPv6 entries for the other.
  for (const [self, peer] of [[ours, up], [up, ours]] as const) {
    const peerMac = (await link6(peer, "flannel-v6.1"))!.address as string;
    await waitFor(`${self.node.name}'s IPv6 entries for ${peer.node.name}`, async () => {
      const r = await self.node.ns.ipJson<{ dst: string; gateway?: string; dev: string; flags: string[] }[]>(
        ["-6", "route", "show", "dev", "flannel-v6.1"],
      );
      assert.ok(
        r.some((x) => x.dst === peer.subnet6 && x.gateway === peer.subnetAddr6 && x.flags.includes("onlink")),
        JSON.stringify(r),
      );
      const ne = await self.node.ns.ipJson<{ dst: string; lladdr?: string; state: string[] }[]>(
        ["-6", "neigh", "show", "dev", "flannel-v6.1"],
      );
      assert.ok(ne.some((x) => x.dst === peer.subnetAddr6 && x.lladdr === peerMac), JSON.stringify(ne));
      const { stdout } = await self.node.ns.exec(["bridge", "-j", "fdb", "show", "dev", "flannel-v6.1"]);
      assert.ok(
        (JSON.parse(stdout || "[]") as { mac: string; dst?: string }[]).some((f) =>
          f.mac === peerMac && f.dst === peer.ip6
        ),
        stdout,
      );
      return true;
    }, 30_000);
  }

  await waitPing6(ours, up.podIp6!, 30_000);
  await waitPing6(up, ours.podIp6!, 30_000);
  await waitPing6(ours, up.podIp!, 30_000);
  await waitPing6(up, ours.podIp!, 30_000);
  // A full 1430-byte IPv6 packet crosses both ways with DF.
  assert.ok((await ping6(ours, up.podIp6!, { size: 1430 - 48, df: true })).ok);
  assert.ok((await ping6(up, ours.podIp6!, { size: 1430 - 48, df: true })).ok);
});
