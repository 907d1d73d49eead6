import assert from "node:assert/strict";
import { casesModule, readCases } from "./embed.ts";
import { readCase, shippedCase, shippedCases } from "./catalog.ts";
import { UserError } from "../../cli/errors.ts";
import { REPRO_AGENTS } from "../scenario/model.ts";

Deno.test("the embedded cases are the files in topologies/repro (run deno task repro:embed)", async () => {
  const onDisk = casesModule(await readCases(new URL("../../topologies/repro", import.meta.url).pathname));
  assert.equal(await Deno.readTextFile(new URL("./cases.ts", import.meta.url)), onDisk);
});

Deno.test("the library has at least twelve cases, each explained and judged for both agents", () => {
  const cases = shippedCases();
  assert.ok(cases.length >= 12, `${cases.length} cases`);
  for (const c of cases) {
    for (const k of ["title", "symptom", "cause", "fix"] as const) {
      assert.ok(c.repro[k].length > 10, `${c.name} ${k}`);
    }
    for (const a of REPRO_AGENTS) assert.ok(c.repro.verdict[a], `${c.name} has a verdict for ${a}`);
  }
  const ids = new Set(cases.map((c) => c.repro.id));
  for (const id of ["S1", "S2", "S6", "S7", "S8", "S9", "S11", "S12", "S13", "S15", "S16", "S22"]) {
    assert.ok(ids.has(id), `a case reproduces ${id}`);
  }
});

Deno.test("a case's verdicts match its steps: a reproduced agent has a step expected to fail for it", () => {
  for (const c of shippedCases()) {
    for (const agent of REPRO_AGENTS) {
      const failing = /fails-with:\s*("|\{[^}]*\b(ours|upstream)\b)/g;
      const matches = [...c.scenario.matchAll(failing)].map((m) => m[2] ?? "all");
      const failsFor = matches.includes("all") || matches.includes(agent);
      const v = c.repro.verdict[agent];
      if (v === "reproduced") {
        assert.ok(failsFor, `${c.name}: ${agent} is reproduced but no step fails for it`);
      }
    }
  }
});

Deno.test("unknown case names and scenarios without a repro block are refused with a hint", () => {
  assert.throws(
    () => shippedCase("nope"),
    (e: unknown) => e instanceof UserError && /forward-reject/.test(e.hint ?? ""),
  );
  const any = shippedCases()[0]!;
  assert.throws(
    () => readCase("x", any.topology, "network: { Network: 10.244.0.0/16 }\nsteps: []\n"),
    (e: unknown) => e instanceof UserError && /no repro: block/.test(e.message),
  );
});

Deno.test("the README's table of reproductions gives every case's verdicts as the case does", async () => {
  const readme = await Deno.readTextFile(new URL("../../README.md", import.meta.url));
  for (const c of shippedCases()) {
    const row = readme.split("\n").find((l) => l.startsWith(`| \`${c.name}\``));
    assert.ok(row, `README has a row for ${c.name}`);
    const cells = row.split("|").map((x) => x.trim());
    assert.deepEqual(cells.slice(2, 5), [c.repro.id, c.repro.verdict.ours, c.repro.verdict.upstream], row);
  }
});
