/**
 * `connectivity: all-pods`: the reachability matrix. Rows are every pod and every agent node; columns are every
 * pod, every agent node's own address and one address outside the cluster: the one a node labels
 * `flannel-lab.internet` (typically a router's loopback), else the etcd host; neither is a flannel node nor
 * routes the pod network, as the internet does not, so reaching it needs ip-masq. Each cell's verdict is derived
 * from the backend and the topology (`expect.ts`) unless the scenario overrides it (`"n1/p1 -> outside": fail`).
 * Node-to-node and node-to-outside cells are the underlay's business and are not probed.
 *
 * @module
 */
import { expectedReach, expectedReachHost } from "../expect.ts";
import { expectKeys } from "../expectations.ts";
import { Failed } from "../failed.ts";
import type { LabView } from "../lab_view.ts";
import type { ActionOf, ParseContext, StepKind, Tries } from "./_kind.ts";
import type { NodeSpec } from "../../topology/model.ts";
import type { Outcome, Step } from "../model.ts";
import type { Obj, Path, Reader } from "../reader.ts";

/** A column of the matrix. */
interface Target {
  /** How the scenario names it in overrides: a pod id, a node name, or `outside`. */
  readonly id: string;
  readonly ip: string;
  readonly kind: "pod" | "node" | "outside";
  /** The node it is on. */
  readonly node: NodeSpec;
}

/** Pods in name order (`n1/p2` before `n1/p10`), so the matrix reads the same on every run. */
function podsInOrder(lab: LabView) {
  return [...lab.cluster.pods].sort((a, b) => a.id.localeCompare(b.id, "en", { numeric: true }));
}

/** The `outside` column: the topology's stand-in for the internet, else the etcd host. */
function outside(lab: LabView): Target & { readonly what: string } {
  const internet = lab.cluster.topo.nodes.find((n) => n.internet !== undefined);
  if (internet) {
    return { id: "outside", ip: internet.internet!, kind: "outside", node: internet, what: "the internet" };
  }
  const etcd = lab.cluster.etcdNode;
  return {
    id: "outside",
    ip: etcd.etcdAddress!,
    kind: "outside",
    node: etcd,
    what: "a lab host that is not a flannel node",
  };
}

/** The matrix's columns: pods, then agent nodes' own addresses, then the outside host. */
function targets(lab: LabView): Target[] {
  const c = lab.cluster;
  return [
    ...podsInOrder(lab).map((p) => ({ id: p.id, ip: p.ip, kind: "pod" as const, node: lab.node(p.node) })),
    ...c.agentNodes.map((n) => ({ id: n.name, ip: lab.underlayIp(n.name), kind: "node" as const, node: n })),
    outside(lab),
  ];
}

/** The derived verdict of a cell, or undefined when the cell is not probed. */
function derived(lab: LabView, from: string, to: Target): { pass: boolean; why: string } | undefined {
  const pod = from.includes("/");
  const src = lab.node(from.split("/")[0]!);
  if (to.kind === "pod") return expectedReach(lab.scenario, src, to.node);
  if (!pod) return undefined;
  return expectedReachHost(lab.scenario, src, to.kind === "outside" ? "outside" : to.node);
}

/**
 * Reads `connectivity: all-pods` or `{scope: all-pods, override: {"<from> -> <to>": pass|fail}}`. A cell that
 * is not in the matrix would be an override that silently never applies, so each is checked to be one.
 */
function parse(
  r: Reader,
  v: unknown,
  p: Path,
  { podsPerNode }: ParseContext,
): ActionOf<"connectivity"> | undefined {
  if (v === "all-pods") return { kind: "connectivity", scope: "all-pods", overrides: {} };
  const c = r.obj(v, p, ["scope", "override"]);
  const overrides: Record<string, boolean> = {};
  for (const [cell, verdict] of Object.entries((c?.["override"] ?? {}) as Obj)) {
    const at = [...p, "override", cell];
    if (verdict !== "pass" && verdict !== "fail") r.fail(at, "must be pass or fail");
    const m = /^\s*(\S+)\s*->\s*(\S+)\s*$/.exec(cell);
    if (!m) {
      r.fail(
        at,
        `must name a cell as "<pod or node> -> <pod, node or outside>", like "n1/p1 -> n2/p1"`,
        true,
      );
      continue;
    }
    const from = r.endpoint(m[1], at, podsPerNode, true);
    const to = m[2] === "outside" ? "outside" : r.endpoint(m[2], at, podsPerNode, true);
    if (from && to && !from.includes("/") && !to.includes("/")) {
      r.fail(
        at,
        `the matrix probes only from pods to nodes and outside: "${cell}" is not one of its cells`,
        true,
      );
    }
    overrides[`${from} -> ${to}`] = verdict === "pass";
  }
  return c ? { kind: "connectivity", scope: "all-pods", overrides } : undefined;
}

/** `connectivity: all-pods`, with overrides of derived verdicts. */
export const connectivity: StepKind<"connectivity"> = {
  parse,
  describe: () => "connectivity matrix (all pods)",
  expect: expectKeys(),
  run,
};

function run(
  lab: LabView,
  action: ActionOf<"connectivity">,
  _step: Step,
  tries: Tries,
): Promise<Outcome> {
  return tries.until(async () => {
    const c = lab.cluster;
    const sources: string[] = [...podsInOrder(lab).map((p) => p.id), ...c.agentNodes.map((n) => n.name)];
    const cols = targets(lab);
    const lines: string[] = [];
    const wrong: string[] = [];
    const width = Math.max(...sources.map((s) => s.length), 7);
    const cellWidth = Math.max(8, ...cols.map((t) => t.id.length + 1));
    lines.push(`${"from\\to".padEnd(width)}  ${cols.map((t) => t.id.padEnd(cellWidth)).join(" ")}`);
    const reasons = new Set<string>();
    let probed = 0;
    const rows: { from: string; cells: ({ ok: boolean; want: boolean } | null)[] }[] = [];
    for (const s of sources) {
      const cells: string[] = [];
      const fig: ({ ok: boolean; want: boolean } | null)[] = [];
      rows.push({ from: s, cells: fig });
      for (const t of cols) {
        const verdict = s === t.id ? undefined : derived(lab, s, t);
        if (!verdict) {
          cells.push("-".padEnd(cellWidth));
          fig.push(null);
          continue;
        }
        probed++;
        const key = `${s} -> ${t.id}`;
        const want = action.overrides[key] ?? verdict.pass;
        if (!verdict.pass) reasons.add(verdict.why);
        const { ok } = await lab.pingAddress(s, t.ip, { count: 1, dontFragment: false });
        const cell = `${ok ? "ok" : "x"}${ok === want ? "" : want ? "(want ok)" : "(want x)"}`;
        if (ok !== want) wrong.push(key);
        cells.push(cell.padEnd(cellWidth));
        fig.push({ ok, want });
      }
      lines.push(`${s.padEnd(width)}  ${cells.join(" ")}`);
    }
    const out = outside(lab);
    lines.push(`outside: ${out.ip} on ${out.node.name}, ${out.what}`);
    for (const r of reasons) lines.push(`expected unreachable: ${r}`);
    const figures = { matrix: { cols: cols.map((t) => t.id), rows } };
    if (wrong.length) {
      throw new Failed(
        `${wrong.length} of ${probed} cells differ from the expectation: ${wrong.join(", ")}`,
        lines,
        { figures },
      );
    }
    return { message: `all ${probed} cells as expected`, details: lines, figures };
  });
}
