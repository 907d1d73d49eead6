/**
 * Interop with upstream flanneld v0.28.9, udp backend (upstream's cgo proxy, our TypeScript one): pods talk
 * both ways on one switch and across a router; the leases have upstream's udp form (no BackendType); flannel0
 * (TUN, MTU, address, Network route), firewall and subnet.env are the mirror image of upstream's; our restart
 * does not disturb upstream's lease view; a node leaving stops the other's proxy from sending to it.
 */
import assert from "node:assert/strict";
import { assertLeasesAlike, leaseKey } from "../helpers/interop_leases.ts";
import { firewallView, kernelView } from "../helpers/interop_mirror.ts";
import { assertPathMtu, capture, ping, waitPing } from "../helpers/interop_traffic.ts";
import {
  type InteropLab,
  type InteropNode,
  startInteropLab,
  waitFor,
  waitUpstreamSaw,
} from "../helpers/upstream.ts";

const NETWORK = "10.244.0.0/16";
const UDP = `{"Network":"${NETWORK}","Backend":{"Type":"udp"}}`;
// Upstream's udp backend publishes no BackendType and no BackendData; ours does the same.
const LEASE = '{"PublicIP":"<ip>","PublicIPv6":null}';

async function assertMirrored(
  lab: InteropLab,
  a: InteropNode,
  b: InteropNode,
): Promise<Record<string, unknown>> {
  const opts = { network: NETWORK, device: "flannel0" };
  let last: unknown[] = [];
  return await waitFor(`${a.node.name} and ${b.node.name} to hold mirrored state`, async () => {
    last = [await kernelView(lab, a, b, opts), await kernelView(lab, b, a, opts)];
    return JSON.stringify(last[0]) === JSON.stringify(last[1])
      ? last[0] as Record<string, unknown>
      : undefined;
  }, 20_000).catch((error) => {
    assert.deepEqual(last[0], last[1], `${a.node.name} (${a.kind}) vs ${b.node.name} (${b.kind})`);
    throw error;
  });
}

Deno.test("interop udp: ours and upstream on one switch ping, and hold mirrored leases, flannel0, firewall and subnet.env", async () => {
  await using lab = await startInteropLab({ config: UDP, kinds: ["ours", "upstream"], flags: ["--ip-masq"] });
  const [ours, up] = lab.nodes as [InteropNode, InteropNode];
  await waitPing(lab, ours, up.podIp);
  await waitPing(lab, up, ours.podIp);
  await assertPathMtu(ours, up, 1472);
  await assertLeasesAlike(lab, LEASE);

  const view = await assertMirrored(lab, ours, up);
  // Pin it to upstream's measured form: a non-persistent TUN without packet info, MTU 1500 − 28, the subnet
  // address as /32, and one route for the whole Network; nothing per peer.
  const link = (view.link as Record<string, unknown>[])[0]!;
  assert.equal(link.ifname, "flannel0");
  assert.equal(link.mtu, 1472);
  assert.deepEqual(link.flags, ["POINTOPOINT", "MULTICAST", "NOARP", "UP", "LOWER_UP"]);
  assert.deepEqual((link.linkinfo as Record<string, unknown>).info_data, {
    type: "tun",
    pi: false,
    vnet_hdr: false,
    multi_queue: false,
    persist: false,
  });
  assert.deepEqual((view.addrs as { addr_info: unknown[] }[])[0]!.addr_info, [{
    family: "inet",
    local: "<self-subnet-addr>",
    prefixlen: 32,
    scope: "global",
    label: "flannel0",
  }]);
  const routes = (view.routes as { dst: string }[]).filter((r) => r.dst !== "<self-subnet>");
  assert.deepEqual(routes, [{
    type: "unicast",
    dst: NETWORK,
    dev: "flannel0",
    protocol: "boot",
    scope: "global",
    flags: [],
  }]);
  assert.deepEqual(view.neighs, []);
  assert.deepEqual(view.fdbs, []);
  // Deliberately different (README, udp): ours turns accept_local on for flannel0 so that the proxy's ICMP
  // net-unreachable replies (source = the TUN's own address) are not dropped as martians; upstream leaves it 0.
  const acceptLocal = async (n: InteropNode) =>
    (await n.node.ns.exec(["cat", "/proc/sys/net/ipv4/conf/flannel0/accept_local"])).stdout.trim();
  assert.equal(await acceptLocal(ours), "1");
  assert.equal(await acceptLocal(up), "0");

  const [fo, fu] = [await firewallView(ours), await firewallView(up)];
  assert.equal(fo.subnetEnv, fu.subnetEnv);
  assert.equal(
    fo.subnetEnv,
    `FLANNEL_NETWORK=${NETWORK}\nFLANNEL_SUBNET=<pod-gw/24>\nFLANNEL_MTU=1472\nFLANNEL_IPMASQ=true\n`,
  );
  assert.equal(fo.subnetEnvMode, fu.subnetEnvMode);
  assert.deepEqual(fo.chains, fu.chains);
  assert.equal(fo.chains.length, 8, fo.chains.join("\n"));
  assert.deepEqual(fo.jumps, fu.jumps);

  // The inner packet crosses as the bare UDP payload to port 8285 both ways.
  const wire = await capture(ours, ["udp", "port", "8285"], () => ping(ours, up.podIp, 2));
  assert.ok(wire.some((l) => l.includes(`${ours.node.ip}.8285 > ${up.node.ip}.8285`)), wire.join("\n"));
  assert.ok(wire.some((l) => l.includes(`${up.node.ip}.8285 > ${ours.node.ip}.8285`)), wire.join("\n"));
});

