/**
 * `mirror`: two nodes' flannel kernel state are mirror images once each node's own values and its peer's are
 * masked (`checks/mirror.ts`): how our agent is held against upstream flanneld on the same leases.
 *
 * @module
 */
import { compareMirror, mirrorView } from "../../checks/mirror.ts";
import { Failed } from "../failed.ts";
import { readMirrorReadings } from "../kernel_readings.ts";
import { expectKeys } from "../expectations.ts";
import type { LabView } from "../lab_view.ts";
import type { Outcome, Step } from "../model.ts";
import type { ActionOf, StepKind, Tries } from "./_kind.ts";

/** `mirror: {nodes: [a, b]}`. */
export const mirror: StepKind<"mirror"> = {
  parse(r, v, path) {
    const m = r.obj(v, path, ["nodes"], ["nodes"]);
    if (!m) return undefined;
    const list = m["nodes"];
    if (!Array.isArray(list) || list.length !== 2) {
      return r.fail([...path, "nodes"], "needs exactly two agent nodes, e.g. [n1, n2]");
    }
    const a = r.node(list[0], [...path, "nodes", 0], "node");
    const b = r.node(list[1], [...path, "nodes", 1], "node");
    if (a && b && a === b) return r.fail([...path, "nodes"], "needs two different nodes");
    return a && b ? { kind: "mirror", a, b } : undefined;
  },
  describe: (a) => `kernel state on ${a.a} mirrors ${a.b}'s`,
  expect: expectKeys(),
  run,
};

function run(
  lab: LabView,
  { a, b }: ActionOf<"mirror">,
  _step: Step,
  tries: Tries,
): Promise<Outcome> {
  return tries.until(async () => {
    const values = await lab.nodeValues();
    const va = values.get(a);
    const vb = values.get(b);
    if (!va || !vb) throw new Failed(`no lease yet for ${!va ? a : b}`);
    const others = [...values].filter(([n]) => n !== a && n !== b).map(([, v]) => v);
    const [ra, rb] = await Promise.all([readMirrorReadings(lab, a), readMirrorReadings(lab, b)]);
    const ma = mirrorView(ra, va, vb, others, lab.network);
    const mb = mirrorView(rb, vb, va, others, lab.network);
    const lines = compareMirror(ma, mb, [a, b]);
    const who = (n: string) => `${n} (${lab.agentKind(n)})`;
    if (lines.length) {
      throw new Failed(
        `${who(a)} and ${
          who(b)
        } do not hold mirror images of each other's state: ${lines.length} differences`,
        lines,
      );
    }
    const dev = lab.flannelDevice;
    const attrs = Object.keys((ma.link as object[])[0] ?? {}).length;
    return {
      message: `${who(a)} and ${who(b)} mirror each other: ${
        dev ? `device ${dev} (${attrs} attributes equal), ` : ""
      }${ma.routes.length} routes, ${ma.neighs.length} neighbours, ${ma.fdbs.length} FDB entries`,
      details: [
        ...ma.routes.map((r) => `route ${r}`),
        ...ma.neighs.map((r) => `neigh ${r}`),
        ...ma.fdbs.map((r) => `fdb ${r}`),
      ],
    };
  });
}
