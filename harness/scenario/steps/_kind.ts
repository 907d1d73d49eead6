/**
 * The shape every step kind has: a function of the lab, its own action and the step, given the means to try
 * its check (until it holds, or once).
 *
 * @module
 */
import type { LabView } from "../lab_view.ts";
import type { Action, Outcome, Step } from "../model.ts";

/** The action of one step kind. */
export type ActionOf<K extends Action["kind"]> = Extract<Action, { kind: K }>;

/** How a step kind tries its check; every try is counted as an attempt of the step. */
export interface Tries {
  /** Runs `check` until it stops throwing `Failed` or the step's time is up. */
  until(check: () => Promise<Outcome>): Promise<Outcome>;
  /** Runs `check` once: a step with its own clock, or one whose failure is the point. */
  once(check: () => Promise<Outcome>): Promise<Outcome>;
  /** The step's time budget (0 when the step is expected to fail: it is tried once). */
  readonly timeoutMs: number;
}

/** A step kind. */
export type StepKind<K extends Action["kind"]> = (
  lab: LabView,
  action: ActionOf<K>,
  step: Step,
  tries: Tries,
) => Promise<Outcome>;
