/**
 * The V8 flags the agent runs with. V8's defaults suit a throughput-bound server: a young generation that grows
 * to 3 × 16 MiB and an old generation allowed to fill with garbage before it is compacted. The agent is the
 * opposite, a long-lived daemon that idles between bursts (the first listing, a reconcile), so at 10,000 leases
 * the defaults roughly double its peak memory. These flags keep the young generation at 1 MiB semi-spaces and
 * make V8 prefer size over speed, for a reconcile that measured within noise of the defaults
 * (`deno task bench agent`).
 *
 * V8 reads them only at start-up, so they are passed on the command line wherever the agent is launched: the
 * `flannel-lab` wrapper (which keeps its own copy, checked equal to this one by a test), the harness and the
 * test labs (through {@linkcode agentV8FlagsArg}), and `deno task compile`.
 *
 * @module
 */

/** The flags, without the `--v8-flags=` wrapper. */
export const AGENT_V8_FLAGS: readonly string[] = ["--max-semi-space-size=1", "--optimize-for-size"];

/** The `deno run` argument that applies {@linkcode AGENT_V8_FLAGS}. */
export function agentV8FlagsArg(): string {
  return `--v8-flags=${AGENT_V8_FLAGS.join(",")}`;
}
