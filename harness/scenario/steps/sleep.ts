/**
 * `sleep`: lets time pass (a lease TTL, a resync) between two steps.
 *
 * @module
 */
import { sleep as pause } from "../failed.ts";
import type { LabView } from "../lab_view.ts";
import type { Outcome, Step } from "../model.ts";
import type { ActionOf, Tries } from "./_kind.ts";

export function sleep(_lab: LabView, action: ActionOf<"sleep">, _step: Step, tries: Tries): Promise<Outcome> {
  return tries.once(async () => {
    await pause(action.ms);
    return { message: `slept ${action.ms} ms` };
  });
}
