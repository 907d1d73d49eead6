/**
 * `ping`: one ping between two endpoints, expected to get through (retried until it does) or not (tried once:
 * waiting would only delay the verdict).
 *
 * @module
 */
import { Failed } from "../failed.ts";
import type { LabView } from "../lab_view.ts";
import type { Outcome, Step } from "../model.ts";
import type { ActionOf, StepKind, Tries } from "./_kind.ts";

/** `ping: {from, to, count, size, dont-fragment}`, expecting `success` (the default) or `failure`. */
export const ping: StepKind<"ping"> = {
  parse(r, v, path, { podsPerNode }) {
    const spec = r.ping(v, path, podsPerNode);
    return spec ? { kind: "ping", ping: spec } : undefined;
  },
  describe: ({ ping: p }) =>
    `ping ${p.from} -> ${p.to}${p.size !== undefined ? ` size ${p.size}` : ""}${p.dontFragment ? " DF" : ""}`,
  expect: (r, v, path) =>
    v === "success" || v === "failure"
      ? { success: v === "success" }
      : r.fail(path, `must be success or failure`),
  run,
};

function run(lab: LabView, action: ActionOf<"ping">, step: Step, tries: Tries): Promise<Outcome> {
  const want = step.expect.success ?? true;
  const check = async () => {
    const { ok, out } = await lab.ping(action.ping);
    const summary = out.split("\n").filter((l) => /packet|error|too long|unreachable/i.test(l)).join("; ");
    if (ok !== want) {
      const { from, to } = action.ping;
      throw new Failed(
        `${from} ${ok ? "reached" : "did not reach"} ${to}, expected ${
          want ? "success" : "failure"
        }: ${summary}`,
      );
    }
    return { message: `${ok ? "reached" : "did not reach"} ${action.ping.to} as expected: ${summary}` };
  };
  return want ? tries.until(check) : tries.once(check);
}
