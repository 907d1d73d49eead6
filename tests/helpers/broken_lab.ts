/**
 * Broken-lab runs in end-to-end tests: a scenario run on a shipped topology that must fail, and the steps of
 * its JUnit report.
 *
 * @module
 */
import { ok as assert } from "node:assert/strict";
import { runTopology } from "./run_cli.ts";

/** Runs `scenario` (YAML text) on a shipped topology; the run must fail (exit 1). */
export async function runBrokenLab(topology: string, scenario: string): ReturnType<typeof runTopology> {
  const file = await Deno.makeTempFile({ suffix: ".scenario.yml" });
  try {
    await Deno.writeTextFile(file, scenario);
    const r = await runTopology(topology, ["--scenario", file]);
    assert(r.code === 1, `the run must fail (exit 1), got ${r.code}\n${r.out}`);
    return r;
  } finally {
    await Deno.remove(file);
  }
}

/** The `<testcase>` of a step in the JUnit report, by the step's name. */
export function testcase(junit: string, name: string): string {
  const xml = name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&").replaceAll("'", "&apos;");
  const start = junit.search(new RegExp(`name="\\d+\\. ${xml}"`));
  assert(start >= 0, `no testcase "${name}" in\n${junit}`);
  const end = junit.indexOf("</testcase>", start);
  return junit.slice(start, end < 0 ? undefined : end).replaceAll("&lt;", "<").replaceAll("&gt;", ">")
    .replaceAll("&apos;", "'").replaceAll("&quot;", '"').replaceAll("&amp;", "&");
}
