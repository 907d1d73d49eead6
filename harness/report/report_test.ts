import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { htmlReport } from "./html.ts";
import { rerunSelection, stepRates, type StoredResults, type StoredStep } from "./results.ts";

function step(index: number, kind: string, status: StoredStep["status"], attempts = 1): StoredStep {
  return {
    index,
    name: `step ${index} <${kind}>`,
    kind,
    status,
    attempts,
    durationMs: 100,
    message: status === "fail" ? "it broke" : "fine",
    details: status === "fail" ? ["missing:   route 10.244.2.0/24 via 10.244.2.0 dev flannel.1 onlink"] : [],
    artifacts: kind === "capture" ? ["captures/step3-sw-eth2.pcap"] : [],
    metrics: kind === "fault" ? { recoveryMs: 120 } : {},
    timeline: kind === "fault"
      ? [{ t: 1000, what: "etcd stopped" }, { t: 6000, what: "etcd started again" }]
      : [],
    startedAt: 0,
  };
}

const results: StoredResults = {
  lab: "x",
  topology: "/t/x.clab.yml",
  scenario: "/t/x.scenario.yml",
  description: "d",
  runtime: "netns",
  labDir: "/tmp/clab-x",
  runs: [
    {
      run: 1,
      ok: false,
      startedAt: 0,
      timings: { totalMs: 1000 },
      steps: [
        step(1, "wait", "pass", 3),
        step(2, "fault", "pass"),
        step(3, "capture", "pass"),
        step(4, "kernel", "fail"),
        step(5, "ping", "pass", 3),
      ],
    },
    {
      run: 2,
      ok: true,
      startedAt: 0,
      timings: { totalMs: 1000 },
      steps: [
        step(1, "wait", "pass"),
        step(2, "fault", "pass"),
        step(3, "capture", "pass"),
        step(4, "kernel", "pass", 2),
        step(5, "ping", "pass"),
      ],
    },
  ],
};

Deno.test("pass rates keep passes after retries apart from clean passes", () => {
  const rates = stepRates(results.runs);
  // The wait polled 3 times by design: recorded, not flagged. The ping needed 3 attempts: flagged.
  assertEquals(rates.map((r) => [r.index, r.passed, r.passedAfterRetries, r.failed]), [
    [1, 2, 0, 0],
    [2, 2, 0, 0],
    [3, 2, 0, 0],
    [4, 1, 1, 1],
    [5, 2, 1, 0],
  ]);
  assertEquals(results.runs[0]!.steps[0]!.attempts, 3);
});

Deno.test("--rerun-failed selects the failed steps and the waits and faults before them", () => {
  assertEquals([...rerunSelection(results)].sort(), [1, 2, 4]);
  assertEquals(rerunSelection({ ...results, runs: [results.runs[1]!] }).size, 0);
});

Deno.test("the HTML report is self-contained and shows rates, diffs, links and timelines", () => {
  const html = htmlReport(results);
  assert(html.startsWith("<!doctype html>"));
  assert(!/<script|<link |src="http/.test(html), "no external assets");
  assert(html.includes("1/2 runs passed"));
  assert(html.includes("pass after 2 retries") && html.includes("pass after 1 retry"));
  assert(html.includes('<span class="missing">missing:'));
  assert(html.includes('<a href="captures/step3-sw-eth2.pcap">'));
  assert(html.includes("+5000 ms") && html.includes("etcd started again"));
  assert(html.includes("step 4 &lt;kernel&gt;"), "names are escaped");
});
