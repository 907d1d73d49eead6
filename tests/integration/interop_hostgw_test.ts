/**
 * Interop with upstream flanneld v0.28.9, host-gw backend: our agent and upstream's on the same etcd. On one
 * switch pods talk both ways, leases have the same form, each node's route to the other is the mirror image of
 * the other's, and firewall and subnet.env match; across a router neither installs a route (the kernel refuses
 * upstream's, ours reports the peer and the fix); a node leaving is cleaned up on the other, and our restart
 * leaves upstream's view alone.
 */
import assert from "node:assert/strict";
import { assertLeasesAlike, leaseKey } from "../helpers/interop_leases.ts";
import { firewallView, kernelView } from "../helpers/interop_mirror.ts";
import { ping, waitPing } from "../helpers/interop_traffic.ts";
import {
  type InteropLab,
  type InteropNode,
  startInteropLab,
  waitFor,
  waitUpstreamSaw,
} from "../helpers/upstream.ts";

const NETWORK = "10.244.0.0/16";
const HOSTGW = `{"Network":"${NETWORK}","Backend":{"Type":"host-gw"}}`;
const LEASE = '{"PublicIP":"<ip>","PublicIPv6":null,"BackendType":"host-gw"}';

/** upstream's measured route to a host-gw peer, mirrored. */
const PEER_ROUTE = {
  type: "unicast",
  dst: "<peer-subnet>",
  gateway: "<peer-ip>",
  dev: "eth1",
  protocol: "boot",
  scope: "global",
  flags: [],
};

/** Routes inside the Network a node holds towards `peer` (mirrored), without the pod's own link route. */
async function peerRoutes(lab: InteropLab, self: InteropNode, peer: InteropNode): Promise<unknown[]> {
  const view = await kernelView(lab, self, peer, { network: NETWORK });
  return (view.routes as { dst: string }[]).filter((r) => r.dst !== "<self-subnet>");
}

async function assertMirrored(lab: InteropLab, a: InteropNode, b: InteropNode): Promise<void> {
  await waitFor(`${a.node.name} and ${b.node.name} to hold mirrored state`, async () => {
    const [va, vb] = [
      await kernelView(lab, a, b, { network: NETWORK }),
      await kernelView(lab, b, a, { network: NETWORK }),
    ];
    return JSON.stringify(va) === JSON.stringify(vb) ? true : undefined;
  }, 20_000).catch(async (error) => {
    assert.deepEqual(
      await kernelView(lab, a, b, { network: NETWORK }),
      await kernelView(lab, b, a, { network: NETWORK }),
    );
    throw error;
  });
  assert.deepEqual(await peerRoutes(lab, a, b), [PEER_ROUTE]);
}

Deno.test("interop host-gw: ours and upstream on one switch ping, and hold mirrored leases, routes, firewall and subnet.env", async () => {
  await using lab = await startInteropLab({
    config: HOSTGW,
    kinds: ["ours", "upstream"],
    flags: ["--ip-masq"],
  });
  const [ours, up] = lab.nodes as [InteropNode, InteropNode];
  await waitPing(lab, ours, up.podIp);
  await waitPing(lab, up, ours.podIp);
  await assertLeasesAlike(lab, LEASE);
  await assertMirrored(lab, ours, up);

  const [fo, fu] = [await firewallView(ours), await firewallView(up)];
  assert.equal(fo.subnetEnv, fu.subnetEnv);
  assert.equal(
    fo.subnetEnv,
    `FLANNEL_NETWORK=${NETWORK}\nFLANNEL_SUBNET=<pod-gw/24>\nFLANNEL_MTU=1500\nFLANNEL_IPMASQ=true\n`,
  );
  assert.equal(fo.subnetEnvMode, fu.subnetEnvMode);
  assert.deepEqual(fo.chains, fu.chains);
  assert.equal(fo.chains.length, 8, fo.chains.join("\n"));
  assert.deepEqual(fo.jumps, fu.jumps);
});

