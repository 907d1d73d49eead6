/** The firewall follows our lease to a new subnet: apply and the periodic resync use the new rule set. */
import assert from "node:assert/strict";
import { memoryLogger } from "../../cli/log.ts";
import { Firewall } from "./firewall.ts";
import type { CommandRunner } from "./exec.ts";
import { parseCidr } from "../ip.ts";

/** Fake tools: iptables-save answers "nothing programmed", every restore is recorded. */
function fakeTools() {
  const restores: string[] = [];
  const runner: CommandRunner = (argv, stdin) => {
    const cmd = argv.join(" ");
    if (cmd.startsWith("iptables-restore") || cmd.startsWith("ip6tables-restore")) restores.push(stdin ?? "");
    const stdout = cmd.includes("--version") ? "iptables v1.8.9 (nf_tables)" : cmd === "cat" ? "1\n" : "";
    return Promise.resolve({ code: 0, stdout, stderr: "" });
  };
  return { runner, restores };
}

Deno.test("Firewall.retarget: after our lease moves, check and resync use the new subnet, never the old", async () => {
  const { runner, restores } = fakeTools();
  const network = parseCidr("10.5.0.0/16");
  const network6 = parseCidr("fd44::/48");
  const fw = await Firewall.create({
    mode: "iptables",
    ipv4: { network, subnet: parseCidr("10.5.3.0/24") },
    ipv6: { network: network6, subnet: parseCidr("fd44:0:0:3::/64") },
    ipMasq: true,
    forwardRules: true,
    logger: memoryLogger(),
    runner,
  });
  await fw.apply();
  assert.ok(restores.some((s) => s.includes("10.5.3.0/24")));
  assert.ok(restores.some((s) => s.includes("fd44:0:0:3::/64")));

  fw.retarget({
    ipv4: { network, subnet: parseCidr("10.5.9.0/24") },
    ipv6: { network: network6, subnet: parseCidr("fd44:0:0:9::/64") },
  });
  const check = await fw.check();
  assert.equal(check.inSync, false);
  assert.ok(check.problems.some((p) => p.includes("10.5.9.0/24")), check.problems.join("\n"));
  assert.ok(!check.problems.some((p) => p.includes("10.5.3.0/24")), check.problems.join("\n"));
  assert.ok(check.problems.some((p) => p.includes("fd44:0:0:9::/64")), check.problems.join("\n"));

  restores.length = 0;
  assert.equal(await fw.resync(), true);
  const script = restores.join("\n");
  assert.match(script, /-s 10\.5\.9\.0\/24 -d 10\.5\.0\.0\/16/);
  assert.match(script, /fd44:0:0:9::\/64/);
  assert.doesNotMatch(script, /-A FLANNEL-POSTRTG -s 10\.5\.3\.0\/24/);
  assert.deepEqual(fw.iptablesRulesOf(4).filter((r) => r.spec.join(" ").includes("10.5.3.0/24")), []);
});
