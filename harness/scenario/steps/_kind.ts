/**
 * The shape every step kind has: its syntax in a scenario (how the value under its key is read, its default
 * name, how its `expect:` is read) and its run, a function of the lab, its own action and the step, given the
 * means to try its check (until it holds, or once). The syntax functions are pure, so the parser uses them
 * without a lab.
 *
 * @module
 */
import type { ExpectReader } from "../expectations.ts";
import type { LabView } from "../lab_view.ts";
import type { Action, Outcome, Step } from "../model.ts";
import type { Path, Reader } from "../reader.ts";

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

/** What the scenario around a step says that its value is read against. */
export interface ParseContext {
  /** Pods per node (`pods: {per-node}`): a pod `node/pN` beyond it does not exist. */
  readonly podsPerNode: number;
}

/** A step kind; a scenario names it by its action `kind` (`agent-log: {...}`). */
export interface StepKind<K extends Action["kind"]> {
  /**
   * Reads the value under the step's kind key.
   *
   * @param r the reader
   * @param v the value
   * @param path where it is
   * @param ctx what the rest of the scenario says
   * @returns the action, or undefined when it is wrong (the problems are recorded)
   */
  parse(r: Reader, v: unknown, path: Path, ctx: ParseContext): ActionOf<K> | undefined;
  /** The default name of a step of this kind. */
  describe(action: ActionOf<K>): string;
  /**
   * Reads the step's `expect:` when it has one: `expectKeys(...)` for a mapping of expectation keys, or a
   * reader of its own form. Given the action when that parsed, for expectations that depend on it.
   */
  readonly expect: ExpectReader<ActionOf<K>>;
  /** Runs the step on the lab. */
  run(lab: LabView, action: ActionOf<K>, step: Step, tries: Tries): Promise<Outcome>;
}
