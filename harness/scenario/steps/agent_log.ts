/**
 * `agent-log`: a node's agent log has a line matching a pattern. Only what the agent wrote during this step
 * counts unless `since: start`: a line from before a restart must not satisfy a step about the new process.
 *
 * @module
 */
import { Failed } from "../failed.ts";
import type { LabView } from "../lab_view.ts";
import type { Outcome, Step } from "../model.ts";
import type { ActionOf, Tries } from "./_kind.ts";

export async function agentLog(
  lab: LabView,
  action: ActionOf<"agent-log">,
  _step: Step,
  tries: Tries,
): Promise<Outcome> {
  const c = lab.cluster;
  const start = action.since === "start" ? 0 : (await c.agentLog(action.node)).length;
  return tries.until(async () => {
    const all = await c.agentLog(action.node);
    const log = all.length >= start ? all.slice(start) : all; // a log rewritten since: read it whole
    const m = new RegExp(action.pattern).exec(log);
    if (!m) {
      throw new Failed(
        `${action.node}'s agent log has no line matching /${action.pattern}/ ${
          action.since === "start" ? "since the agent started" : "written during this step"
        }`,
      );
    }
    const line = log.slice(log.lastIndexOf("\n", m.index) + 1).split("\n")[0] ?? "";
    return { message: `found: ${line.slice(0, 300)}` };
  });
}
