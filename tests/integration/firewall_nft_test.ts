/**
 * The firewall module in nftables mode inside throwaway namespaces: the exact ruleset, resync, turned-off sets,
 * teardown, and the cleanup of iptables-mode leftovers from the right tables. Root only.
 */
import assert from "node:assert/strict";
import { Netns } from "../../harness/netns.ts";
import { memoryLogger } from "../../cli/log.ts";
import { uniqueName } from "../helpers/tmpdir.ts";
import { Firewall, type FirewallOptions } from "../../agent/firewall/mod.ts";
import { parseCidr } from "../../agent/ip.ts";

function fw(ns: Netns, extra: Partial<FirewallOptions> = {}) {
  const options: FirewallOptions = {
    mode: "nftables",
    ipv4: { network: parseCidr("10.5.0.0/16"), subnet: parseCidr("10.5.3.0/24") },
    ipMasq: true,
    forwardRules: true,
    logger: memoryLogger(),
    exec: ["ip", "netns", "exec", ns.name],
    ...extra,
  };
  return Firewall.create(options);
}

async function ruleset(ns: Netns): Promise<string> {
  return (await ns.exec(["nft", "list", "ruleset"])).stdout;
}

const EXPECTED = `table ip flannel-ipv4 {
	comment "rules for flannel-ipv4"
	chain forward {
		comment "chain to accept flannel traffic"
		type filter hook forward priority filter; policy accept;
		ip saddr 10.5.0.0/16 accept
		ip daddr 10.5.0.0/16 accept
	}

	chain postrtg {
		comment "chain to manage traffic masquerading by flannel"
		type nat hook postrouting priority srcnat; policy accept;
		meta mark & 0x00004000 == 0x00004000 return
		ip saddr 10.5.3.0/24 ip daddr 10.5.0.0/16 return
		ip saddr 10.5.0.0/16 ip daddr 10.5.3.0/24 return
		ip saddr != 10.5.0.0/16 ip daddr 10.5.3.0/24 return
		ip saddr 10.5.0.0/16 ip daddr != 224.0.0.0/4 masquerade fully-random
		ip saddr != 10.5.0.0/16 ip daddr 10.5.0.0/16 masquerade fully-random
	}
}
`;

Deno.test("firewall nftables: apply writes the expected ruleset exactly; applying again changes nothing", async () => {
  await using ns = await Netns.create(uniqueName("fltnf"));
  const f = await fw(ns);
  assert.equal(f.randomFully, true);
  await f.apply();
  assert.equal(await ruleset(ns), EXPECTED);
  assert.equal((await f.check()).inSync, true);
  await f.apply();
  assert.equal(await ruleset(ns), EXPECTED);
});

Deno.test("firewall nftables: a rule deleted by hand is restored by resync; fully-random can be disabled", async () => {
  await using ns = await Netns.create(uniqueName("fltnf"));
  const f = await fw(ns);
  await f.apply();
  const { stdout } = await ns.exec(["nft", "-a", "list", "chain", "ip", "flannel-ipv4", "postrtg"]);
  const handle = /ip saddr != 10\.5\.0\.0\/16 ip daddr 10\.5\.3\.0\/24 return # handle (\d+)/.exec(stdout)
    ?.[1];
  assert.ok(handle, stdout);
  await ns.exec(["nft", "delete", "rule", "ip", "flannel-ipv4", "postrtg", "handle", handle]);
  assert.equal((await f.check()).inSync, false);
  assert.equal(await f.resync(), true);
  assert.equal(await ruleset(ns), EXPECTED);
  assert.equal(await f.resync(), false);
  const plain = await fw(ns, { fullyRandomDisable: true });
  await plain.apply();
  assert.equal(await ruleset(ns), EXPECTED.replaceAll(" fully-random", ""));
});

Deno.test("firewall nftables: ip-masq off drops postrtg; IPv6 gets its table; teardown removes both", async () => {
  await using ns = await Netns.create(uniqueName("fltnf"));
  await (await fw(ns)).apply();
  const f = await fw(ns, {
    ipMasq: false,
    ipv6: { network: parseCidr("fc00::/48"), subnet: parseCidr("fc00:0:0:3::/64") },
  });
  await f.apply();
  const rs = await ruleset(ns);
  assert.doesNotMatch(rs, /postrtg/);
  assert.match(rs, /table ip6 flannel-ipv6 \{\n\tcomment "rules for flannel-ipv6"\n\tchain forward \{/);
  assert.match(rs, /ip6 saddr fc00::\/48 accept\n\t\tip6 daddr fc00::\/48 accept/);
  await f.teardown();
  assert.equal(await ruleset(ns), "");
});

Deno.test("firewall nftables: iptables-mode leftovers are removed from nat and filter (upstream: nat only)", async () => {
  await using ns = await Netns.create(uniqueName("fltnf"));
  await (await fw(ns, { mode: "iptables" })).apply();
  assert.match((await ns.exec(["iptables-save", "-t", "filter"])).stdout, /FLANNEL-FWD/);
  await (await fw(ns)).apply();
  const save = (await ns.exec(["iptables-save"])).stdout;
  assert.doesNotMatch(save, /FLANNEL-/);
  assert.match(await ruleset(ns), /table ip flannel-ipv4/);
});
