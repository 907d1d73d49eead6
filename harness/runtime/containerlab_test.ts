import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { podOfCommand } from "./containerlab.ts";

Deno.test("containerlab: `ip netns exec` of one of the container's pods is recognised, nothing else", () => {
  const c = "clab-a-n1";
  assertEquals(
    podOfCommand(c, ["ip", "netns", "exec", "clab-a-n1-p1", "ping", "-c", "1", "x"]),
    "clab-a-n1-p1",
  );
  assertEquals(podOfCommand(c, ["ip", "netns", "exec", "clab-a-n1-p12", "true"]), "clab-a-n1-p12");
  // another node's pod, a namespace that is not a pod, and commands that enter no namespace
  assertEquals(podOfCommand(c, ["ip", "netns", "exec", "clab-a-n2-p1", "true"]), undefined);
  assertEquals(podOfCommand(c, ["ip", "netns", "exec", "clab-a-n1-px", "true"]), undefined);
  assertEquals(podOfCommand(c, ["ip", "netns", "exec"]), undefined);
  assertEquals(podOfCommand(c, ["ip", "-j", "route", "show"]), undefined);
});
