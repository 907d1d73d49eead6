/**
 * The shape every fault kind has: its syntax in a scenario (which mapping selects it, how that is read, what
 * the step is called, what can be expected of it) and, on the lab, how to inject it and, for a windowed fault
 * (`for:`), how to undo it. The syntax functions are pure, so the parser uses them without a lab.
 *
 * @module
 */
import type { ExpectKey } from "../expectations.ts";
import type { LabView } from "../lab_view.ts";
import type { Fault } from "../model.ts";
import type { Obj, Path, Reader } from "../reader.ts";

/** The fault of one kind. */
export type FaultOf<K extends Fault["kind"]> = Extract<Fault, { kind: K }>;

/** Records a point on the step's timeline. */
export type Mark = (what: string) => void;

/** A fault's window (`for:`), read before its kind: a kind that has none refuses the key itself. */
export interface Window {
  readonly forMs?: number;
}

/** Expectations the background probe answers; most fault kinds take them. */
export const PROBE_EXPECT: readonly ExpectKey[] = [
  "recovers-within",
  "probe-loss",
  "max-outage",
  "late-after",
];

/** A fault kind. `inject` and `revert` return one line saying what they did. */
export interface FaultKind<K extends Fault["kind"]> {
  /**
   * The key whose presence makes a fault mapping one of this kind or of the others sharing it (`link` for
   * link, link-mtu and netem); `selects` tells them apart.
   */
  readonly trigger: string;
  /** What tells this kind apart from the others of its trigger, as a scenario writes it (`mtu: N`). */
  readonly form: string;
  /** Whether a mapping with the trigger key is this kind; the first kind in the table that says yes reads it. */
  selects(o: Obj): boolean;
  /** Every key the kind's forms may use, besides `for` (the window, read for every kind). */
  readonly keys: readonly string[];
  /**
   * Reads the fault, refusing (with `Reader.only`) the keys its form does not use.
   *
   * @param r the reader
   * @param o the fault mapping, its keys already checked against every kind's
   * @param path where it is
   * @param win the window `for:` gave, if any
   */
  parse(r: Reader, o: Obj, path: Path, win: Window): FaultOf<K> | undefined;
  /** The default name of a step injecting the fault. */
  describe(f: FaultOf<K>): string;
  /** The fault as messages name it: `"x" does not apply to <what>`. */
  what(f: FaultOf<K>): string;
  /** Every expectation key a fault of this kind may take. */
  readonly expectKeys: readonly ExpectKey[];
  /** The ones this fault takes, when that depends on the fault (default: all of {@linkcode expectKeys}). */
  expects?(f: FaultOf<K>): readonly ExpectKey[];
  inject(lab: LabView, fault: FaultOf<K>, mark: Mark): Promise<string>;
  /** Undoes the fault at the end of its window. */
  revert(lab: LabView, fault: FaultOf<K>, mark: Mark): Promise<string>;
}
