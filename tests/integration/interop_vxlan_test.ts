/**
 * Interop with upstream flanneld v0.28.9, vxlan backend: our agent and upstream's on the same etcd, each on its
 * own node namespace with a pod. Pods talk both ways; the leases have the same form; the kernel state each
 * builds for the other is the mirror image (device, address, route, ARP and FDB entries, read with `ip -j` /
 * `bridge -j`); the firewall chains and subnet.env are the same; a node leaving is cleaned up on the other;
 * our agent restarting leaves upstream's view alone; DirectRouting mixes direct and tunnelled peers the same
 * way on both.
 */
import assert from "node:assert/strict";
import type { Process } from "../../cli/process/mod.ts";
import { assertLeasesAlike, leaseKey, mirroredLeases } from "../helpers/interop_leases.ts";
import { firewallView, kernelView } from "../helpers/interop_mirror.ts";
import { assertPathMtu, ping, waitPing } from "../helpers/interop_traffic.ts";
import {
  type InteropLab,
  type InteropNode,
  readIfExists,
  startInteropLab,
  startUpstreamAgent,
  waitFor,
  waitUpstreamSaw,
} from "../helpers/upstream.ts";

const NETWORK = "10.244.0.0/16";
const VXLAN = `{"Network":"${NETWORK}","Backend":{"Type":"vxlan"}}`;
const DIRECT = `{"Network":"${NETWORK}","Backend":{"Type":"vxlan","DirectRouting":true}}`;
const LEASE =
  '{"PublicIP":"<ip>","PublicIPv6":null,"BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"<vtep-mac>"}}';

/** Waits until `self`'s view of `peer` mirrors `peer`'s view of `self`, and returns it. */
async function assertMirrored(
  lab: InteropLab,
  self: InteropNode,
  peer: InteropNode,
  device: string | undefined = "flannel.1",
): Promise<Record<string, unknown>> {
  const opts = { network: NETWORK, ...(device ? { device } : {}) };
  let last: [unknown, unknown] = [undefined, undefined];
  try {
    return await waitFor(`${self.node.name} and ${peer.node.name} to hold mirrored state`, async () => {
      const a = await kernelView(lab, self, peer, opts);
      const b = await kernelView(lab, peer, self, opts);
      last = [a, b];
      return JSON.stringify(a) === JSON.stringify(b) ? a : undefined;
    }, 20_000);
  } catch (error) {
    // Show the precise difference.
    assert.deepEqual(
      last[0],
      last[1],
      `${self.node.name} (${self.kind}) vs ${peer.node.name} (${peer.kind})`,
    );
    throw error;
  }
}

/** The entries a node holds for a peer over the tunnel, in upstream's form (mirrored). */
function tunnelEntries(dev: string) {
  return {
    routes: [{
      type: "unicast",
      dst: "<peer-subnet>",
      gateway: "<peer-subnet-addr>",
      dev,
      protocol: "boot",
      scope: "global",
      flags: ["onlink"],
    }],
    neighs: [{ dst: "<peer-subnet-addr>", dev, lladdr: "<peer-vtep-mac>", state: ["PERMANENT"] }],
    fdbs: [{ mac: "<peer-vtep-mac>", dst: "<peer-ip>", flags: ["self"], state: "permanent" }],
  };
}
const TUNNEL_ENTRIES = tunnelEntries("flannel.1");

function pick(view: Record<string, unknown>, dst: string): Record<string, unknown> {
  const routes = (view.routes as { dst: string }[]).filter((r) => r.dst === dst);
  return { routes, neighs: view.neighs, fdbs: view.fdbs };
}

