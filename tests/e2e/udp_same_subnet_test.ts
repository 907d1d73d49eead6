import { ok as assert } from "node:assert/strict";
import { runTopology } from "../helpers/run_cli.ts";

Deno.test({
  name: "e2e: udp-same-subnet passes its scenario through the netns runtime and leaves nothing behind",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const r = await runTopology("udp-same-subnet");
    assert(r.code === 0, r.out);
    assert(r.junit.includes('failures="0"'), r.junit);
    assert(
      r.html.includes("<!doctype html>") && !r.html.includes('class="tag fail"'),
      "report.html kept, no failure",
    );
  },
});
