/**
 * Every shipped reproduction runs with our agent and with upstream flanneld, through `flannel-lab repro run` (a
 * real process, as a user would), and each agent's verdict is confirmed: the steps that show the failure fail
 * as written for that agent, and the rest pass. A change in either side's behaviour fails its case here. Both
 * labs are removed afterwards, and the HTML comparison names every case.
 *
 * The templates of `repro new` deploy and run too: everything passes but, at most, the one step marked as the
 * bug, which reports that it was expected to fail (the user has not added their bug yet).
 */
import { ok as assert } from "node:assert/strict";
import { shippedCases } from "../../harness/repro/catalog.ts";
import { TEMPLATES } from "../../harness/repro/templates.ts";
import { flannelLab, leftovers } from "../helpers/run_cli.ts";

const cli = (args: string[]) => flannelLab(args, 900_000);

for (const c of shippedCases()) {
  Deno.test({
    name:
      `e2e: repro ${c.name} (${c.repro.id}): ours ${c.repro.verdict.ours}, upstream ${c.repro.verdict.upstream}`,
    sanitizeResources: false,
    sanitizeOps: false,
    async fn() {
      const base = await Deno.makeTempDir({ prefix: `flannel-lab-repro-${c.name}-` });
      try {
        const r = await cli(["repro", "run", c.name, "--lab-dir", base]);
        const out = r.stdout + r.stderr;
        // The comparison table's row (the explanation printed before the run starts with the name too).
        const row = out.split("\n").findLast((l) => l.startsWith(`${c.name} `) && /[✓✗]/.test(l)) ?? "";
        assert(r.code === 0, out.slice(-6000));
        assert(
          row.includes(`${c.repro.verdict.ours} ✓`) && row.includes(`${c.repro.verdict.upstream} ✓`),
          `comparison row: ${row}`,
        );
        const html = await Deno.readTextFile(`${base}/report.html`);
        assert(
          html.includes(`id="${c.name}"`) && html.includes("Every verdict was confirmed"),
          "HTML report",
        );
        for (const agent of ["ours", "upstream"]) {
          const lab = `${c.name}-${agent}`;
          const left = await leftovers(lab, `${base}/${c.name}/clab-${lab}`);
          assert(left.length === 0, `${lab} left behind: ${left.join(", ")}`);
        }
      } finally {
        await Deno.remove(base, { recursive: true }).catch(() => {});
      }
    },
  });
}

Deno.test({
  name:
    "e2e: every repro new template deploys and runs; at most the step marked as the bug reports it passed",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const base = await Deno.makeTempDir({ prefix: "flannel-lab-repro-new-" });
    try {
      for (const t of TEMPLATES) {
        const name = `tpl-${t.kind}`;
        const made = await cli(["repro", "new", name, "--template", t.kind, "--out", base]);
        assert(made.code === 0, made.stdout + made.stderr);
        const again = await cli(["repro", "new", name, "--template", t.kind, "--out", base]);
        assert(again.code !== 0 && /exists; not overwriting it/.test(again.stderr), "never overwrites");
        const r = await cli([
          "repro",
          "run",
          `${base}/${name}.clab.yml`,
          "--agent",
          "ours",
          "--lab-dir",
          base,
        ]);
        const out = r.stdout + r.stderr;
        const failed = out.split("\n").filter((l) => l.startsWith("[FAIL]"));
        // The shapes whose bug is the shape itself (the pinch, the NAT) reproduce it as they stand; the others
        // report, in their one marked step, that the bug the user is to add is not there yet.
        assert(
          failed.length <= 1 && r.code === failed.length,
          `${t.kind}: at most one step fails:\n${out.slice(-4000)}`,
        );
        if (failed.length) {
          assert(/expected to fail with .*, but passed/.test(failed[0]!), `${t.kind}: ${failed[0]}`);
        }
        const left = await leftovers(`${name}-ours`, `${base}/clab-${name}-ours`);
        assert(left.length === 0, `${name} left behind: ${left.join(", ")}`);
      }
    } finally {
      await Deno.remove(base, { recursive: true }).catch(() => {});
    }
  },
});

Deno.test({
  name: "e2e: reproductions run through real containerlab too, with the same verdicts",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const base = await Deno.makeTempDir({ prefix: "flannel-lab-repro-clab-" });
    const cases = ["forward-reject", "parent-iface-recreated"];
    try {
      const r = await cli(["repro", "run", ...cases, "--runtime", "containerlab", "--lab-dir", base]);
      const out = r.stdout + r.stderr;
      assert(r.code === 0, out.slice(-6000));
      for (const c of shippedCases().filter((x) => cases.includes(x.name))) {
        const row = out.split("\n").findLast((l) => l.startsWith(`${c.name} `) && /[✓✗]/.test(l)) ?? "";
        assert(
          row.includes(`${c.repro.verdict.ours} ✓`) && row.includes(`${c.repro.verdict.upstream} ✓`),
          row,
        );
        for (const agent of ["ours", "upstream"]) {
          const left = await leftovers(`${c.name}-${agent}`, `${base}/${c.name}/clab-${c.name}-${agent}`);
          assert(left.length === 0, `${c.name}-${agent} left behind: ${left.join(", ")}`);
        }
      }
    } finally {
      await Deno.remove(base, { recursive: true }).catch(() => {});
    }
  },
});
