/**
 * `kernel`: a node holds exactly the routes, neighbours, FDB entries and device attributes its leases call for
 * (`checks/kernel_state.ts`), nothing missing, nothing stale.
 *
 * @module
 */
import { type Entry, formatDiff } from "../../checks/kernel_state.ts";
import { Failed } from "../failed.ts";
import { readKernelDiff } from "../kernel_readings.ts";
import type { LabView } from "../lab_view.ts";
import type { Outcome, Step } from "../model.ts";
import type { ActionOf, StepKind, Tries } from "./_kind.ts";

/** `kernel: {node}`, expecting `desired`. */
export const kernel: StepKind<"kernel"> = {
  parse(r, v, path) {
    const k = r.obj(v, path, ["node"], ["node"]);
    const node = k ? r.node(k["node"], [...path, "node"], "node") : undefined;
    return node ? { kind: "kernel", node } : undefined;
  },
  describe: (a) => `kernel state on ${a.node}`,
  expect: (r, v, path) =>
    v === "desired"
      ? { kernel: "desired" }
      : r.fail(path, `must be desired (the routes the leases call for)`),
  run,
};

function run(
  lab: LabView,
  { node }: ActionOf<"kernel">,
  _step: Step,
  tries: Tries,
): Promise<Outcome> {
  return tries.until(async () => {
    const { diff, expected, notes } = await readKernelDiff(lab, node);
    const lines = formatDiff(diff);
    if (lines.length) {
      throw new Failed(
        `${node}'s kernel state differs from what the leases call for: ${diff.missing.length} missing, ${diff.extra.length} extra, ${diff.different.length} different`,
        [...lines, ...notes.map((n) => `note: ${n}`)],
      );
    }
    const count = (k: Entry["kind"]) => expected.filter((x) => x.kind === k).length;
    return {
      message: `${node} holds exactly what the leases call for: ${count("route")} routes, ${
        count("neigh")
      } neighbours, ${count("fdb")} FDB entries${count("device") ? ", the vxlan device's attributes" : ""}`,
      details: [...expected.map((x) => `${x.kind} ${x.key} ${x.value}`), ...notes.map((n) => `note: ${n}`)],
    };
  });
}
