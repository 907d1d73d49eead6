/**
 * Leases as the harness reads them back from etcd (`etcdctl get --prefix <prefix>/subnets/ -w json`), and the
 * rewrites a scenario makes to them. Pure: etcdctl's JSON in, views out; the cluster runs etcdctl.
 *
 * @module
 */
import { decodeLeaseAttrs, parseLeaseKey } from "../agent/subnet/lease_codec.ts";
import type { LeaseAttrs, LeaseSubnets } from "../agent/subnet/lease.ts";
import { formatCidr, formatIp, parseCidr } from "../agent/ip.ts";

/** A lease as read back from etcd. */
export interface LeaseView {
  readonly key: string;
  readonly subnet: string;
  readonly publicIp: string;
  readonly attrs: LeaseAttrs;
  readonly ttl?: number;
  /** The key's etcd mod revision: it changes whenever an agent (re)writes its lease. */
  readonly modRevision: number;
}

interface GetJson {
  kvs?: { key: string; value: string; lease?: number | string; mod_revision?: number }[];
}

/** The etcdctl arguments that list the leases under `etcdPrefix` (as JSON, keys and values in base64). */
export function listLeasesArgs(etcdPrefix: string): string[] {
  return ["get", "--prefix", `${etcdPrefix}/subnets/`, "-w", "json"];
}

/**
 * The raw lease keys and JSON values of a listing (for the agent's own decoders).
 *
 * @param stdout etcdctl's output for {@linkcode listLeasesArgs}
 * @returns keys and values, decoded from base64
 */
export function parseLeaseKvs(stdout: string): { key: string; value: string }[] {
  return ((JSON.parse(stdout) as GetJson).kvs ?? []).map((kv) => ({
    key: atob(kv.key),
    value: atob(kv.value),
  }));
}

/**
 * The leases of a listing; keys that name no IPv4 subnet are left out.
 *
 * @param stdout etcdctl's output for {@linkcode listLeasesArgs}
 * @returns the leases
 * @example
 * ```ts
 * import { parseLeaseViews } from "./lease_view.ts";
 * const kv = {
 *   key: btoa("/coreos.com/network/subnets/10.244.7.0-24"),
 *   value: btoa('{"PublicIP":"192.168.77.1","BackendType":"host-gw"}'),
 *   mod_revision: 5,
 * };
 * const [lease] = parseLeaseViews(JSON.stringify({ kvs: [kv] }));
 * if (lease?.subnet !== "10.244.7.0/24" || lease.publicIp !== "192.168.77.1") throw new Error("wrong lease");
 * ```
 */
export function parseLeaseViews(stdout: string): LeaseView[] {
  const out: LeaseView[] = [];
  for (const kv of (JSON.parse(stdout) as GetJson).kvs ?? []) {
    const key = atob(kv.key);
    const subnets = parseLeaseKey(key.slice(key.lastIndexOf("/") + 1)) as LeaseSubnets | undefined;
    if (!subnets?.subnet) continue;
    const attrs = decodeLeaseAttrs(atob(kv.value));
    out.push({
      key,
      subnet: formatCidr(subnets.subnet),
      publicIp: formatIp(attrs.publicIp),
      attrs,
      modRevision: Number(kv.mod_revision ?? 0),
    });
  }
  return out;
}

/**
 * The etcd key of the lease a subnet.env's FLANNEL_SUBNET names.
 *
 * @param etcdPrefix the network's key prefix
 * @param flannelSubnet e.g. `10.244.7.1/24`
 * @returns e.g. `/coreos.com/network/subnets/10.244.7.0-24`
 */
export function leaseKeyOf(etcdPrefix: string, flannelSubnet: string): string {
  return `${etcdPrefix}/subnets/${formatCidr(parseCidr(flannelSubnet)).replace("/", "-")}`;
}

/**
 * A lease value given to another host: `PublicIP` replaced and, for vxlan, a VTEP MAC of its own, as when the
 * node's lease expired while it was down and a new node took the subnet.
 *
 * @param value the lease's JSON value (empty when there is none)
 * @param publicIp the new holder's address
 * @returns the new JSON value
 */
export function takenLeaseValue(value: string, publicIp: string): string {
  const old = value.trim() ? JSON.parse(value) as Record<string, unknown> : {};
  const data = old["BackendData"] as Record<string, unknown> | null | undefined;
  return JSON.stringify({
    ...old,
    PublicIP: publicIp,
    ...(data && "VtepMAC" in data ? { BackendData: { ...data, VtepMAC: "02:00:c0:00:02:01" } } : {}),
  });
}