Deno.test("interop vxlan: ours and upstream on one switch ping, and hold mirrored leases, kernel state, firewall and subnet.env", async () => {
  await using lab = await startInteropLab({
    config: VXLAN,
    kinds: ["ours", "upstream"],
    flags: ["--ip-masq"],
  });
  const [ours, up] = lab.nodes as [InteropNode, InteropNode];
  await waitPing(lab, ours, up.podIp);
  await waitPing(lab, up, ours.podIp);
  await assertPathMtu(ours, up, 1450);
  await assertLeasesAlike(lab, LEASE);

  const view = await assertMirrored(lab, ours, up);
  // Pin the mirrored state to upstream's measured form, so that "equal" cannot mean "equally empty".
  assert.deepEqual(pick(view, "<peer-subnet>"), TUNNEL_ENTRIES);
  const link = (view.link as Record<string, unknown>[])[0]!;
  assert.equal(link.mtu, 1450);
  assert.equal(link.address, "<self-vtep-mac>");
  assert.equal(link.txqlen, undefined, "no qlen, like upstream's zero IFLA_TXQLEN");
  assert.deepEqual((link.linkinfo as { info_data: unknown }).info_data, {
    id: 1,
    local: "<self-ip>",
    link: "eth1",
    port_range: { low: 0, high: 0 },
    port: 8472,
    learning: false,
    ttl: 0,
    df: "unset",
    ageing: 300,
    udp_csum: true,
    udp_zero_csum6_tx: false,
    udp_zero_csum6_rx: false,
  });
  const addrs = (view.addrs as { addr_info: unknown[] }[])[0]!.addr_info;
  assert.deepEqual(addrs, [{
    family: "inet",
    local: "<self-subnet-addr>",
    prefixlen: 32,
    scope: "global",
    label: "flannel.1",
  }]);
  assert.equal(view.acceptRa, "0");

  const [fo, fu] = [await firewallView(ours), await firewallView(up)];
  assert.equal(fo.subnetEnv, fu.subnetEnv);
  assert.equal(
    fo.subnetEnv,
    `FLANNEL_NETWORK=${NETWORK}\nFLANNEL_SUBNET=<pod-gw/24>\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n`,
  );
  assert.equal(fo.subnetEnvMode, 0o644);
  assert.equal(fu.subnetEnvMode, 0o644);
  assert.deepEqual(fo.chains, fu.chains);
  assert.equal(fo.chains.length, 8, fo.chains.join("\n"));
  assert.deepEqual(fo.jumps, fu.jumps);
  assert.equal(fo.jumps.length, 2, fo.jumps.join("\n"));

  // Where the jump goes when FORWARD already has a rule: deliberately different (README, "Deliberately
  // different": the jump is inserted first so a distro's REJECT rule cannot shadow it; upstream appends).
  // Put a foreign rule in FORWARD on both nodes, remove flannel's jump, and let each agent's resync put it back.
  const FOREIGN = "-A FORWARD -s 198.51.100.1/32 -j DROP";
  for (const n of [ours, up]) {
    await n.node.ns.exec(["iptables", "-I", "FORWARD", "1", "-s", "198.51.100.1/32", "-j", "DROP"]);
    await n.node.ns.exec([
      "iptables",
      "-D",
      "FORWARD",
      "-m",
      "comment",
      "--comment",
      "flanneld forward",
      "-j",
      "FLANNEL-FWD",
    ]);
  }
  const JUMP = '-A FORWARD -m comment --comment "flanneld forward" -j FLANNEL-FWD';
  const forward = async (n: InteropNode) =>
    (await firewallView(n)).builtins.filter((l) => l.startsWith("-A FORWARD"));
  await waitFor("both agents to restore the FORWARD jump", async () => {
    return (await forward(ours)).includes(JUMP) && (await forward(up)).includes(JUMP) ? true : undefined;
  }, 30_000);
  assert.deepEqual(await forward(ours), [JUMP, FOREIGN], "ours inserts the jump first");
  assert.deepEqual(await forward(up), [FOREIGN, JUMP], "upstream appends it");
  assert.deepEqual((await firewallView(ours)).chains, (await firewallView(up)).chains);
});

