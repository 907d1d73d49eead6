/**
 * Fault kinds, one file each, and the table that maps a fault's `kind` to its implementation. The table's type
 * makes a fault kind without an implementation a compile error.
 *
 * @module
 */
import type { LabView } from "../lab_view.ts";
import type { Fault } from "../model.ts";
import type { FaultKind, Mark } from "./_kind.ts";
import { agent } from "./agent.ts";
import { deleteEntry } from "./delete.ts";
import { etcd } from "./etcd.ts";
import { firewall } from "./firewall.ts";
import { leaseDelete } from "./lease_delete.ts";
import { leaseTake } from "./lease_take.ts";
import { link } from "./link.ts";
import { linkMtu } from "./link_mtu.ts";
import { netem } from "./netem.ts";

export type { FaultKind, FaultOf, Mark } from "./_kind.ts";

/** Every fault kind by the `kind` a scenario names it with. */
export const FAULTS: { readonly [K in Fault["kind"]]: FaultKind<K> } = {
  link,
  "link-mtu": linkMtu,
  netem,
  agent,
  etcd,
  firewall,
  "lease-delete": leaseDelete,
  "lease-take": leaseTake,
  delete: deleteEntry,
};

/** Looks a fault's kind up in a table typed by kind (TypeScript cannot correlate the two on its own). */
function kindOf(f: Fault): FaultKind<Fault["kind"]> {
  return FAULTS[f.kind] as unknown as FaultKind<Fault["kind"]>;
}

/** Applies a fault; returns what was done. */
export function injectFault(lab: LabView, f: Fault, mark: Mark): Promise<string> {
  return kindOf(f).inject(lab, f, mark);
}

/** Undoes a windowed fault at the end of its window; returns what was done. */
export function revertFault(lab: LabView, f: Fault, mark: Mark): Promise<string> {
  return kindOf(f).revert(lab, f, mark);
}
