/**
 * Fault kinds, one file each, and the table that maps a fault's `kind` to its implementation: its syntax in a
 * scenario and its effect on the lab. The table's type makes a fault kind without an implementation a compile
 * error, and everything else (the parser's keys and messages, the default step names, the expectations a
 * fault step allows) is read from the table, so nothing else lists the kinds.
 *
 * How to add a fault kind:
 * 1. `model.ts`: a member of the {@linkcode Fault} union with its own `kind`.
 * 2. `faults/<kind>.ts`: a {@linkcode FaultKind} for it: its `trigger` key (a new one, or one it shares, as
 *    link-mtu shares `link`), `form`, `selects`, `keys`, `parse` (refusing the keys its form does not use),
 *    `describe`, `what`, `expectKeys` (and `expects` when they depend on the fault), `inject` and `revert`.
 * 3. Here: its entry in {@linkcode FAULTS}. The order counts: of the kinds sharing a trigger, the first that
 *    selects a mapping reads it, and the triggers are listed in messages in table order.
 *
 * A new expectation key is added to `expectations.ts`, and to the `expectKeys` of the kinds that take it.
 *
 * @module
 */
import type { ExpectKey } from "../expectations.ts";
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
import { exec } from "./exec.ts";
import { linkRecreate } from "./link_recreate.ts";
import { network } from "./network.ts";

export type { FaultKind, FaultOf, Mark, Window } from "./_kind.ts";

/** Every fault kind by the `kind` a scenario names it with. */
export const FAULTS: { readonly [K in Fault["kind"]]: FaultKind<K> } = {
  link,
  "link-mtu": linkMtu,
  "link-recreate": linkRecreate,
  netem,
  agent,
  etcd,
  "lease-delete": leaseDelete,
  "lease-take": leaseTake,
  delete: deleteEntry,
  firewall,
  exec,
  network,
};

/** A fault kind whose functions take any fault; each is only ever given faults of its own kind. */
export type AnyFaultKind = FaultKind<Fault["kind"]>;

/** Looks a fault's kind up in a table typed by kind (TypeScript cannot correlate the two on its own). */
export function kindOf(f: Fault): AnyFaultKind {
  return FAULTS[f.kind] as unknown as AnyFaultKind;
}

/** Every fault kind, in table order. */
export function faultKinds(): readonly AnyFaultKind[] {
  return Object.values(FAULTS) as unknown as AnyFaultKind[];
}

/** Applies a fault; returns what was done. */
export function injectFault(lab: LabView, f: Fault, mark: Mark): Promise<string> {
  return kindOf(f).inject(lab, f, mark);
}

/** Undoes a windowed fault at the end of its window; returns what was done. */
export function revertFault(lab: LabView, f: Fault, mark: Mark): Promise<string> {
  return kindOf(f).revert(lab, f, mark);
}

/** The default name of a step injecting the fault. */
export function describeFault(f: Fault): string {
  return kindOf(f).describe(f);
}

/** The fault as messages name it (`a link set down`). */
export function faultWhat(f: Fault): string {
  return kindOf(f).what(f);
}

/** The expectation keys a fault takes. */
export function faultExpectKeys(f: Fault): readonly ExpectKey[] {
  const k = kindOf(f);
  return k.expects?.(f) ?? k.expectKeys;
}
