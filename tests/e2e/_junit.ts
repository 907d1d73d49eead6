/**
 * Reading a run's JUnit report in end-to-end tests.
 *
 * @module
 */
import { ok as assert } from "node:assert/strict";

/** The `<testcase>` of a step in the JUnit report, by the step's name. */
export function testcase(junit: string, name: string): string {
  const xml = name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&").replaceAll("'", "&apos;");
  const start = junit.search(new RegExp(`name="\\d+\\. ${xml}"`));
  assert(start >= 0, `no testcase "${name}" in\n${junit}`);
  const end = junit.indexOf("</testcase>", start);
  return junit.slice(start, end < 0 ? undefined : end).replaceAll("&lt;", "<").replaceAll("&gt;", ">")
    .replaceAll("&apos;", "'").replaceAll("&quot;", '"').replaceAll("&amp;", "&");
}
