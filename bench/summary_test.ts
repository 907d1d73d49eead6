/** Pure tests of the benchmark summary: verdicts, the README splice, and what the chart draws. */
import assert from "node:assert/strict";
import { meets, README_END, README_START, spliceReadme, summaryMarkdown, summarySvg } from "./summary.ts";

const ROWS = [
  {
    bench: "agent",
    date: "2026-12-07T08:00:00Z",
    figure: "cold start <10k>",
    ratio: 0.24,
    baseline: "upstream",
    target: { op: "<=" as const, value: 0.5 },
  },
  {
    bench: "agent",
    date: "2026-12-07T08:00:00Z",
    figure: "peak RSS",
    ratio: 2.18,
    baseline: "upstream",
    target: { op: "<=" as const, value: 1.2 },
  },
  {
    bench: "udp",
    date: "2026-12-07T08:00:00Z",
    figure: "throughput",
    ratio: 3.97,
    baseline: "C proxy",
    target: { op: ">=" as const, value: 1 },
  },
  { bench: "cni", date: "2026-12-07T08:00:00Z", figure: "ADD p50", ratio: 3.8, baseline: "bridge" },
];

Deno.test("summary: a figure meets a target in the direction it names; none without one", () => {
  assert.deepEqual(ROWS.map(meets), [true, false, true, undefined]);
});

Deno.test("summary: the table marks misses, and the chart colours bars by verdict with escaped labels", () => {
  const md = summaryMarkdown(ROWS);
  assert.match(md, /\| peak RSS +\| \*\*2\.18×\*\* +\| upstream +\| <= 1\.2 ✗ missed +\|/);
  assert.match(md, /\| cold start <10k> \| \*\*0\.24×\*\* +\| upstream +\| <= 0\.5 ✓ +\|/);
  // Padded like deno fmt: every line as long as the header.
  const lengths = new Set(md.trim().split("\n").map((l) => [...l].length));
  assert.equal(lengths.size, 1, md);
  const svg = summarySvg(ROWS);
  assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  assert(svg.includes("cold start &lt;10k&gt; (vs upstream)") && !svg.includes("<10k>"));
  assert.equal((svg.match(/fill="#2e7d32"/g) ?? []).length, 4); // two bars and their values
  assert.equal((svg.match(/fill="#c62828"/g) ?? []).length, 2);
  assert.equal((svg.match(/fill="#78909c"/g) ?? []).length, 2);
  assert.equal((svg.match(/stroke-dasharray/g) ?? []).length, 3); // a target mark per targeted row
});

Deno.test("summary: the README splice replaces only what lies between the markers", () => {
  const readme = `# x\n${README_START}\nold table\n${README_END}\nrest\n`;
  const next = spliceReadme(readme, "| new |\n");
  assert.equal(next, `# x\n${README_START}\n\n| new |\n\n${README_END}\nrest\n`);
  assert.equal(spliceReadme(next, "| new |\n"), next, "idempotent");
  assert.equal(spliceReadme("no markers", "t"), "no markers");
});
