/**
 * Scenarios: the declarative `*.scenario.yml` (parser, expectations derived from backend and topology) and the
 * engine that runs them on a cluster.
 *
 * @module
 */
export * from "./model.ts";
export { describeAction, parseDuration, parseScenario } from "./parse.ts";
export * from "./expect.ts";
export { type Progress, ScenarioRunner } from "./run.ts";
