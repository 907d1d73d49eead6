/**
 * A node's harness labels, resolved and checked (pure): its role (`flannel-lab.role`, default `client`, and
 * `switch` for bridge nodes), which agent a `node` runs and on which interface (`flannel-lab.iface`, its first
 * link by default; `auto` leaves the choice to the agent, which takes the default route's interface), the agent's
 * extra flags, the etcd node's address, and the one address that stands for the internet. What a role needs is
 * checked here too: a router must forward, an etcd node needs an address.
 *
 * @module
 */
import { netContains, parseCidrWithIp, parseIp } from "../../agent/ip.ts";
import { type AgentKind, LABELS, type NodeSpec, type Role, ROLES } from "./model.ts";
import type { Path, ResolveContext } from "./resolve_context.ts";
import { shellSplit } from "./shell_words.ts";

/** The fields of a {@linkcode NodeSpec} that follow from its labels. */
export type LabelFields = Pick<
  NodeSpec,
  "role" | "agent" | "agentIface" | "ifaceAuto" | "agentFlags" | "etcdAddress" | "internet"
>;

/** What the labels of one node are read against. */
export interface LabelInput {
  readonly name: string;
  /** Where the node is written. */
  readonly nodePath: Path;
  /** A `kind: bridge` node. */
  readonly bridge: boolean;
  /** The labels after inheritance. */
  readonly labels: Readonly<Record<string, string>>;
  /** Where a label is written (the nearest layer that sets it), for problems. */
  readonly labelPath: (key: string) => Path;
  /** The exec lines, split into words. */
  readonly exec: readonly (readonly string[])[];
  /** The addresses the exec lines add, by interface. */
  readonly addresses: Readonly<Record<string, readonly string[]>>;
  /** The node's link interfaces. */
  readonly interfaces: readonly string[];
  readonly sysctls: Readonly<Record<string, string>>;
}

/**
 * Resolves and checks a node's harness labels.
 *
 * @param ctx the resolution (problems go to it)
 * @param node the node's labels and what they are checked against
 * @returns the label fields, or `undefined` when the role itself is wrong (the node is left out)
 */
