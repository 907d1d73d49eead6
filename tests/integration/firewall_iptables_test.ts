/**
 * The firewall module against real iptables (nf_tables backend) inside throwaway namespaces: exact
 * iptables-save output, resync after a hand-made deletion, old-subnet rules, turned-off sets, teardown, and the
 * jump position. Root only. Every command runs via `ip netns exec`; the main namespace is never touched.
 */
import assert from "node:assert/strict";
import { Netns } from "../../harness/netns.ts";
import { memoryLogger } from "../../cli/log.ts";
import { uniqueName } from "../helpers/tmpdir.ts";
import { Firewall, type FirewallOptions } from "../../agent/firewall/mod.ts";
import { parseCidr } from "../../agent/ip.ts";

const NET = parseCidr("10.5.0.0/16");
const SUB = parseCidr("10.5.3.0/24");

const MASQ = [
  '-A POSTROUTING -m comment --comment "flanneld masq" -j FLANNEL-POSTRTG',
  '-A FLANNEL-POSTRTG -m mark --mark 0x4000/0x4000 -m comment --comment "flanneld masq" -j RETURN',
  '-A FLANNEL-POSTRTG -s 10.5.3.0/24 -d 10.5.0.0/16 -m comment --comment "flanneld masq" -j RETURN',
  '-A FLANNEL-POSTRTG -s 10.5.0.0/16 -d 10.5.3.0/24 -m comment --comment "flanneld masq" -j RETURN',
  '-A FLANNEL-POSTRTG ! -s 10.5.0.0/16 -d 10.5.3.0/24 -m comment --comment "flanneld masq" -j RETURN',
  '-A FLANNEL-POSTRTG -s 10.5.0.0/16 ! -d 224.0.0.0/4 -m comment --comment "flanneld masq" -j MASQUERADE --random-fully',
  '-A FLANNEL-POSTRTG ! -s 10.5.0.0/16 -d 10.5.0.0/16 -m comment --comment "flanneld masq" -j MASQUERADE --random-fully',
];
const FWD = [
  '-A FORWARD -m comment --comment "flanneld forward" -j FLANNEL-FWD',
  '-A FLANNEL-FWD -s 10.5.0.0/16 -m comment --comment "flanneld forward" -j ACCEPT',
  '-A FLANNEL-FWD -d 10.5.0.0/16 -m comment --comment "flanneld forward" -j ACCEPT',
];

/** iptables-save of one table without the `#` lines. */
async function save(ns: Netns, table: string, tool = "iptables-save"): Promise<string[]> {
  const { stdout } = await ns.exec([tool, "-t", table]);
  return stdout.split("\n").filter((l) => l && !l.startsWith("#"));
}

function fw(ns: Netns, extra: Partial<FirewallOptions> = {}) {
  const logger = memoryLogger();
  const options: FirewallOptions = {
    mode: "iptables",
    ipv4: { network: NET, subnet: SUB },
    ipMasq: true,
    forwardRules: true,
    logger,
    exec: ["ip", "netns", "exec", ns.name],
    ...extra,
  };
  return { logger, create: () => Firewall.create(options) };
}

Deno.test("firewall iptables: apply writes upstream's rules exactly, in order, in nat and filter", async () => {
  await using ns = await Netns.create(uniqueName("fltfw"));
  const f = await fw(ns).create();
  assert.equal(f.randomFully, true);
  await f.apply();
  assert.deepEqual(await save(ns, "nat"), [
    "*nat",
    ":PREROUTING ACCEPT [0:0]",
    ":INPUT ACCEPT [0:0]",
    ":OUTPUT ACCEPT [0:0]",
    ":POSTROUTING ACCEPT [0:0]",
    ":FLANNEL-POSTRTG - [0:0]",
    ...MASQ,
    "COMMIT",
  ]);
  assert.deepEqual(await save(ns, "filter"), [
    "*filter",
    ":INPUT ACCEPT [0:0]",
    ":FORWARD ACCEPT [0:0]",
    ":OUTPUT ACCEPT [0:0]",
    ":FLANNEL-FWD - [0:0]",
    ...FWD,
    "COMMIT",
  ]);
  assert.equal((await f.check()).inSync, true);
  // Applying again changes nothing (no duplicate jump, same order).
  await f.apply();
  assert.deepEqual((await save(ns, "nat")).filter((l) => l.startsWith("-A")), MASQ);
  assert.deepEqual((await save(ns, "filter")).filter((l) => l.startsWith("-A")), FWD);
});