Deno.test("interop host-gw: across a router neither node installs a route to the other, and each says why", async () => {
  await using lab = await startInteropLab({ config: HOSTGW, kinds: ["ours", "upstream"], split: true });
  const [ours, up] = lab.nodes as [InteropNode, InteropNode];
  // Upstream asks the kernel for the route and is refused (gateway not on a connected subnet); ours does not
  // try: it reports the peer with the fix (README, "host-gw never installs a route to an off-link peer").
  await waitFor("upstream to report the unreachable gateway", async () => {
    return /network is unreachable/.test(await lab.log(up)) ? true : undefined;
  }, 20_000);
  await waitFor("ours to report the off-link peer", async () => {
    return (await lab.log(ours)).includes(
        `host-gw needs peer ${up.subnet} (${up.node.ip}) on a directly connected subnet of eth1`,
      )
      ? true
      : undefined;
  }, 20_000);
  assert.deepEqual(await peerRoutes(lab, ours, up), []);
  assert.deepEqual(await peerRoutes(lab, up, ours), []);
  assert.ok(!(await ping(ours, up.podIp)), "no path may exist between the pods");
  assert.ok(!(await ping(up, ours.podIp)), "no path may exist between the pods");
});

Deno.test("interop host-gw: our restart leaves upstream's route alone; a node leaving is cleaned up on the other", async () => {
  await using lab = await startInteropLab({ config: HOSTGW, kinds: ["ours", "upstream"] });
  const [ours, up] = lab.nodes as [InteropNode, InteropNode];
  await waitPing(lab, up, ours.podIp);
  await assertMirrored(lab, ours, up);

  // Our restart: same lease value, upstream sees no removal, its route stays, its pod keeps reaching ours.
  const key = leaseKey(lab.lab, ours);
  const before = await lab.lab.etcd.ctl(["get", "--print-value-only", key]);
  const pinging = up.pod.exec(["ping", "-n", "-i", "0.2", "-c", "30", "-W", "1", ours.podIp], {
    check: false,
    timeoutMs: 60_000,
  });
  await new Promise((r) => setTimeout(r, 1000));
  assert.equal((await ours.agent.stop("SIGTERM")).code, 0);
  await lab.startAgent(ours);
  await waitFor("our agent to be back", async () => {
    const runs = (await lab.log(ours)).split("Starting flannel-lab agent");
    return runs.length === 3 && runs[2]!.includes("Wrote subnet file") ? true : undefined;
  }, 30_000);
  const pinged = await pinging;
  assert.match(pinged.stdout, / 0% packet loss/, pinged.stdout);
  assert.equal(await lab.lab.etcd.ctl(["get", "--print-value-only", key]), before);
  assert.ok(!(await lab.log(up)).includes("lease.Event{Type:1,"), "upstream saw a lease removed");
  await assertMirrored(lab, ours, up);

  // Upstream leaves: ours removes its route.
  await up.agent.stop("SIGTERM");
  await lab.lab.etcd.ctl(["del", leaseKey(lab.lab, up)]);
  await waitFor("ours to drop the route to upstream's subnet", async () => {
    return (await peerRoutes(lab, ours, up)).length === 0 ? true : undefined;
  }, 20_000);

  // Upstream returns with its old subnet; then ours leaves, and upstream removes our route.
  await lab.startAgent(up);
  await assertMirrored(lab, ours, up);
  await waitPing(lab, ours, up.podIp);
  // Its entries for us survived its restart; wait until it is watching again before we leave.
  await waitUpstreamSaw(lab, up, ours);
  await ours.agent.stop("SIGTERM");
  await lab.lab.etcd.ctl(["del", key]);
  await waitFor("upstream to drop the route to our subnet", async () => {
    return (await peerRoutes(lab, up, ours)).length === 0 ? true : undefined;
  }, 20_000);
});
