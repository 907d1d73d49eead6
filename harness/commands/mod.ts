/**
 * The lab commands, one file each: `up|deploy`, `down|destroy`, `test`, `inspect`, `exec NODE -- CMD`,
 * `doctor`. Topology files are given positionally or with `-t/--topo`, as containerlab users type them.
 * `trace`, `repro` and `generate` live beside what they drive (`harness/trace/`, `harness/repro/`,
 * `harness/generate.ts`).
 *
 * @module
 */
export { agentArg, COMMON, needRoot, parse, runtimeFor, topoArg } from "./args.ts";
export { doctorMain } from "./doctor.ts";
export { downMain } from "./down.ts";
export { execMain } from "./exec.ts";
export { inspectMain } from "./inspect.ts";
export { testMain } from "./test.ts";
export { upMain } from "./up.ts";
