/**
 * Step kinds, one file each, and the table that maps a step's action `kind` to its implementation. The table's
 * type makes an action kind without an implementation a compile error.
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
import { wait } from "./wait.ts";

export type { ActionOf, StepKind, Tries } from "./_kind.ts";

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
};

/** Runs a step's action with the kind its `kind` names. */
export function runStep(lab: LabView, step: Step, tries: Tries): Promise<Outcome> {
  // TypeScript cannot correlate `STEPS[kind]` with the action's own type; the table's type guarantees it.
  const run = STEPS[step.action.kind] as unknown as StepKind<Action["kind"]>;
  return run(lab, step.action, step, tries);
}
