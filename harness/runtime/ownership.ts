/**
 * Ownership markers: every namespace a lab creates (nodes and pods) carries `flannel-lab lab=<lab> …` as the
 * ifalias of its `lo`, so `down` finds a crashed run's leftovers by marker, whatever their names.
 *
 * @module
 */

/** The marker of a lab's node or pod namespace. */
export function ownerMarker(lab: string, what: { node: string } | { pod: string }): string {
  return "node" in what
    ? `flannel-lab lab=${lab} node=${what.node}`
    : `flannel-lab lab=${lab} pod=${what.pod}`;
}

/** Reads a marker back; `undefined` when the alias is not ours. */
export function parseMarker(
  alias: string | undefined,
): { lab: string; node?: string; pod?: string } | undefined {
  const m = /^flannel-lab lab=(\S+) (node|pod)=(\S+)$/.exec(alias ?? "");
  if (!m) return undefined;
  return m[2] === "node" ? { lab: m[1]!, node: m[3]! } : { lab: m[1]!, pod: m[3]! };
}
