/**
 * `network`: another network config written to etcd, and every running agent restarted to read it, as a user
 * applies a fix (`Backend.MTU`, `Backend.Port`). The keys given replace the scenario's top-level keys
 * (`Backend` as a whole). The backend type and VNI stay the scenario's, because the steps after it judge the
 * lab by them. The step waits until every restarted agent holds its lease again.
 *
 * @module
 */
import { networkFields } from "../network.ts";
import { type FaultKind, PROBE_EXPECT } from "./_kind.ts";

const KEYS = ["Network", "SubnetLen", "SubnetMin", "SubnetMax", "Backend"];

/** `network: { Backend: {...}, ... }`. */
export const network: FaultKind<"network"> = {
  trigger: "network",
  form: "network: {KEY: VALUE}",
  selects: () => true,
  keys: ["network"],
  parse(r, o, path) {
    if (!r.only(o, path, ["network"], "a network config change")) return undefined;
    const keys = r.obj(o["network"], [...path, "network"], KEYS);
    if (!keys) return undefined;
    const backend = keys["Backend"] as Record<string, unknown> | undefined;
    if (backend !== undefined && (typeof backend !== "object" || backend === null)) {
      return r.fail([...path, "network", "Backend"], "must be a mapping like { Type: vxlan, Port: 4790 }");
    }
    // The scenario's config is only known with the scenario; the merge and its checks happen when it runs.
    return { kind: "network", config: JSON.stringify(keys) };
  },
  describe: (f) => `network config ${f.config}, agents restarted`,
  what: () => "a network config change",
  expectKeys: PROBE_EXPECT,
  async inject(lab, f, mark) {
    const c = lab.cluster;
    const now = JSON.parse(c.network) as Record<string, unknown>;
    const change = JSON.parse(f.config) as Record<string, unknown>;
    const next = { ...now, ...change };
    // Read as the agent reads them (its defaults, its case folding), so a change only in spelling is none.
    const [was, will] = [networkFields(now), networkFields(next)];
    if (will.backend !== was.backend || will.vni !== was.vni) {
      throw new Error(`a network change keeps the backend type and VNI (${was.backend}, VNI ${was.vni})`);
    }
    await lab.reconfigure(next);
    mark(`network config ${JSON.stringify(next)}`);
    const running = [...c.agents.keys()];
    const started = Date.now();
    await Promise.all(running.map(async (node) => {
      const before = await lab.leaseOf(node);
      const since = Date.now();
      await c.stopAgent(node);
      await c.startAgent(node);
      await lab.restartedAgentReady(node, since, before, since + 60_000);
    }));
    mark(`agents on ${running.join(", ")} restarted with it`);
    return `network config is ${JSON.stringify(next)}; ${running.length} agents restarted and up in ${
      Date.now() - started
    } ms`;
  },
  revert: () => Promise.resolve(""),
};