Deno.test("interop vxlan: a custom VNI, Port and MTU give the same device and entries on both", async () => {
  const config = `{"Network":"${NETWORK}","Backend":{"Type":"vxlan","VNI":4096,"Port":4789,"MTU":1400}}`;
  await using lab = await startInteropLab({ config, kinds: ["ours", "upstream"] });
  const [ours, up] = lab.nodes as [InteropNode, InteropNode];
  await waitPing(lab, ours, up.podIp);
  await waitPing(lab, up, ours.podIp);
  await assertPathMtu(ours, up, 1350);
  await assertLeasesAlike(
    lab,
    '{"PublicIP":"<ip>","PublicIPv6":null,"BackendType":"vxlan","BackendData":{"VNI":4096,"VtepMAC":"<vtep-mac>"}}',
  );
  const view = await assertMirrored(lab, ours, up, "flannel.4096");
  assert.deepEqual(pick(view, "<peer-subnet>"), tunnelEntries("flannel.4096"));
  const link = (view.link as { mtu: number; linkinfo: { info_data: { id: number; port: number } } }[])[0]!;
  assert.equal(link.mtu, 1350);
  assert.equal(link.linkinfo.info_data.id, 4096);
  assert.equal(link.linkinfo.info_data.port, 4789);
  const [fo, fu] = [await firewallView(ours), await firewallView(up)];
  assert.equal(fo.subnetEnv, fu.subnetEnv);
  assert.match(fo.subnetEnv, /^FLANNEL_MTU=1350$/m);
});

Deno.test("interop vxlan: DirectRouting across a router: direct route to the same-subnet peer, tunnel to the one behind the router, alike on both", async () => {
  // n1 (ours) and n3 (upstream) share 192.168.77.0/24; n2 (upstream) is on 192.168.78.0/24 behind the router.
  await using lab = await startInteropLab({
    config: DIRECT,
    kinds: ["ours", "upstream", "upstream"],
    split: true,
  });
  const [ours, far, near] = lab.nodes as [InteropNode, InteropNode, InteropNode];
  for (const [from, to] of [[ours, far], [far, ours], [ours, near], [near, ours]] as const) {
    await waitPing(lab, from, to.podIp);
  }
  await assertLeasesAlike(lab, LEASE);
  // Across the router: the tunnel, exactly as upstream programs it.
  const tunnel = await assertMirrored(lab, ours, far);
  assert.deepEqual(pick(tunnel, "<peer-subnet>"), TUNNEL_ENTRIES);
  // On the same subnet: only `subnet via PublicIP dev eth1`, no ARP or FDB entry.
  const direct = await assertMirrored(lab, ours, near);
  assert.deepEqual(pick(direct, "<peer-subnet>"), {
    routes: [{
      type: "unicast",
      dst: "<peer-subnet>",
      gateway: "<peer-ip>",
      dev: "eth1",
      protocol: "boot",
      scope: "global",
      flags: [],
    }],
    neighs: [],
    fdbs: [],
  });
});

/** Upstream's log lines for a lease event about `subnet` of the given type (0 added, 1 removed). */
function upstreamEvents(log: string, type: 0 | 1): string[] {
  return log.split("\n").filter((l) => l.includes(`lease.Event{Type:${type},`));
}

