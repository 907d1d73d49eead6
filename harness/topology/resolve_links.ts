/**
 * A topology's links, resolved (pure): both of containerlab's forms (brief `"node:iface"` endpoints and the
 * extended `type: veth` form with MACs) into one {@linkcode Link} with containerlab's default MTU, and the
 * interfaces each node gets from them. Refused with file, line and field: other link types, endpoints outside
 * the lab (`host:`, `mgmt-net:`, `macvlan:`), `eth0`, names that are not Linux interface names, an interface
 * used twice, addresses on links (containerlab does not apply them to linux nodes either), bad MTUs.
 *
 * @module
 */
import type { Endpoint, Link } from "./model.ts";
import { type Obj, type ResolveContext, str } from "./resolve_context.ts";
import { formatPath } from "./source.ts";

/** containerlab's default link MTU (constants/containerlab.go). */
export const DEFAULT_LINK_MTU = 9500;

/** The links and, for every node (also those without links), its link interfaces in the order written. */
export interface ResolvedLinks {
  readonly links: Link[];
  readonly interfaces: ReadonlyMap<string, readonly string[]>;
}

/**
 * Resolves `topology.links`.
 *
 * @param ctx the resolution (problems go to it)
 * @param topology the raw links and the raw nodes they connect
 * @returns the valid links and each node's interfaces
 */
export function resolveLinks(
  ctx: ResolveContext,
  topology: { readonly rawLinks: readonly Obj[]; readonly rawNodes: Readonly<Record<string, unknown>> },
): ResolvedLinks {
  const { rawLinks, rawNodes } = topology;
  const fail = ctx.fail;
  const interfaces = new Map<string, string[]>();
  for (const name of Object.keys(rawNodes)) interfaces.set(name, []);
  const links: Link[] = [];
  const used = new Map<string, string>();
  for (const [i, raw] of rawLinks.entries()) {
    const path = ["topology", "links", i];
    const type = raw["type"] === undefined ? undefined : str(raw["type"]);
    if (type !== undefined && type !== "veth") {
      fail([...path, "type"], `link type "${type}" is not supported by the netns runtime: use veth links`);
      continue;
    }
    for (const key of ["ipv4", "ipv6"]) {
      if (key in raw) {
        fail(
          [...path, key],
          `"${key}" on a link is not applied to linux nodes (by containerlab either): add addresses with exec`,
          true,
        );
      }
    }
    if ("vars" in raw) {
      fail([...path, "vars"], `link "vars" need containerlab templates, which are not supported`, true);
    }
    const ends: Endpoint[] = [];
    const rawEnds = (raw["endpoints"] ?? []) as unknown[];
    if (rawEnds.length !== 2) {
      fail([...path, "endpoints"], `a veth link needs exactly two endpoints, not ${rawEnds.length}`);
      continue;
    }
    for (const [j, e] of rawEnds.entries()) {
      const ep = [...path, "endpoints", j];
      let node: string;
      let iface: string;
      let mac: string | undefined;
      if (type === undefined) {
        const m = /^([^:\s]+):(\S+)$/.exec(str(e));
        if (!m) {
          fail(ep, `endpoint ${JSON.stringify(e)} must be "node:interface"`);
          continue;
        }
        [node, iface] = [m[1]!, m[2]!];
        if (["host", "mgmt-net", "macvlan"].includes(node) && !(node in rawNodes)) {
          fail(ep, `"${node}:" endpoints reach outside the lab, which the netns runtime never does`);
          continue;
        }
      } else {
        const o = e as Obj;
        if (o["node"] === undefined || o["interface"] === undefined) {
          fail(ep, `an endpoint needs "node" and "interface"`);
          continue;
        }
        node = str(o["node"]);
        iface = str(o["interface"]);
        if (o["mac"] !== undefined) mac = str(o["mac"]).replaceAll("-", ":").toLowerCase();
        for (const key of ["ipv4", "ipv6", "vars"]) {
          if (key in o) {
            fail([...ep, key], `"${key}" on an endpoint is not applied to linux nodes: use exec`, true);
          }
        }
      }
      if (!(node in rawNodes)) {
        fail(ep, `node "${node}" is not defined in topology.nodes`);
        continue;
      }
      if (iface === "eth0") {
        fail(ep, `"eth0" is containerlab's management interface: name lab links eth1, eth2, …`);
        continue;
      }
      if (iface.length > 15 || !/^[A-Za-z0-9_.-]+$/.test(iface)) {
        fail(
          ep,
          `interface name "${iface}" is not a valid Linux interface name (at most 15 of [A-Za-z0-9_.-])`,
        );
        continue;
      }
      const id = `${node}:${iface}`;
      const prev = used.get(id);
      if (prev) {
        fail(ep, `interface "${id}" is already used by ${prev}`);
        continue;
      }
      used.set(id, formatPath(ep));
      interfaces.get(node)!.push(iface);
      ends.push(mac ? { node, iface, mac } : { node, iface });
    }
    if (ends.length !== 2) continue;
    const mtu = raw["mtu"] === undefined ? DEFAULT_LINK_MTU : Number(raw["mtu"]);
    if (!Number.isInteger(mtu) || mtu < 68) {
      fail([...path, "mtu"], `MTU must be a whole number ≥ 68, not ${mtu}`);
    }
    links.push({
      a: ends[0]!,
      b: ends[1]!,
      mtu,
      label: `${ends[0]!.node}:${ends[0]!.iface} <-> ${ends[1]!.node}:${ends[1]!.iface}`,
    });
  }
  return { links, interfaces };
}
