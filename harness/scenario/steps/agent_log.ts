/**
 * `agent-log`: a node's agent log has a line matching a pattern. Only what the agent wrote during this step
 * counts unless `since: start`: a line from before a restart must not satisfy a step about the new process.
 *
 * @module
 */
import { expectKeys } from "../expectations.ts";
import { Failed } from "../failed.ts";
import type { LabView } from "../lab_view.ts";
import type { Outcome, Step } from "../model.ts";
import type { ActionOf, StepKind, Tries } from "./_kind.ts";

/** `agent-log: {node, matches, since: step|start}`. */
export const agentLog: StepKind<"agent-log"> = {
  parse(r, v, path) {
    const a = r.obj(v, path, ["node", "matches", "since"], ["node", "matches"]);
    const since = a?.["since"] ?? "step";
    if (since !== "step" && since !== "start") r.fail([...path, "since"], "must be step or start");
    const node = a ? r.node(a["node"], [...path, "node"], "node") : undefined;
    try {
      if (a) new RegExp(String(a["matches"]));
    } catch (error) {
      r.fail([...path, "matches"], `not a valid regular expression: ${(error as Error).message}`);
    }
    return node && a && (since === "step" || since === "start")
      ? { kind: "agent-log", node, pattern: String(a["matches"]), since }
      : undefined;
  },
  describe: (a) => `${a.node}'s agent log matches /${a.pattern}/`,
  expect: expectKeys(),
  run,
};

async function run(
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