Deno.test("interop udp: ours and upstream on two subnets behind a router ping both ways", async () => {
  await using lab = await startInteropLab({ config: UDP, kinds: ["ours", "upstream"], split: true });
  const [ours, up] = lab.nodes as [InteropNode, InteropNode];
  assert.notEqual(ours.node.ip.split(".")[2], up.node.ip.split(".")[2], "the nodes are on different subnets");
  await waitPing(lab, ours, up.podIp);
  await waitPing(lab, up, ours.podIp);
  await assertMirrored(lab, ours, up);
});

/** Whether a ping from `from`'s pod to `to`'s pod puts any udp datagram for `to` on `from`'s wire. */
async function sendsTo(from: InteropNode, to: InteropNode): Promise<boolean> {
  const lines = await capture(from, ["udp", "port", "8285"], () => ping(from, to.podIp, 2));
  return lines.some((l) => l.includes(`> ${to.node.ip}.8285`));
}

Deno.test("interop udp: our restart leaves upstream's lease view alone; a node leaving is dropped by the other's proxy", async () => {
  await using lab = await startInteropLab({ config: UDP, kinds: ["ours", "upstream"] });
  const [ours, up] = lab.nodes as [InteropNode, InteropNode];
  await waitPing(lab, up, ours.podIp);

  // Our restart: flannel0 goes with the process (for upstream too), so pings pause; after it the lease is the
  // same, upstream saw no removal, and upstream's pod reaches ours again.
  const key = leaseKey(lab.lab, ours);
  const before = await lab.lab.etcd.ctl(["get", "--print-value-only", key]);
  assert.equal((await ours.agent.stop("SIGTERM")).code, 0);
  await lab.startAgent(ours);
  await waitPing(lab, up, ours.podIp);
  await waitPing(lab, ours, up.podIp);
  assert.equal(await lab.lab.etcd.ctl(["get", "--print-value-only", key]), before);
  assert.ok(!(await lab.log(up)).includes("lease.Event{Type:1,"), "upstream saw a lease removed");
  await assertMirrored(lab, ours, up);

  // Upstream leaves: while only stopped, our proxy still sends to it; once its lease is gone, no more.
  await up.agent.stop("SIGTERM");
  assert.ok(await sendsTo(ours, up), "ours should still send to a stopped peer whose lease remains");
  await lab.lab.etcd.ctl(["del", leaseKey(lab.lab, up)]);
  await waitFor(
    "our proxy to drop upstream",
    async () => (await sendsTo(ours, up)) ? undefined : true,
    20_000,
  );

  // Upstream returns (same subnet from subnet.env); then ours leaves and upstream's proxy drops us.
  await lab.startAgent(up);
  await waitPing(lab, ours, up.podIp);
  // Its entries for us survived its restart; wait until it is watching again before we leave.
  await waitUpstreamSaw(lab, up, ours);
  await ours.agent.stop("SIGTERM");
  assert.ok(await sendsTo(up, ours), "upstream should still send to a stopped peer whose lease remains");
  await lab.lab.etcd.ctl(["del", key]);
  await waitFor(
    "upstream's proxy to drop us",
    async () => (await sendsTo(up, ours)) ? undefined : true,
    20_000,
  );
  assert.match(await lab.log(up), /lease\.Event\{Type:1,/);
});
