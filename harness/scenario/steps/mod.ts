/**
 * Step kinds, one file each, and the table that maps a step's action `kind` to its implementation: its syntax
 * in a scenario and its run on the lab. The table's type makes an action kind without an implementation a
 * compile error, and the parser reads the step keys, their values, the default names and the expectations
 * from the table, so nothing else lists the kinds.
 *
 * How to add a step kind:
 * 1. `model.ts`: a member of the {@linkcode Action} union; its `kind` is the step's key in a scenario.
 * 2. `steps/<kind>.ts`: a {@linkcode StepKind} for it: `parse` (the value under its key), `describe` (the
 *    step's default name), `expect` (`expectKeys(...)` of `expectations.ts`, or a reader of its own form) and
 *    `run`.
 * 3. Here: its entry in {@linkcode STEPS}. The order is the order the step keys are listed in messages.
 *
 * A new expectation key is added to `expectations.ts` (and to `model.ts`'s `Expect`).
 *
 * @module
 */
import type { LabView } from "../lab_view.ts";
import type { Action, Outcome, Step } from "../model.ts";
import type { StepKind, Tries } from "./_kind.ts";
import { agentLog } from "./agent_log.ts";
import { capture } from "./capture.ts";
import { connectivity } from "./connectivity.ts";
import { fault } from "./fault.ts";
import { kernel } from "./kernel.ts";
import { latency } from "./latency.ts";
import { leases } from "./leases.ts";
import { mirror } from "./mirror.ts";
import { mtu } from "./mtu.ts";
import { ping } from "./ping.ts";
import { sleep } from "./sleep.ts";
import { throughput } from "./throughput.ts";
import { trace } from "./trace.ts";
import { wait } from "./wait.ts";

export type { ActionOf, ParseContext, StepKind, Tries } from "./_kind.ts";

/** Every step kind by the action `kind` a scenario names it with. */
export const STEPS: { readonly [K in Action["kind"]]: StepKind<K> } = {
  wait,
  sleep,
  connectivity,
  mtu,
  ping,
  capture,
  kernel,
  mirror,
  leases,
  "agent-log": agentLog,
  fault,
  throughput,
  latency,
  trace,
};

/** A step kind whose functions take any action; each is only ever given actions of its own kind. */
export type AnyStepKind = StepKind<Action["kind"]>;

/** Every step key a scenario may use, in table order. */
export const STEP_KINDS = Object.keys(STEPS) as readonly Action["kind"][];

/** Looks a kind up in a table typed by kind (TypeScript cannot correlate `STEPS[kind]` with its action). */
export function stepKind(kind: Action["kind"]): AnyStepKind {
  return STEPS[kind] as unknown as AnyStepKind;
}

/** Runs a step's action with the kind its `kind` names. */
export function runStep(lab: LabView, step: Step, tries: Tries): Promise<Outcome> {
  return stepKind(step.action.kind).run(lab, step.action, step, tries);
}

/**
 * A short name for a step without one.
 *
 * @param a the step's action
 * @returns the name its kind gives it
 */
export function describeAction(a: Action): string {
  return stepKind(a.kind).describe(a);
}
