/**
 * Kernel features a scenario may need, probed once per process in a throwaway namespace, so a scenario that
 * cannot run here is refused before anything is deployed rather than halfway through its steps.
 *
 * @module
 */
import { UserError } from "../../cli/errors.ts";
import type { Scenario, Step } from "../scenario/model.ts";
import { run } from "../../cli/process/mod.ts";

let netem: Promise<boolean> | undefined;

/** Whether the kernel has the netem qdisc (delay, jitter); probed on a veth in a namespace of our own. */
export function kernelHasNetem(): Promise<boolean> {
  netem ??= (async () => {
    const ns = `flfeat-${Deno.pid}`;
    const ok = async (cmd: string[]) => (await run(cmd, { check: false, timeoutMs: 10_000 })).code === 0;
    if (!(await ok(["ip", "netns", "add", ns]))) return false;
    try {
      return await ok(["ip", "-n", ns, "link", "add", "v0", "type", "veth", "peer", "name", "v1"]) &&
        await ok([
          "ip",
          "netns",
          "exec",
          ns,
          "tc",
          "qdisc",
          "add",
          "dev",
          "v0",
          "root",
          "netem",
          "delay",
          "1ms",
        ]);
    } finally {
      await ok(["ip", "netns", "del", ns]);
    }
  })();
  return netem;
}

/** The steps that need netem: link impairments with a delay or jitter (loss and rate work without it). */
export function stepsNeedingNetem(sc: Scenario): Step[] {
  return sc.steps.filter((s) =>
    s.action.kind === "fault" && s.action.fault.kind === "netem" &&
    (s.action.fault.delayMs !== undefined || s.action.fault.jitterMs !== undefined)
  );
}

/** Throws a {@linkcode UserError} naming each step this kernel cannot run. */
export async function refuseUnsupportedSteps(sc: Scenario): Promise<void> {
  const needNetem = stepsNeedingNetem(sc);
  if (needNetem.length === 0 || await kernelHasNetem()) return;
  const where = needNetem.map((s) => `${sc.file}:${s.line ?? "?"} (step ${s.index}, ${s.name})`);
  throw new UserError(
    `This kernel has no netem qdisc (CONFIG_NET_SCH_NETEM), so delay and jitter cannot be emulated: ${
      where.join("; ")
    }`,
    {
      hint: "remove those steps or use loss/rate impairments (they work without netem); " +
        "`flannel-lab doctor` lists what this kernel supports",
    },
  );
}
