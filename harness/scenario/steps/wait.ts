/**
 * `wait: agents-ready`: every running agent holds its lease, then each node gets its pods (the CNI plugin needs
 * subnet.env). An agent holds its lease when it has written subnet.env since it started (a file left by an
 * earlier process proves nothing) and the lease that file names is in etcd with the node's address. Agents a
 * step stopped are not waited for. Polls by design, so its attempts are not retries.
 *
 * @module
 */
import { expectKeys } from "../expectations.ts";
import { Failed } from "../failed.ts";
import type { LabView } from "../lab_view.ts";
import type { Outcome, Step } from "../model.ts";
import type { ActionOf, StepKind, Tries } from "./_kind.ts";

/** `wait: agents-ready`. */
export const wait: StepKind<"wait"> = {
  parse: (r, v, path) =>
    v === "agents-ready" ? { kind: "wait", what: "agents-ready" } : r.fail(path, `must be agents-ready`),
  describe: (a) => `wait ${a.what}`,
  expect: expectKeys(),
  run,
};

function run(lab: LabView, _action: ActionOf<"wait">, _step: Step, tries: Tries): Promise<Outcome> {
  return tries.until(async () => {
    const c = lab.cluster;
    const nodes = c.agentNodes.filter((n) => c.agentRunning(n.name));
    const subnets = new Map<string, string>();
    const missing: string[] = [];
    for (const n of nodes) {
      const subnet = (await c.subnetEnv(n.name))?.["FLANNEL_SUBNET"];
      const startedAt = c.agentStartedAt(n.name);
      const st = await Deno.stat(`${c.nodeDir(n.name)}/subnet.env`).catch(() => undefined);
      if (!subnet || (startedAt !== undefined && (st?.mtime?.getTime() ?? 0) < startedAt)) {
        missing.push(n.name);
      } else subnets.set(n.name, subnet);
    }
    if (missing.length) {
      throw new Failed(
        `no subnet.env written since the agent started on ${missing.join(", ")}: not holding a lease yet ` +
          `(see <node>/agent.log)`,
      );
    }
    const leases = await c.leases().catch((error) => {
      const last = (error as Error).message.trim().split("\n").pop();
      throw new Failed(`cannot read the leases from etcd at ${c.endpoint}: ${last}`);
    });
    // Only the running agents' own leases: a stale lease of a stopped node is the leases step's business.
    const { agents } = await lab.leaseProblems(leases);
    if (agents.length) throw new Failed(agents.join("; "));
    await Promise.all(nodes.map(async (n) => {
      const have = c.pods.filter((p) => p.node === n.name).length;
      if (have >= lab.scenario.podsPerNode) return;
      try {
        await c.addPods(n.name, lab.scenario.podsPerNode - have);
      } catch (error) {
        throw new Failed(`attaching pods on ${n.name} failed (retrying): ${(error as Error).message}`);
      }
    }));
    const held = nodes.map((n) => `${n.name}=${subnets.get(n.name)}`).join(" ");
    return { message: `${nodes.length} agents hold leases: ${held}; ${c.pods.length} pods attached` };
  });
}
