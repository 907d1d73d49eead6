/**
 * The library of reproductions: each a topology and a scenario whose `repro:` block says what a user sees, why,
 * the fix, and what each agent does. The shipped ones are embedded (`cases.ts`, generated from
 * `topologies/repro/`); a user's own is any topology whose scenario has a `repro:` block. Pure.
 *
 * @module
 */
import { UserError } from "../../cli/errors.ts";
import type { Repro } from "../scenario/model.ts";
import { parseScenario } from "../scenario/parse.ts";
import { resolveTopology } from "../topology/resolve.ts";
import { CASE_FILES } from "./cases.ts";

/** One reproduction. */
export interface ReproCase {
  readonly name: string;
  readonly repro: Repro;
  readonly description: string;
  readonly topology: string;
  readonly scenario: string;
}

/**
 * Reads a reproduction from its two files' text.
 *
 * @throws {InputError} when either file is invalid
 * @throws {UserError} when the scenario has no `repro:` block
 */
export function readCase(name: string, topology: string, scenario: string, file = name): ReproCase {
  const topo = resolveTopology(`${file}.clab.yml`, topology);
  const s = parseScenario(`${file}.scenario.yml`, scenario, topo);
  if (!s.repro) {
    throw new UserError(`${file}.scenario.yml is not a reproduction: it has no repro: block`, {
      hint:
        "add repro: { title, symptom, cause, fix, verdict: { ours: …, upstream: … } } (flannel-lab repro new)",
    });
  }
  return { name, repro: s.repro, description: s.description, topology, scenario };
}

/** Every shipped reproduction, in name order. */
export function shippedCases(): ReproCase[] {
  return Object.entries(CASE_FILES).map(([name, f]) => readCase(name, f.topology, f.scenario));
}

/** A shipped reproduction by name, or an error listing the names. */
export function shippedCase(name: string): ReproCase {
  const f = CASE_FILES[name];
  if (!f) {
    throw new UserError(`No reproduction named "${name}"`, {
      hint: `flannel-lab repro list shows them: ${Object.keys(CASE_FILES).join(", ")}`,
    });
  }
  return readCase(name, f.topology, f.scenario);
}
