/**
 * The primitives every runner shares: TERM then KILL after a grace period, abort-signal wiring, and a sleep.
 * Kept apart so that `run`, `spawn` and the detached processes stop a child in exactly the same way, whether
 * they wait on its exit status (our own children) or poll /proc (a detached process started by an earlier
 * command).
 *
 * @module
 */

/** Something that can be signalled and whose end can be awaited. */
export interface Killable {
  /** Sends `signal`; a target that is already gone is not an error. */
  kill(signal: Deno.Signal): void;
  /**
   * Resolves once the target is gone. `cancel` aborts when nobody waits any more, so that a poller can stop.
   */
  gone(cancel: AbortSignal): Promise<void>;
}

/** Options of {@linkcode terminate}. */
export interface TerminateOptions {
  /** The first signal (default SIGTERM). */
  readonly signal?: Deno.Signal;
  /** How long to wait after the first signal before SIGKILL. */
  readonly graceMs: number;
  /** How long to wait after SIGKILL (default: until the target is gone). */
  readonly killWaitMs?: number;
}

/** How {@linkcode terminate} ended: gone after the first signal, gone after SIGKILL, or still there. */
export type TerminateOutcome = "exited" | "killed" | "stuck";

/**
 * Stops `target`: the first signal, then SIGKILL once `graceMs` has passed without it going away.
 *
 * @param target what to stop
 * @param options first signal and waits
 * @returns how it ended
 */
export async function terminate(target: Killable, options: TerminateOptions): Promise<TerminateOutcome> {
  const cancel = new AbortController();
  try {
    const gone = target.gone(cancel.signal);
    target.kill(options.signal ?? "SIGTERM");
    if (await settlesWithin(gone, options.graceMs)) return "exited";
    target.kill("SIGKILL");
    return await settlesWithin(gone, options.killWaitMs ?? Infinity) ? "killed" : "stuck";
  } finally {
    cancel.abort();
  }
}

/** The {@linkcode Killable} view of a child we spawned: signals that race its exit are not errors. */
export function killableChild(child: Deno.ChildProcess): Killable {
  return {
    kill(signal) {
      try {
        child.kill(signal);
      } catch { /* already exited */ }
    },
    gone: () => child.status.then(() => {}),
  };
}

/**
 * Whether `work` settles within `ms` milliseconds (`Infinity`: waits for it). The timer is cleared either way.
 *
 * @param work what to wait for
 * @param ms how long at most
 * @returns true when it settled in time
 */
export async function settlesWithin(work: Promise<unknown>, ms: number): Promise<boolean> {
  const settled = work.then(() => true, () => true);
  if (ms === Infinity) return await settled;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<boolean>((resolve) => timer = setTimeout(() => resolve(false), Math.max(0, ms)));
  try {
    return await Promise.race([settled, late]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Calls `listener` when `signal` aborts, until the returned handle is disposed. An already aborted signal is
 * the caller's to check: the listener does not fire for it.
 *
 * @param signal the signal, if any
 * @param listener what to do on abort
 * @returns a handle that removes the listener
 */
export function onAbort(signal: AbortSignal | undefined, listener: () => void): Disposable {
  if (!signal) return { [Symbol.dispose]() {} };
  signal.addEventListener("abort", listener, { once: true });
  return { [Symbol.dispose]: () => signal.removeEventListener("abort", listener) };
}

/**
 * A short description of why `signal` aborted, for error messages.
 *
 * @param signal an aborted signal
 * @returns the reason's message
 */
export function abortReason(signal: AbortSignal): string {
  const reason: unknown = signal.reason;
  if (reason instanceof Error) return reason.message || reason.name;
  return reason === undefined ? "aborted" : String(reason);
}

/**
 * Resolves after `ms` milliseconds.
 *
 * @param ms how long
 */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
