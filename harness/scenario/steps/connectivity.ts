/**
 * `connectivity: all-pods`: the reachability matrix, every pod and node to every pod, each cell's verdict
 * derived from the backend and the topology (`expect.ts`) unless the scenario overrides it.
 *
 * @module
 */
import { expectedReach } from "../expect.ts";
import { Failed } from "../failed.ts";
import type { LabView } from "../lab_view.ts";
import type { Outcome, Step } from "../model.ts";
import type { ActionOf, Tries } from "./_kind.ts";

export function connectivity(
  lab: LabView,
  action: ActionOf<"connectivity">,
  _step: Step,
  tries: Tries,
): Promise<Outcome> {
  return tries.until(async () => {
    const c = lab.cluster;
    const sources: string[] = [...c.pods.map((p) => p.id), ...c.agentNodes.map((n) => n.name)];
    const targets = c.pods;
    const nodeOf = (id: string) => lab.node(id.split("/")[0]!);
    const lines: string[] = [];
    const wrong: string[] = [];
    const width = Math.max(...sources.map((s) => s.length), 6);
    lines.push(`${"from\\to".padEnd(width)}  ${targets.map((t) => t.id.padEnd(8)).join(" ")}`);
    const reasons = new Set<string>();
    for (const s of sources) {
      const cells: string[] = [];
      for (const t of targets) {
        if (s === t.id) {
          cells.push("-".padEnd(8));
          continue;
        }
        const derived = expectedReach(lab.scenario, nodeOf(s), nodeOf(t.id));
        const key = `${s} -> ${t.id}`;
        const want = action.overrides[key] ?? derived.pass;
        if (!derived.pass) reasons.add(derived.why);
        const { ok } = await lab.ping({ from: s, to: t.id, count: 1, dontFragment: false });
        const cell = `${ok ? "ok" : "x"}${ok === want ? "" : want ? "(want ok)" : "(want x)"}`;
        if (ok !== want) wrong.push(key);
        cells.push(cell.padEnd(8));
      }
      lines.push(`${s.padEnd(width)}  ${cells.join(" ")}`);
    }
    for (const r of reasons) lines.push(`expected unreachable: ${r}`);
    const total = sources.length * targets.length - targets.length;
    if (wrong.length) {
      throw new Failed(
        `${wrong.length} of ${total} cells differ from the expectation: ${wrong.join(", ")}`,
        lines,
      );
    }
    return { message: `all ${total} cells as expected`, details: lines };
  });
}
