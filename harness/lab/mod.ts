/**
 * Standing up a lab: a {@linkcode LabPlan} (topology and scenario read once), the disposable {@linkcode Lab}
 * that deploys it and tears it down, and the runs built on them (`test`, `up`, `down`).
 *
 * @module
 */
export { Lab, type LabOptions } from "./lab.ts";
export {
  describePlan,
  labDirFor,
  type LabPlan,
  planLab,
  type PlanOptions,
  planTopology,
  renameLab,
  scenarioPathFor,
  withAgent,
} from "./plan.ts";
export {
  downLab,
  labMap,
  passed,
  runLab,
  type RunLabOptions,
  type RunLabResult,
  storedResults,
  upLab,
  type UpResult,
} from "./run.ts";
