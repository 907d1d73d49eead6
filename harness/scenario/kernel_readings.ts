/**
 * Reading a node's flannel kernel state with `ip -j` / `bridge -j`, for the pure comparisons in
 * `checks/kernel_state.ts` (against what the leases call for) and `checks/mirror.ts` (against another node).
 *
 * @module
 */
import type { PeerReach } from "../../agent/backend/reconcile/mod.ts";
import { formatIp } from "../../agent/ip.ts";
import {
  diffState,
  type Entry,
  expectedState,
  leaseKeyOf,
  leasesFromKvs,
  observedState,
  reachFromRouteGet,
  type StateDiff,
} from "../checks/kernel_state.ts";
import type { KernelReadings } from "../checks/mirror.ts";
import { expectedPodMtu } from "./expect.ts";
import type { LabView } from "./lab_view.ts";

/** A node's kernel state against the leases: what they call for, what is there, and notes on the plan. */
export interface KernelState {
  readonly expected: readonly Entry[];
  readonly actual: readonly Entry[];
  readonly notes: readonly string[];
}

/** Runs a JSON-printing command on a node; a failed command reads as no rows (a device not there yet). */
async function rows<T = Record<string, unknown>>(lab: LabView, node: string, cmd: string[]): Promise<T[]> {
  const c = lab.cluster;
  const r = await c.runtime.exec(c.topo, node, cmd, { check: false, timeoutMs: 10_000 });
  if (r.code !== 0) return [];
  return JSON.parse(r.stdout.trim() || "[]") as T[];
}

/**
 * The agent-owned kernel state of a node (routes into the pod network, neighbours and FDB entries of the vxlan
 * device, the device itself) and the state the leases in etcd call for, computed by the agent's own pure plan
 * functions from the leases and the node's routes to each PublicIP.
 */
export async function readKernelState(lab: LabView, node: string): Promise<KernelState> {
  const c = lab.cluster;
  const sc = lab.scenario;
  const self = lab.node(node);
  const ext = self.agentIface!;
  const own = (await c.subnetEnv(node))?.["FLANNEL_SUBNET"];
  const leases = leasesFromKvs(await c.leaseKvs());
  const ips = [...new Set([...leases.values()].map((l) => formatIp(l.attrs.publicIp)))];
  const reach = new Map<string, PeerReach>();
  await Promise.all(ips.map(async (ip) => {
    reach.set(
      ip,
      reachFromRouteGet(await rows<{ dev?: string }>(lab, node, ["ip", "-j", "route", "get", ip]), ext),
    );
  }));
  const dev = `flannel.${sc.vni}`;
  const vxlan = sc.backend === "vxlan";
  const mtu = expectedPodMtu(c.topo, sc, self);
  const expected = expectedState({
    backend: sc.backend,
    vni: sc.vni,
    port: sc.port,
    directRouting: sc.directRouting,
    network: lab.network,
    ownKey: own ? leaseKeyOf(own) : "",
    extName: ext,
    leases,
    reach: (ip) => reach.get(ip),
    ...(vxlan && mtu !== undefined ? { deviceMtu: mtu } : {}),
  });
  const none = Promise.resolve([]);
  const [routes, neighs, fdbs, links] = await Promise.all([
    rows<{ dst: string }>(lab, node, ["ip", "-j", "-4", "route", "show"]),
    vxlan ? rows<{ dst: string }>(lab, node, ["ip", "-j", "-4", "neigh", "show", "dev", dev]) : none,
    vxlan ? rows<{ mac: string }>(lab, node, ["bridge", "-j", "fdb", "show", "dev", dev]) : none,
    vxlan ? rows<{ ifname: string }>(lab, node, ["ip", "-d", "-j", "link", "show", dev]) : none,
  ]);
  const actual = observedState({
    routes,
    neighs: neighs.map((r) => ({ dev, ...r })),
    fdbs: fdbs.map((r) => ({ dev, ...r })),
    ...(links[0] ? { device: links[0] } : {}),
  }, { network: lab.network, ...(own ? { ownSubnet: own } : {}), vni: sc.vni, extName: ext });
  return { expected: [...expected.entries], actual, notes: [...expected.notes] };
}

/** {@linkcode readKernelState} with the difference worked out. */
export async function readKernelDiff(
  lab: LabView,
  node: string,
): Promise<KernelState & { readonly diff: StateDiff }> {
  const state = await readKernelState(lab, node);
  return { ...state, diff: diffState(state.expected, state.actual) };
}

/** A node's device, addresses, main-table routes, neighbours and FDB, as `checks/mirror.ts` compares them. */
export async function readMirrorReadings(lab: LabView, node: string): Promise<KernelReadings> {
  const dev = lab.flannelDevice;
  const none = Promise.resolve([]);
  const [link, addrs, routes, neighs, fdbs] = await Promise.all([
    dev ? rows(lab, node, ["ip", "-d", "-j", "link", "show", dev]) : none,
    dev ? rows(lab, node, ["ip", "-4", "-j", "addr", "show", "dev", dev]) : none,
    rows(lab, node, ["ip", "-d", "-j", "route", "show", "table", "main"]),
    rows(lab, node, ["ip", "-d", "-j", "neigh", "show"]),
    dev && lab.scenario.backend === "vxlan"
      ? rows(lab, node, ["bridge", "-j", "-d", "fdb", "show", "dev", dev])
      : none,
  ]);
  return { link, addrs, routes, neighs, fdbs };
}
