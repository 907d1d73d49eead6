/**
 * Checks the scenario engine measures with: kernel state as structured diffs (expected from the leases through
 * the agent's own pure plans), the background probe's loss and recovery arithmetic, and small statistics for
 * performance ratios. All pure.
 *
 * @module
 */
export * from "./kernel_state.ts";
export { inNetwork, mask, omitKeys, VOLATILE } from "./mirror.ts";
export * from "./probe_log.ts";
export * from "./stats.ts";
