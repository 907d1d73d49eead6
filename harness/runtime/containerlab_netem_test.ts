import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { netemSetArgs } from "./containerlab_netem.ts";

const target = { container: "clab-a-r1", node: "r1", iface: "eth2" };

Deno.test("containerlab: a delay goes to containerlab tools netem with jitter, loss and rate beside it", () => {
  assertEquals(
    netemSetArgs(target, { kind: "netem", delayMs: 20, jitterMs: 5, lossPct: 1, rateKbit: 1000 }),
    [
      "tools",
      "netem",
      "set",
      "-n",
      "clab-a-r1",
      "-i",
      "eth2",
      "--delay",
      "20ms",
      "--jitter",
      "5ms",
      "--loss",
      "1",
      "--rate",
      "1000",
    ],
  );
});

Deno.test("containerlab: loss or rate alone and other impairments are not netem's (the netns way does them)", () => {
  assertEquals(netemSetArgs(target, { kind: "netem", lossPct: 20 }), undefined);
  assertEquals(netemSetArgs(target, { kind: "netem", rateKbit: 1000 }), undefined);
  assertEquals(netemSetArgs(target, { kind: "reset" }), undefined);
  assertEquals(netemSetArgs(target, { kind: "down" }), undefined);
});
