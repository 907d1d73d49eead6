/**
 * Removing what the agent owns on a node: for a running backend (its scope), and node-wide for
 * `flannel-lab agent --teardown`, which must work even when etcd is unreachable and the exact config unknown.
 *
 * @module
 */
import type { IpNet } from "../ip.ts";
import { AF_INET, AF_INET6, type Netlink, RTN_BLACKHOLE, RTPROT_KERNEL } from "../netlink/mod.ts";
import { applyChanges, type Change, isOwnedRoute, type OwnershipScope, scopeAf } from "./reconcile/mod.ts";
import { netContains, parseCidr } from "../ip.ts";

/**
 * Deletes every route in `scope` (one batch). Returns how many went.
 *
 * @example
 * ```ts ignore
 * await removeOwnedRoutes(nl, { extIndex: 2, networks: [parseCidr("10.244.0.0/16")] });
 * ```
 */
export async function removeOwnedRoutes(nl: Netlink, scope: OwnershipScope): Promise<number> {
  const routes = (await nl.route.list({ family: scopeAf(scope) })).filter((r) => isOwnedRoute(r, scope));
  const changes: Change[] = routes.map((entry) => ({ kind: "route", op: "del", entry }));
  return (await applyChanges(nl, changes)).removed;
}

/** What a node-wide teardown removed. */
export interface TeardownSummary {
  readonly devices: readonly string[];
  readonly routes: readonly string[];
}

/** Device names the agent creates: `flannel.<VNI>` (vxlan), `flannel-v6.<VNI>`, `flannel0` (udp TUN). */
export const OWNED_DEVICE = /^flannel(\.\d+|-v6\.\d+|\d+)$/;

/**
 * Removes, node-wide, every flannel device and every non-kernel route inside `networks` that goes through a
 * gateway or is a blackhole (host-gw, DirectRouting and `--ip-blackhole-route` routes; the pod bridge's own
 * kernel route stays). Routes on the flannel devices go with the devices.
 *
 * @param nl the connection (in the node's namespace)
 * @param networks the flannel Network(s), IPv4 and IPv6: from etcd, `--net-config`, or subnet.env
 * @example
 * ```ts ignore
 * const summary = await teardownNode(nl, [parseCidr("10.244.0.0/16")]);
 * ```
 */
export async function teardownNode(nl: Netlink, networks: readonly IpNet[]): Promise<TeardownSummary> {
  const devices: string[] = [];
  for (const link of await nl.link.list()) {
    if (!OWNED_DEVICE.test(link.name)) continue;
    if (link.kind !== undefined && link.kind !== "vxlan" && link.kind !== "tun") continue;
    await nl.link.delete(link.index).catch(() => {});
    devices.push(link.name);
  }
  const all = [...await nl.route.list({ family: AF_INET }), ...await nl.route.list({ family: AF_INET6 })];
  const routes = all.filter((r) => {
    if (r.protocol === RTPROT_KERNEL) return false;
    if (r.gateway === undefined && r.type !== RTN_BLACKHOLE) return false;
    const net = parseCidr(r.dst);
    return networks.some((n) =>
      n.addr.family === net.addr.family && net.prefixLen > n.prefixLen && netContains(n, net.addr)
    );
  });
  const changes: Change[] = routes.map((entry) => ({ kind: "route", op: "del", entry }));
  await applyChanges(nl, changes);
  return { devices, routes: routes.map((r) => `${r.dst}${r.gateway ? ` via ${r.gateway}` : " blackhole"}`) };
}
