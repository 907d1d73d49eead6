/**
 * `sleep`: lets time pass (a lease TTL, a resync) between two steps.
 *
 * @module
 */
import { expectKeys } from "../expectations.ts";
import { sleep as pause } from "../failed.ts";
import type { LabView } from "../lab_view.ts";
import type { Outcome, Step } from "../model.ts";
import type { ActionOf, StepKind, Tries } from "./_kind.ts";

/** `sleep: <duration>`. */
export const sleep: StepKind<"sleep"> = {
  parse(r, v, path) {
    const ms = r.duration(v, path);
    return ms === undefined ? undefined : { kind: "sleep", ms };
  },
  describe: (a) => `sleep ${a.ms} ms`,
  expect: expectKeys(),
  run,
};

function run(_lab: LabView, action: ActionOf<"sleep">, _step: Step, tries: Tries): Promise<Outcome> {
  return tries.once(async () => {
    await pause(action.ms);
    return { message: `slept ${action.ms} ms` };
  });
}
