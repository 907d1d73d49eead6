/**
 * `leases`: what etcd holds: the count, distinct subnets and PublicIPs, each running agent's subnet.env backed
 * by its own lease, every lease held by a node of the lab, and (`same-form`) every lease value of one form whichever agent wrote it.
 *
 * @module
 */
import { maskLease } from "../../checks/mirror.ts";
import { expectKeys } from "../expectations.ts";
import { Failed } from "../failed.ts";
import type { LabView } from "../lab_view.ts";
import type { Outcome, Step } from "../model.ts";
import type { ActionOf, StepKind, Tries } from "./_kind.ts";

/**
 * `leases: {}`, expecting a `count`, `distinct` subnets and addresses, `foreign` leases held by hosts outside
 * the lab (a stand-in given a node's subnet), and leases of the `same-form`.
 */
export const leases: StepKind<"leases"> = {
  // The value says nothing (`{}` by convention): what is checked is in `expect:`.
  parse: () => ({ kind: "leases" }),
  describe: () => "leases in etcd",
  expect: expectKeys("count", "distinct", "foreign", "same-form"),
  run,
};

function run(
  lab: LabView,
  _action: ActionOf<"leases">,
  step: Step,
  tries: Tries,
): Promise<Outcome> {
  return tries.until(async () => {
    const e = step.expect;
    const c = lab.cluster;
    const all = await c.leases();
    const subnets = all.map((l) => l.subnet);
    if (e.count !== undefined && all.length !== e.count) {
      throw new Failed(`expected ${e.count} leases, found ${all.length}: ${subnets.join(", ")}`);
    }
    if ((e.distinct ?? true) && new Set(subnets).size !== subnets.length) {
      throw new Failed(`two leases share a subnet: ${subnets.join(", ")}`);
    }
    const ips = all.map((l) => l.publicIp);
    if ((e.distinct ?? true) && new Set(ips).size !== ips.length) {
      throw new Failed(`two leases share a PublicIP: ${ips.join(", ")}`);
    }
    const { agents, strangers } = await lab.leaseProblems(all);
    // A scenario that hands a subnet to a stand-in host (lease-take) says how many such leases it expects.
    const foreign = e.foreign ?? 0;
    const problems = [...agents, ...(strangers.length === foreign ? [] : strangers)];
    if (strangers.length !== foreign && !strangers.length) {
      problems.push(`expected ${foreign} leases held by hosts outside the lab, found none`);
    }
    if (problems.length) throw new Failed(problems.join("; "));
    const details: string[] = [];
    let form = "";
    if (e.sameForm) {
      // Every lease value, with its node's own subnet, address and VTEP MAC masked, must be the same text (key
      // order and JSON types included): what an agent of one kind writes, one of the other kind writes too.
      const values = await lab.nodeValues();
      const kvs = await c.leaseKvs();
      const forms = new Map<string, string[]>();
      for (const [node, v] of values) {
        const kv = kvs.find((x) => x.key.endsWith(`/${v.subnet.replace("/", "-")}`));
        if (!kv) continue;
        const who = `${node} (${lab.agentKind(node)})`;
        const masked = maskLease(kv.value, v);
        forms.set(masked, [...(forms.get(masked) ?? []), who]);
        details.push(`${who}: ${kv.value}`);
      }
      if (forms.size > 1) {
        throw new Failed(
          `the lease values differ in form: ${forms.size} forms`,
          [...forms].map(([f, nodes]) => `${nodes.join(", ")}: ${f}`),
        );
      }
      form = `; every value has the form ${[...forms.keys()][0] ?? "(none)"}`;
    }
    return {
      message: `${all.length} leases, distinct, each agent's subnet.env backed by its lease: ${
        all.map((l) => `${l.subnet}@${l.publicIp}`).join(", ")
      }${form}`,
      details,
    };
  });
}
