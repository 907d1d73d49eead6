/**
 * `wait: agents-ready`: every running agent has written subnet.env, then each node gets its pods (the CNI
 * plugin needs subnet.env). Polls by design, so its attempts are not retries.
 *
 * @module
 */
import { Failed } from "../failed.ts";
import type { LabView } from "../lab_view.ts";
import type { Outcome, Step } from "../model.ts";
import type { ActionOf, Tries } from "./_kind.ts";

export function wait(lab: LabView, _action: ActionOf<"wait">, _step: Step, tries: Tries): Promise<Outcome> {
  return tries.until(async () => {
    const c = lab.cluster;
    const nodes = c.agentNodes.filter((n) => c.agentRunning(n.name));
    const subnets = new Map<string, string>();
    const missing: string[] = [];
    for (const n of nodes) {
      const env = await c.subnetEnv(n.name);
      if (!env?.["FLANNEL_SUBNET"]) missing.push(n.name);
      else subnets.set(n.name, env["FLANNEL_SUBNET"]);
    }
    if (missing.length) throw new Failed(`no subnet.env yet on ${missing.join(", ")}`);
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
