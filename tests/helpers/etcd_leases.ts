/**
 * Synthetic vxlan leases written straight to etcd, in transactions through its v3 JSON gateway: how tests and
 * benchmarks put thousands of peers in front of an agent (ours or upstream) without running thousands of agents.
 *
 * @module
 */
import assert from "node:assert/strict";
import type { MiniLab } from "./mini_lab.ts";

const b64 = (s: string) => btoa(s);

/**
 * The i-th synthetic peer under `prefix`: subnet `10.(1+i/256).(i%256).0/24`, a public IP in 100.64.0.0/10 and a
 * unique VTEP MAC, VNI 1 (so it fits the network `10.0.0.0/8`, SubnetLen 24).
 */
export function syntheticPeer(prefix: string, i: number): { key: string; value: string } {
  const subnet = `10.${1 + (i >> 8)}.${i & 255}.0`;
  const ip = i + 1;
  const publicIp = `100.${64 + (ip >> 16)}.${(ip >> 8) & 255}.${ip & 255}`;
  const hex = (n: number) => n.toString(16).padStart(2, "0");
  const mac = `02:00:00:00:${hex(i >> 8)}:${hex(i & 255)}`;
  return {
    key: `${prefix}/subnets/${subnet}-24`,
    value: JSON.stringify({
      PublicIP: publicIp,
      PublicIPv6: null,
      BackendType: "vxlan",
      BackendData: { VNI: 1, VtepMAC: mac },
    }),
  };
}

/** Posts one JSON request to etcd's v3 gateway and returns the JSON answer. */
export type Gateway = (path: string, body: unknown) => Promise<Record<string, unknown>>;

/** The gateway of a mini lab's etcd, reached from inside the etcd namespace (curl). */
export function miniLabGateway(lab: MiniLab): Gateway {
  return async (path, body) => {
    const out = await lab.etcdNs.exec(
      ["curl", "-sS", "--fail", "--data-binary", "@-", `${lab.etcd.endpoint}${path}`],
      { stdin: JSON.stringify(body), timeoutMs: 30_000 },
    );
    return JSON.parse(out.stdout);
  };
}

/** The gateway of an etcd this process can reach (one on loopback). */
export function fetchGateway(endpoint: string): Gateway {
  return async (path, body) => {
    const response = await fetch(`${endpoint}${path}`, { method: "POST", body: JSON.stringify(body) });
    const text = await response.text();
    if (!response.ok) throw new Error(`${path}: HTTP ${response.status} ${text}`);
    return JSON.parse(text);
  };
}

/**
 * Writes synthetic leases `from` … `from + count - 1` (bound to a 1 h etcd lease, as agents write them) in
 * transactions of 128 puts, and returns the store revision after the last write.
 */
export async function putSyntheticLeases(
  gateway: Gateway,
  prefix: string,
  count: number,
  from = 0,
): Promise<bigint> {
  const grant = await gateway("/v3/lease/grant", { TTL: 3600 });
  const leaseId = grant.ID as string;
  const batch = 128; // etcd's default --max-txn-ops
  const jobs: Promise<Record<string, unknown>>[] = [];
  let revision = 0n;
  const settle = async () => {
    for (const r of await Promise.all(jobs.splice(0))) {
      const rev = BigInt((r.header as { revision?: string } | undefined)?.revision ?? "0");
      if (rev > revision) revision = rev;
    }
  };
  for (let start = from; start < from + count; start += batch) {
    const success = [];
    for (let i = start; i < Math.min(from + count, start + batch); i++) {
      const { key, value } = syntheticPeer(prefix, i);
      success.push({ request_put: { key: b64(key), value: b64(value), lease: leaseId } });
    }
    jobs.push(gateway("/v3/kv/txn", { success }));
    if (jobs.length >= 8) await settle();
  }
  await settle();
  return revision;
}

/** How many keys lie under `<prefix>/subnets/`, at the latest revision or at `revision`. */
export async function countLeases(gateway: Gateway, prefix: string, revision?: bigint): Promise<number> {
  const range = await gateway("/v3/kv/range", {
    key: b64(`${prefix}/subnets/`),
    range_end: b64(`${prefix}/subnets0`),
    count_only: true,
    ...(revision === undefined ? {} : { revision: String(revision) }),
  });
  return Number(range.count ?? 0);
}

/** Writes `count` synthetic leases into a mini lab's etcd and checks that etcd holds them all. */
export async function writeSyntheticLeases(lab: MiniLab, count: number): Promise<void> {
  const gateway = miniLabGateway(lab);
  await putSyntheticLeases(gateway, lab.etcdPrefix, count);
  assert.equal(await countLeases(gateway, lab.etcdPrefix), count, "all leases are in etcd");
}
