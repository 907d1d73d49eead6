/**
 * The leases of an interop lab as etcd holds them: each value with its etcd lease TTL (read with etcdctl), and
 * mirrored (the holder's own values replaced by placeholders) so that the leases ours and upstream's write can be
 * asserted to have one form, down to key order and types, and upstream's 24 h TTL.
 *
 * @module
 */
import assert from "node:assert/strict";
import { mask } from "../../harness/checks/mod.ts";
import { nodeValues } from "./interop_mirror.ts";
import type { MiniLab } from "./mini_lab.ts";
import type { InteropLab, InteropNode } from "./upstream.ts";

/** The lease values under `<prefix>/subnets/`, keyed by key, with each key's etcd lease TTL (or -1). */
export async function leasesWithTtl(
  lab: MiniLab,
): Promise<Map<string, { value: string; ttl: number; grantedTtl: number }>> {
  const out = await lab.etcd.ctl(["get", "--prefix", `${lab.etcdPrefix}/subnets/`, "-w", "json"]);
  // etcdctl prints lease ids as bare 64-bit integers, which JSON.parse would round: quote them first.
  const parsed = JSON.parse(out.replace(/"lease":(\d+)/g, '"lease":"$1"')) as {
    kvs?: { key: string; value: string; lease?: string }[];
  };
  const map = new Map<string, { value: string; ttl: number; grantedTtl: number }>();
  for (const kv of parsed.kvs ?? []) {
    let ttl = -1;
    let grantedTtl = -1;
    if (kv.lease) {
      // `lease timetolive` takes the id in hex.
      const id = BigInt(kv.lease).toString(16);
      const t = await lab.etcd.ctl(["lease", "timetolive", id, "-w", "json"]);
      const j = JSON.parse(t) as { ttl: number; "granted-ttl": number };
      ttl = j.ttl;
      grantedTtl = j["granted-ttl"];
    }
    map.set(atob(kv.key), { value: atob(kv.value), ttl, grantedTtl });
  }
  return map;
}

/** The etcd key of a node's lease. */
export function leaseKey(lab: MiniLab, n: InteropNode): string {
  return `${lab.etcdPrefix}/subnets/${n.subnet.replace("/", "-")}`;
}

/** The mirrored value of every lease, keyed by the node that holds it, with its etcd TTL. */
export async function mirroredLeases(
  lab: InteropLab,
): Promise<Map<InteropNode, { value: string; keys: string[]; ttl: number; grantedTtl: number }>> {
  const leases = await leasesWithTtl(lab.lab);
  const out = new Map<InteropNode, { value: string; keys: string[]; ttl: number; grantedTtl: number }>();
  for (const n of lab.nodes) {
    const lease = leases.get(leaseKey(lab.lab, n));
    assert.ok(lease, `${n.node.name} (${n.kind}) has no lease under ${leaseKey(lab.lab, n)}`);
    const subst = new Map([...await nodeValues(n)].map(([v, name]) => [v, `<${name}>`]));
    // Re-serialising keeps the key order of the text, so the comparison covers order and types.
    const parsed = JSON.parse(lease.value) as Record<string, unknown>;
    out.set(n, {
      value: JSON.stringify(mask(parsed, subst)),
      keys: Object.keys(parsed),
      ttl: lease.ttl,
      grantedTtl: lease.grantedTtl,
    });
  }
  return out;
}

/**
 * Asserts that every node's lease has the same form (same text once the node's own values are replaced by
 * placeholders) and equals `expected`, and carries a 24 h etcd lease.
 */
export async function assertLeasesAlike(lab: InteropLab, expected: string): Promise<void> {
  const leases = await mirroredLeases(lab);
  for (const [n, lease] of leases) {
    assert.equal(lease.value, expected, `${n.node.name} (${n.kind})'s lease`);
    assert.equal(lease.grantedTtl, 86400, `${n.node.name} (${n.kind})'s lease TTL`);
    assert.ok(lease.ttl > 86000 && lease.ttl <= 86400, `${n.node.name}'s remaining TTL ${lease.ttl}`);
  }
}