Deno.test("interop vxlan: our restart leaves upstream's view alone; a node leaving is cleaned up on the other", async () => {
  await using lab = await startInteropLab({ config: VXLAN, kinds: ["ours", "upstream"] });
  const [ours, up] = lab.nodes as [InteropNode, InteropNode];
  await waitPing(lab, up, ours.podIp);
  await assertMirrored(lab, ours, up);

  // 1. Our agent restarts while upstream's pod pings ours: same lease (subnet, VtepMAC), no delete seen
  //    upstream, its entries untouched, and no ping lost (the kernel keeps forwarding meanwhile).
  const before = (await mirroredLeases(lab)).get(ours)!;
  const beforeRaw = await lab.lab.etcd.ctl(["get", "--print-value-only", leaseKey(lab.lab, ours)]);
  const upBefore = await kernelView(lab, up, ours, { network: NETWORK, device: "flannel.1" });
  const pinging = up.pod.exec(["ping", "-n", "-i", "0.2", "-c", "40", "-W", "1", ours.podIp], {
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
  assert.equal(await lab.lab.etcd.ctl(["get", "--print-value-only", leaseKey(lab.lab, ours)]), beforeRaw);
  const after = (await mirroredLeases(lab)).get(ours)!;
  assert.equal(after.value, before.value);
  assert.equal(after.grantedTtl, 86400);
  assert.deepEqual(upstreamEvents(await lab.log(up), 1), [], "upstream saw a lease removed");
  assert.deepEqual(await kernelView(lab, up, ours, { network: NETWORK, device: "flannel.1" }), upBefore);
  await waitPing(lab, up, ours.podIp);
  await waitPing(lab, ours, up.podIp);

  // 2. Upstream reboots: its flannel.1 is gone, so it makes one with a new MAC and rewrites its lease (found by
  //    PublicIP) with it. Ours moves its ARP and FDB entries to the new VTEP and keeps no stale FDB entry for
  //    the old MAC (upstream itself would keep one; a stale entry here would break the
  //    mirror, since upstream holds exactly one FDB entry for us).
  const oldMac = (await up.node.ns.ipJson<{ address: string }[]>(["link", "show", "flannel.1"]))[0]!.address;
  await up.agent.stop("SIGTERM");
  await up.node.ns.ip(["link", "del", "flannel.1"]);
  await lab.startAgent(up);
  await waitFor("upstream's lease to carry its new MAC", async () => {
    const value = await lab.lab.etcd.ctl(["get", "--print-value-only", leaseKey(lab.lab, up)]);
    return value.includes(oldMac) ? undefined : true;
  }, 30_000);
  const view = await assertMirrored(lab, ours, up);
  assert.deepEqual(pick(view, "<peer-subnet>"), TUNNEL_ENTRIES);
  await waitPing(lab, ours, up.podIp);

  // 3. Upstream leaves (stopped, its lease deleted): ours drops its route, ARP and FDB entries.
  await up.agent.stop("SIGTERM");
  await lab.lab.etcd.ctl(["del", leaseKey(lab.lab, up)]);
  await waitFor("ours to forget upstream's entries", async () => {
    const v = await kernelView(lab, ours, up, { network: NETWORK, device: "flannel.1" });
    const left = JSON.stringify([v.routes, v.neighs, v.fdbs]);
    return left.includes("<peer-") ? undefined : true;
  }, 20_000);
  assert.ok(!(await ping(ours, up.podIp)), "upstream's pod must be unreachable once it left");

  // 4. Upstream comes back with its old subnet (from subnet.env, its lease being gone): ours programs it again.
  await lab.startAgent(up);
  await assertMirrored(lab, ours, up);
  await waitPing(lab, ours, up.podIp);
  // Its entries for us survived its restart; wait until it is watching again before we leave.
  await waitUpstreamSaw(lab, up, ours);

  // 5. Ours leaves: upstream removes our entries on the DELETE event.
  await ours.agent.stop("SIGTERM");
  await lab.lab.etcd.ctl(["del", leaseKey(lab.lab, ours)]);
  await waitFor("upstream to forget our entries", async () => {
    const v = await kernelView(lab, up, ours, { network: NETWORK, device: "flannel.1" });
    return JSON.stringify([v.routes, v.neighs, v.fdbs]).includes("<peer-") ? undefined : true;
  }, 20_000);
  assert.equal(upstreamEvents(await lab.log(up), 1).length, 1);
});

Deno.test("interop vxlan: lease renewals on either side leave the other's view alone", async () => {
  // A renew margin of 1439 min on a 24 h lease renews one minute after acquisition, on both agents.
  await using lab = await startInteropLab({
    config: VXLAN,
    kinds: ["ours", "upstream"],
    flags: ["--subnet-lease-renew-margin=1439"],
  });
  const [ours, up] = lab.nodes as [InteropNode, InteropNode];
  await waitPing(lab, ours, up.podIp);
  const leasesBefore = await mirroredLeases(lab);
  const viewBefore = [
    await assertMirrored(lab, ours, up),
    await kernelView(lab, up, ours, { network: NETWORK, device: "flannel.1" }),
  ];
  const raw = async (n: InteropNode) =>
    await lab.lab.etcd.ctl(["get", "--print-value-only", leaseKey(lab.lab, n)]);
  const rawBefore = [await raw(ours), await raw(up)];
  await waitFor("both agents to renew", async () => {
    return /Renewed our lease/.test(await lab.log(ours)) && /Lease renewed/.test(await lab.log(up))
      ? true
      : undefined;
  }, 120_000);
  assert.deepEqual([await raw(ours), await raw(up)], rawBefore);
  for (const [n, lease] of await mirroredLeases(lab)) {
    assert.equal(lease.value, leasesBefore.get(n)!.value);
    assert.equal(lease.grantedTtl, 86400);
    assert.ok(lease.ttl > 86380, `${n.node.name}'s lease was renewed: ${lease.ttl}`);
  }
  assert.deepEqual(
    [
      await assertMirrored(lab, ours, up),
      await kernelView(lab, up, ours, { network: NETWORK, device: "flannel.1" }),
    ],
    viewBefore,
  );
  assert.ok(!(await lab.log(up)).includes("lease.Event{Type:1,"), "upstream saw a lease removed");
  await waitPing(lab, up, ours.podIp);
  // Deliberately different (README: renewals are guarded and revoke the previous etcd lease): ours holds one
  // etcd lease, upstream two (its first one is left to expire, keyless, after 24 h).
  const list = await lab.lab.etcd.ctl(["lease", "list"]);
  assert.match(list, /found 3 leases/, list);
});

Deno.test("interop vxlan: a node switches from upstream to ours and back in place without disturbing its peer", async () => {
  // Both nodes start on upstream; n1 then swaps agents while n2's pod pings n1's. Each agent adopts the other's
  // flannel.1 (so the VtepMAC in the lease survives), reuses the lease by PublicIP, and takes over the other's
  // firewall chains without a second jump.
  await using lab = await startInteropLab({
    config: VXLAN,
    kinds: ["upstream", "upstream"],
    flags: ["--ip-masq"],
  });
  const [n1, n2] = lab.nodes as [InteropNode, InteropNode];
  await waitPing(lab, n2, n1.podIp);
  const key = leaseKey(lab.lab, n1);
  const lease = await lab.lab.etcd.ctl(["get", "--print-value-only", key]);
  const view = await assertMirrored(lab, n1, n2);
  const firewall = await firewallView(n1);
  const swap = async (start: () => Promise<Process>, done: RegExp): Promise<Process> => {
    const pinging = n2.pod.exec(["ping", "-n", "-i", "0.2", "-c", "25", "-W", "1", n1.podIp], {
      check: false,
      timeoutMs: 60_000,
    });
    await new Promise((r) => setTimeout(r, 500));
    await n1.agent.stop("SIGTERM");
    const next = await start();
    n1.agent = next;
    await waitFor("the new agent to write subnet.env", async () => {
      const logs = (await readIfExists(`${n1.node.dir}/agent.log`) ?? "") +
        (await readIfExists(`${n1.node.dir}/flanneld.log`) ?? "");
      return done.test(logs) ? true : undefined;
    }, 30_000);
    const pinged = await pinging;
    assert.match(pinged.stdout, / 0% packet loss/, pinged.stdout);
    assert.equal(await lab.lab.etcd.ctl(["get", "--print-value-only", key]), lease);
    assert.deepEqual(await assertMirrored(lab, n1, n2), view);
    assert.deepEqual(await firewallView(n1), firewall);
    assert.ok(!(await lab.log(n2)).includes("lease.Event{Type:1,"), "n2 saw a lease removed");
    return next;
  };
  await swap(() => lab.lab.startAgent(n1.node, lab.flags), /Wrote subnet file path=/);
  await using _back = await swap(
    () => startUpstreamAgent(lab.lab, n1.node, lab.flags),
    /(?:[\s\S]*Wrote subnet file to){2}/,
  );
  await waitPing(lab, n1, n2.podIp);
});
