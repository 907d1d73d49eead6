/**
 * Giving up on work that cannot be cancelled: a shutdown must not wait for a call to etcd that only its
 * deadline would end, or for a reconcile of thousands of entries.
 *
 * @module
 */

/**
 * `work`'s outcome, or a rejection with the signal's reason as soon as `signal` aborts (at once when it already
 * has). `work` is left to settle unobserved; without a signal this is `work` itself.
 *
 * @example
 * ```ts
 * import { untilAborted } from "./abort.ts";
 * const controller = new AbortController();
 * const slow = new Promise((r) => setTimeout(r, 50));
 * const waiting = untilAborted(slow, controller.signal);
 * controller.abort(new Error("SIGTERM"));
 * await waiting.catch((e) => e.message); // "SIGTERM", without waiting for `slow`
 * await slow;
 * ```
 */
export function untilAborted<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return work;
  if (signal.aborted) {
    work.catch(() => {});
    return Promise.reject(signal.reason);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => {
      work.catch(() => {});
      reject(signal.reason);
    };
    signal.addEventListener("abort", onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}
