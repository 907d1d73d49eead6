import assert from "node:assert/strict";
import { memoryLogger } from "../../cli/log.ts";
import { Firewall } from "./firewall.ts";
import type { CommandRunner } from "./exec.ts";
import { parseCidr } from "../ip.ts";

/** A stand-in for the tools: records commands, answers from a table. */
function fakeTools(answers: Record<string, string>) {
  const calls: { argv: string; stdin: string | undefined }[] = [];
  const runner: CommandRunner = (argv, stdin) => {
    const key = argv.join(" ");
    calls.push({ argv: key, stdin });
    const hit = Object.entries(answers).find(([k]) => key.startsWith(k));
    return Promise.resolve({
      code: hit ? 0 : 1,
      stdout: hit?.[1] ?? "",
      stderr: hit ? "" : "no such command",
    });
  };
  return { runner, calls };
}

const v4 = { network: parseCidr("10.5.0.0/16"), subnet: parseCidr("10.5.3.0/24") };

Deno.test("Firewall: iptables older than 1.6.2 gets neither --random-fully nor --wait, and a warning", async () => {
  const { runner, calls } = fakeTools({
    "iptables --version": "iptables v1.4.21",
    "iptables-save": "",
    "iptables-restore": "",
    "nft": "",
    "cat": "1\n",
  });
  const logger = memoryLogger();
  const fw = await Firewall.create({
    mode: "iptables",
    ipv4: v4,
    ipMasq: true,
    forwardRules: true,
    logger,
    runner,
  });
  assert.equal(fw.randomFully, false);
  await fw.apply();
  const restore = calls.find((c) => c.argv.startsWith("iptables-restore"))!;
  assert.equal(restore.argv, "iptables-restore --noflush");
  assert.doesNotMatch(restore.stdin!, /random-fully/);
  assert.match(restore.stdin!, /^\*nat\n[^]*COMMIT\n\*filter\n[^]*COMMIT\n$/);
  assert.ok(logger.lines.some((l) => l.includes("no fully-random")));
});

Deno.test("Firewall: the other mode's leftovers are cleaned once; the ip_forward warning is logged once", async () => {
  const { runner, calls } = fakeTools({
    "iptables --version": "iptables v1.8.9 (nf_tables)",
    "iptables-save": "",
    "ip6tables-save": "",
    "iptables-restore": "",
    "nft -f": "",
    "cat": "0\n",
  });
  const logger = memoryLogger();
  const fw = await Firewall.create({
    mode: "iptables",
    ipv4: v4,
    ipMasq: false,
    forwardRules: true,
    logger,
    runner,
  });
  await fw.apply();
  await fw.apply();
  assert.equal(calls.filter((c) => c.argv === "nft -f -").length, 1);
  assert.match(calls.find((c) => c.argv === "nft -f -")!.stdin!, /delete table ip flannel-ipv4/);
  assert.equal(calls.filter((c) => c.argv.startsWith("iptables-restore --noflush --wait")).length, 2);
  assert.equal(logger.lines.filter((l) => l.includes("ip_forward is 0")).length, 1);
});

Deno.test("Firewall: a missing tool is an error naming the command", async () => {
  const { runner } = fakeTools({});
  await assert.rejects(
    Firewall.create({
      mode: "nftables",
      ipv4: v4,
      ipMasq: true,
      forwardRules: true,
      logger: memoryLogger(),
      runner,
    })
      .then((fw) => fw.apply()),
    /nft -f -/,
  );
});