Deno.test("firewall iptables: a rule deleted by hand (or the jump) is restored by the resync loop", async () => {
  await using ns = await Netns.create(uniqueName("fltfw"));
  const { create, logger } = fw(ns);
  const f = await create();
  await f.apply();
  await ns.exec([
    "iptables",
    "-t",
    "nat",
    "-D",
    "FLANNEL-POSTRTG",
    "!",
    "-s",
    "10.5.0.0/16",
    "-d",
    "10.5.3.0/24",
    "-m",
    "comment",
    "--comment",
    "flanneld masq",
    "-j",
    "RETURN",
  ]);
  await ns.exec([
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
  const c = await f.check();
  assert.equal(c.inSync, false);
  assert.equal(c.problems.length, 2, c.problems.join("\n"));
  const stop = new AbortController();
  const loop = f.startResync(1, stop.signal);
  try {
    const deadline = Date.now() + 30_000;
    while (!(await f.check()).inSync) {
      assert.ok(Date.now() < deadline, "resync did not restore the rules within 30 s");
      await new Promise((r) => setTimeout(r, 200));
    }
  } finally {
    stop.abort();
    await loop;
  }
  assert.deepEqual((await save(ns, "nat")).filter((l) => l.startsWith("-A")), MASQ);
  assert.deepEqual((await save(ns, "filter")).filter((l) => l.startsWith("-A")), FWD);
  assert.ok(logger.lines.some((l) => l.includes("missing")));
});

Deno.test("firewall iptables: rules built from the previous subnet.env values are replaced", async () => {
  await using ns = await Netns.create(uniqueName("fltfw"));
  const old = await fw(ns, { ipv4: { network: parseCidr("10.9.0.0/16"), subnet: parseCidr("10.9.7.0/24") } })
    .create();
  await old.apply();
  const f = await fw(ns, {
    previous: { network: parseCidr("10.9.0.0/16"), subnet: parseCidr("10.9.7.0/24") },
  }).create();
  await f.apply();
  const nat = (await save(ns, "nat")).filter((l) => l.startsWith("-A"));
  assert.deepEqual(nat, MASQ);
  assert.ok(!nat.some((l) => l.includes("10.9.")));
});

Deno.test("firewall iptables: the jump goes before a distro REJECT (insert), or after it (append, upstream)", async () => {
  await using ns = await Netns.create(uniqueName("fltfw"));
  await ns.exec(["iptables", "-A", "FORWARD", "-j", "REJECT"]);
  await (await fw(ns, { ipMasq: false }).create()).apply();
  let rules = (await save(ns, "filter")).filter((l) => l.startsWith("-A FORWARD"));
  assert.deepEqual(rules, [FWD[0], "-A FORWARD -j REJECT --reject-with icmp-port-unreachable"]);
  await (await fw(ns, { ipMasq: false, jump: "append" }).create()).apply();
  rules = (await save(ns, "filter")).filter((l) => l.startsWith("-A FORWARD"));
  assert.deepEqual(rules, ["-A FORWARD -j REJECT --reject-with icmp-port-unreachable", FWD[0]]);
});

Deno.test("firewall iptables: a set turned off is removed; teardown leaves nothing of ours", async () => {
  await using ns = await Netns.create(uniqueName("fltfw"));
  await ns.exec(["iptables", "-t", "nat", "-A", "POSTROUTING", "-j", "ACCEPT"]);
  await (await fw(ns).create()).apply();
  await (await fw(ns, { ipMasq: false }).create()).apply();
  assert.deepEqual((await save(ns, "nat")).filter((l) => /^[-:]/.test(l)), [
    ":PREROUTING ACCEPT [0:0]",
    ":INPUT ACCEPT [0:0]",
    ":OUTPUT ACCEPT [0:0]",
    ":POSTROUTING ACCEPT [0:0]",
    "-A POSTROUTING -j ACCEPT",
  ]);
  const f = await fw(ns, { ipv6: { network: parseCidr("fc00::/48"), subnet: parseCidr("fc00:0:0:3::/64") } })
    .create();
  await f.apply();
  assert.ok((await save(ns, "nat", "ip6tables-save")).some((l) => l.includes("ff00::/8")));
  await f.teardown();
  for (const tool of ["iptables-save", "ip6tables-save"]) {
    const { stdout } = await ns.exec([tool]);
    assert.ok(!/flannel/i.test(stdout), `${tool} still shows flannel rules:\n${stdout}`);
  }
  assert.deepEqual((await save(ns, "nat")).filter((l) => l.startsWith("-A")), ["-A POSTROUTING -j ACCEPT"]);
});

Deno.test("firewall iptables: switching from nftables removes the nft tables; warns when ip_forward is 0", async () => {
  await using ns = await Netns.create(uniqueName("fltfw"));
  await (await fw(ns, { mode: "nftables" }).create()).apply();
  assert.match((await ns.exec(["nft", "list", "tables"])).stdout, /flannel-ipv4/);
  await ns.exec(["sysctl", "-qw", "net.ipv4.ip_forward=0"]);
  const { create, logger } = fw(ns);
  await (await create()).apply();
  assert.doesNotMatch((await ns.exec(["nft", "list", "tables"])).stdout, /flannel-ipv/);
  assert.ok(logger.lines.some((l) => l.includes("ip_forward is 0")), logger.lines.join("\n"));
});
