/**
 * The shape every fault kind has: how to inject it and, for a windowed fault (`for:`), how to undo it.
 *
 * @module
 */
import type { LabView } from "../lab_view.ts";
import type { Fault } from "../model.ts";

/** The fault of one kind. */
export type FaultOf<K extends Fault["kind"]> = Extract<Fault, { kind: K }>;

/** Records a point on the step's timeline. */
export type Mark = (what: string) => void;

/** A fault kind. Both functions return one line saying what they did. */
export interface FaultKind<K extends Fault["kind"]> {
  inject(lab: LabView, fault: FaultOf<K>, mark: Mark): Promise<string>;
  /** Undoes the fault at the end of its window. */
  revert(lab: LabView, fault: FaultOf<K>, mark: Mark): Promise<string>;
}
