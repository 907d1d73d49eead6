/**
 * How a check says it does not hold, and the retry loop that gives it until the step's timeout.
 *
 * @module
 */
import type { Figures, Outcome, TimelineEvent } from "./model.ts";

/** What a failed check keeps besides its message: the same fields a passing one reports. */
export interface FailedExtra {
  readonly timeline?: readonly TimelineEvent[];
  readonly metrics?: Readonly<Record<string, number>>;
  readonly artifacts?: readonly string[];
  readonly figures?: Figures;
}

/**
 * A check that does not hold (yet). The only error a step retries: anything else (a runtime that cannot exec,
 * a bug) ends the step at once.
 */
export class Failed extends Error {
  constructor(message: string, readonly details: readonly string[] = [], readonly extra: FailedExtra = {}) {
    super(message);
    this.name = "Failed";
  }
}

/** Resolves after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** The pause between two attempts of a retried check. */
const RETRY_PAUSE_MS = 250;

/**
 * Runs `attempt` until it stops throwing {@linkcode Failed} or `timeoutMs` has passed, calling `onAttempt`
 * before each try. A timeout of 0 tries once.
 */
export async function retry(
  timeoutMs: number,
  attempt: () => Promise<Outcome>,
  onAttempt: () => void,
): Promise<Outcome> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    onAttempt();
    try {
      return await attempt();
    } catch (error) {
      if (!(error instanceof Failed) || Date.now() + RETRY_PAUSE_MS > deadline) throw error;
    }
    await sleep(RETRY_PAUSE_MS);
  }
}
