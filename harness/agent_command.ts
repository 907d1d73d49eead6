/**
 * The agents' command lines, shared by the lab cluster (`cluster.ts`) and the test labs
 * (`tests/helpers/mini_lab.ts`): the flags that connect an agent to etcd (flanneld's names, so ours and upstream
 * flanneld take the same ones) and the `deno run` line that starts ours. Pure.
 *
 * @module
 */
import { agentV8FlagsArg } from "../agent/v8_flags.ts";
import type { NodeSpec } from "./topology/model.ts";

const MOD = new URL("../mod.ts", import.meta.url);

/** What connects an agent to etcd and where it writes subnet.env. */
export interface AgentConnection {
  readonly endpoint: string;
  readonly etcdPrefix: string;
  /** The underlay interface; without it the agent picks the default route's. */
  readonly iface?: string;
  readonly subnetFile: string;
}

/**
 * `--etcd-endpoints --etcd-prefix [--iface] --subnet-file`, as flanneld spells them.
 *
 * @param c endpoint, prefix, interface and subnet file
 * @returns the flags
 * @example
 * ```ts
 * import { agentConnectionFlags } from "./agent_command.ts";
 * const flags = agentConnectionFlags({
 *   endpoint: "http://192.168.77.250:2379",
 *   etcdPrefix: "/coreos.com/network",
 *   iface: "eth1",
 *   subnetFile: "/tmp/n1/subnet.env",
 * });
 * if (flags.length !== 4 || flags[2] !== "--iface=eth1") throw new Error(flags.join(" "));
 * ```
 */
export function agentConnectionFlags(c: AgentConnection): string[] {
  return [
    `--etcd-endpoints=${c.endpoint}`,
    `--etcd-prefix=${c.etcdPrefix}`,
    ...(c.iface === undefined ? [] : [`--iface=${c.iface}`]),
    `--subnet-file=${c.subnetFile}`,
  ];
}

/**
 * The flags a topology node's agent runs with: the connection (no `--iface` for `flannel-lab.iface: auto`),
 * `--ip-masq` unless the node's own flags mention it, then the node's `flannel-lab.agent-flags`.
 *
 * @param spec the node
 * @param c endpoint, prefix and subnet file
 * @returns the flags
 */
export function nodeAgentFlags(spec: NodeSpec, c: Omit<AgentConnection, "iface">): string[] {
  // Both agents take the same flags (ours uses flanneld's names): as kube-flannel's manifest runs them, with
  // --ip-masq the agent masquerades only traffic leaving the pod network, and the CNI plugin tells the bridge
  // not to masquerade. Without it the bridge masquerades pod-to-pod traffic across nodes too.
  return [
    ...agentConnectionFlags({
      ...c,
      ...(spec.ifaceAuto || !spec.agentIface ? {} : { iface: spec.agentIface }),
    }),
    ...(spec.agentFlags.some((f) => /^--?ip-masq(=|$)/.test(f)) ? [] : ["--ip-masq"]),
    ...spec.agentFlags,
  ];
}

/**
 * The command line that runs our agent (`mod.ts agent`) with the agent's V8 flags, and without deno.json:
 * the agent imports no npm package, and reading the config makes Deno resolve the project's npm graph at every
 * start (2–3 MiB of resident memory per agent, measured with the agent bench).
 *
 * @param flags the agent's flags
 * @returns the argument array
 */
export function ourAgentCommand(flags: readonly string[]): string[] {
  return [
    Deno.execPath(),
    "run",
    "--quiet",
    "--allow-all",
    "--unstable-net",
    "--no-check",
    "--no-config",
    agentV8FlagsArg(),
    decodeURIComponent(MOD.pathname),
    "agent",
    ...flags,
  ];
}
