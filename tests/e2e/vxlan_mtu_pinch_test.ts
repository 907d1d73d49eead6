import { match, ok as assert } from "node:assert/strict";
import { runTopology } from "../helpers/run_cli.ts";

Deno.test({
  name:
    "e2e: vxlan-mtu-pinch: the mtu step fails on the pinch, naming the narrow link and the MTU that fits; the capture sees fragments",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    // The scenario's own expectations hold (its mtu step is expected to fail, with the message it checks)...
    const r = await runTopology("vxlan-mtu-pinch");
    assert(r.code === 0, r.out);
    assert(r.junit.includes('failures="0"'), r.junit);
    // ...and the failure is the mtu step's, not a side effect: the message names both directions' hops.
    match(
      r.out,
      /failed as expected: the underlay n1 \(192\.168\.71\.1\) -> n2 \(192\.168\.72\.2\) carries at most 1400/,
    );
    match(
      r.out,
      /underlay n2 \(192\.168\.72\.2\) -> n1 \(192\.168\.71\.1\).*fragmentation-needed from r2 \(192\.168\.72\.254 on eth1\)/,
    );
    // The wire agrees: 3 pings of 1400 bytes become 1478-byte VXLAN packets, which the routers split in two on
    // the 1400-byte link, each way; 1300-byte pings (1378-byte VXLAN packets) cross it whole.
    const frags = /failed as expected: expected at most 0 IP fragments, saw (\d+)/.exec(r.out);
    assert(frags, r.out);
    assert(Number(frags[1]) >= 6, `3 pings across the pinch made only ${frags[1]} fragments`);
    match(
      r.out,
      /control, packets that fit the pinch cross it whole .*?: [^\n]*\b6 VXLAN packets[^\n]*0 IP fragments/,
    );
    // And what users feel: pod-to-pod TCP far below node-to-node, which a ratio expectation catches.
    const ratio = /failed as expected: throughput ratio ([\d.]+) is outside >= 0\.5/.exec(r.out);
    assert(ratio && Number(ratio[1]) < 0.5, r.out);
  },
});
