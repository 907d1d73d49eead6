/**
 * Time as a dependency: the lease manager, backoff and renewal take a `Clock`, so tests can run a day of
 * renewals in microseconds with {@linkcode ManualClock}.
 *
 * @module
 */

/** Wall-clock time and cancellable sleeps. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Resolves after `ms`, or rejects with the signal's reason when it aborts first. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** The real clock. */
export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const onAbort = () => {
        clearTimeout(timer);
        reject(signal?.reason);
      };
      const timer = setTimeout(() => {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      }, ms);
      signal?.addEventListener("abort", onAbort, { once: true });
    }),
};

/** A clock that moves only when told to; sleeps resolve as `advance` passes their deadline. */
export class ManualClock implements Clock {
  #now: number;
  #sleepers: { at: number; resolve: () => void }[] = [];

  constructor(start = 0) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      if (ms <= 0) return queueMicrotask(resolve);
      const entry = { at: this.#now + ms, resolve };
      this.#sleepers.push(entry);
      signal?.addEventListener("abort", () => {
        this.#sleepers = this.#sleepers.filter((s) => s !== entry);
        reject(signal.reason);
      }, { once: true });
    });
  }

  /** Moves time forward, waking every sleeper whose deadline has passed, in order. */
  async advance(ms: number): Promise<void> {
    const target = this.#now + ms;
    for (;;) {
      this.#sleepers.sort((a, b) => a.at - b.at);
      const next = this.#sleepers[0];
      if (!next || next.at > target) break;
      this.#sleepers.shift();
      this.#now = next.at;
      next.resolve();
      // Let the woken task run before the next deadline.
      await new Promise((r) => setTimeout(r, 0));
    }
    this.#now = target;
  }

  /** How many sleeps are pending. */
  get pending(): number {
    return this.#sleepers.length;
  }
}

/** Exponential backoff: `initialMs` doubling up to `maxMs`. */
export class Backoff {
  #next: number;
  constructor(readonly initialMs: number, readonly maxMs: number) {
    this.#next = initialMs;
  }
  /** The next delay. */
  next(): number {
    const delay = this.#next;
    this.#next = Math.min(this.#next * 2, this.maxMs);
    return delay;
  }
  reset(): void {
    this.#next = this.initialMs;
  }
}