export function resolveLabels(ctx: ResolveContext, node: LabelInput): LabelFields | undefined {
  const { name, nodePath, bridge, labels, labelPath, exec, addresses, sysctls } = node;
  const fail = ctx.fail;
  for (const k of Object.keys(labels)) {
    if (k.startsWith("flannel-lab.") && !(Object.values(LABELS) as string[]).includes(k)) {
      fail(
        labelPath(k),
        `unknown label "${k}"; flannel-lab reads ${Object.values(LABELS).join(", ")}`,
        true,
      );
    }
  }
  const roleText = labels[LABELS.role] ?? (bridge ? "switch" : "client");
  if (!(ROLES as readonly string[]).includes(roleText)) {
    fail(labelPath(LABELS.role), `role "${roleText}" is not one of ${ROLES.join(", ")}`);
    return undefined;
  }
  if (bridge && roleText !== "switch") {
    fail(labelPath(LABELS.role), `bridge node "${name}" is a switch: its role cannot be ${roleText}`);
    return undefined;
  }
  const role = roleText as Role;
  const agentText = labels[LABELS.agent];
  let agent: AgentKind | undefined;
  if (role === "node") {
    agent = (agentText ?? "ours") as AgentKind;
    if (agent !== "ours" && agent !== "upstream") {
      fail(labelPath(LABELS.agent), `agent "${agentText}" is not one of ours, upstream`);
    }
  } else if (agentText !== undefined) {
    fail(
      labelPath(LABELS.agent),
      `only nodes with ${LABELS.role}: node run an agent (this one is ${role})`,
    );
  }
  const ifaces = node.interfaces;
  let agentIface: string | undefined;
  let agentFlags: string[] = [];
  let ifaceAuto = false;
  if (role === "node") {
    agentIface = labels[LABELS.iface] ?? ifaces[0];
    if (agentIface === "auto") {
      // No --iface: the agent picks the interface of the default route, as it does on a host nobody
      // configured (the multi-NIC trap). The harness reads that interface from the exec lines.
      ifaceAuto = true;
      agentIface = defaultRouteIface(exec, addresses);
      if (!agentIface) {
        fail(
          labelPath(LABELS.iface),
          `"auto" leaves the choice to the agent, which takes the default route's interface: add an exec ` +
            `line "ip route add default via GATEWAY dev ethN"`,
        );
      }
    } else if (!agentIface) fail(nodePath, `node "${name}" runs an agent but has no links`);
    else if (!ifaces.includes(agentIface)) {
      fail(
        labelPath(LABELS.iface),
        `interface "${agentIface}" is not one of ${name}'s links (${ifaces.join(", ")})`,
      );
    }
    try {
      agentFlags = shellSplit(labels[LABELS.agentFlags] ?? "");
    } catch (error) {
      fail(labelPath(LABELS.agentFlags), (error as Error).message);
    }
  }
  let etcdAddress: string | undefined;
  if (role === "etcd") {
    etcdAddress = labels[LABELS.etcdAddress] ?? Object.values(addresses).flat()[0]?.split("/")[0];
    if (!etcdAddress) {
      fail(
        nodePath,
        `etcd node "${name}" has no address: add an exec line "ip addr add ADDR/LEN dev ethN" or the label ` +
          `${LABELS.etcdAddress}`,
      );
    }
  }
  const internet = labels[LABELS.internet];
  if (internet !== undefined) {
    const configured = Object.values(addresses).flat().map((a) => a.split("/")[0]);
    if (role !== "router" && role !== "client") {
      fail(
        labelPath(LABELS.internet),
        `only a router or client can stand for the internet, not this ${role}`,
      );
    } else if (!configured.includes(internet)) {
      fail(
        labelPath(LABELS.internet),
        `"${internet}" is not an address ${name}'s exec lines add (${configured.join(", ") || "none"}): ` +
          `add "ip addr add ${internet}/32 dev lo"`,
      );
    }
  }
  if (role === "router" && sysctls["net.ipv4.ip_forward"] !== "1") {
    fail(nodePath, `router "${name}" does not forward: add sysctls: {net.ipv4.ip_forward: 1}`);
  }
  return {
    role,
    ...(agent ? { agent } : {}),
    ...(agentIface ? { agentIface } : {}),
    ...(ifaceAuto ? { ifaceAuto: true as const } : {}),
    agentFlags,
    ...(etcdAddress ? { etcdAddress } : {}),
    ...(internet !== undefined ? { internet } : {}),
  };
}

/**
 * The interface of the default route the exec lines add (`ip route add default via GW [dev IF]`): the named
 * one, else the one whose address covers the gateway.
 */
function defaultRouteIface(
  exec: readonly (readonly string[])[],
  addresses: Readonly<Record<string, readonly string[]>>,
): string | undefined {
  for (const w of exec) {
    if (w[0] !== "ip" || !["route", "r", "ro"].includes(w[1] ?? "") || w[2] !== "add" || w[3] !== "default") {
      continue;
    }
    const dev = w.indexOf("dev");
    if (dev > 0 && w[dev + 1]) return w[dev + 1];
    const via = w.indexOf("via");
    const gw = via > 0 ? w[via + 1] : undefined;
    if (!gw) continue;
    for (const [iface, cidrs] of Object.entries(addresses)) {
      if (cidrs.some((c) => sameSubnet(c, gw))) return iface;
    }
  }
  return undefined;
}

/** Whether an address is inside the subnet of `cidr` (an interface address with its length). */
function sameSubnet(cidr: string, addr: string): boolean {
  try {
    return netContains(parseCidrWithIp(cidr).net, parseIp(addr));
  } catch {
    return false;
  }
}
