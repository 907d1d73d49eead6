/**
 * When the reconciler runs: on every lease change (a lone change at once, bursts coalesced within a 10 ms
 * window), at once when a netlink event shows one of our entries deleted or changed (or the underlay
 * changed, or events were lost), and on a periodic resync: every 10 s without a netlink subscription or
 * while a peer is in error, every 5 minutes otherwise. Runs never overlap; a trigger during a run schedules
 * exactly one more. A failed run is retried.
 *
 * How much a run reads: a run that only lease changes asked for, while the netlink subscription is live, is
 * told so (`leasesOnly`), and the backend applies the difference between its last plan and the new one
 * without dumping the kernel; every other run (the first, events, the timer, retries, no subscription) reads
 * the kernel and heals whatever drifted.
 *
 * It also turns each run's per-peer states into log lines — once per change of a peer's state, not once per
 * run — and into metrics.
 *
 * @module
 */
import type { Logger } from "../../../cli/log.ts";
import { untilAborted } from "../../abort.ts";
import type { Metrics } from "../../metrics.ts";
import type { NetlinkEvent } from "../../netlink/mod.ts";
import type { Lease } from "../../subnet/lease.ts";
import type { Backend, PeerState, ReconcileOptions, ReconcileReport } from "../backend.ts";
import { type LeaseScope, screenSnapshot } from "./lease_scope.ts";

/** Where the loop reads the lease snapshot and our lease (a `LeaseManager` fits). */
export interface LeaseSource {
  readonly snapshot: ReadonlyMap<string, Lease>;
  readonly lease: Lease;
}

/** Options of {@linkcode ReconcileLoop}. */
export interface ReconcileLoopOptions {
  readonly backend: Backend & { invalidateReach?(): void };
  readonly source: LeaseSource;
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** Periodic resync while no netlink subscription watches our entries (default 10 s, upstream's route check). */
  readonly resyncMs?: number;
  /**
   * Periodic resync while the subscription is live (default 5 min): every change to our entries then arrives
   * as an event (and a lost event as an overrun, which resyncs at once), so the timer is only a safety net,
   * and a full resync of thousands of entries every 10 s was most of an idle agent's CPU.
   */
  readonly quietResyncMs?: number;
  /** Coalescing window for bursts of triggers (default 10 ms). */
  readonly debounceMs?: number;
  /** Opens a netlink event subscription; without it only leases and the timer trigger runs. */
  readonly openMonitor?: () => AsyncIterable<NetlinkEvent> & { close(): void };
  /** Called when the backend's lease fields changed (re-publish the lease). */
  readonly onFieldsChanged?: () => Promise<void>;
  /**
   * The network's pools. Remote leases outside them (or overlapping our subnet) reach no backend and are
   * reported as peers in error; without a scope every lease is planned.
   */
  readonly scope?: LeaseScope;
}

/** What asked for a run: only a lease change, or anything that may have changed the kernel. */
export type TriggerCause = "leases" | "kernel";

/** The data-plane reconcile loop. */
export class ReconcileLoop {
  readonly #o:
    & Required<Omit<ReconcileLoopOptions, "openMonitor" | "onFieldsChanged" | "scope">>
    & ReconcileLoopOptions;
  #pending = false;
  /** Whether the next run must read the kernel (something besides a lease change asked for it). */
  #full = true;
  #wake: (() => void) | undefined;
  #peers: ReadonlyMap<string, PeerState> = new Map();
  #last: (ReconcileReport & { readonly at: string; readonly durationMs: number }) | undefined;
  #runs = 0;
  #lastEnd = -Infinity;
  #monitorLive = false;

  /** @param options backend, lease source, logger, metrics and timing */
  constructor(options: ReconcileLoopOptions) {
    this.#o = { resyncMs: 10_000, quietResyncMs: 300_000, debounceMs: 10, ...options };
  }

  /** Per-peer state after the last run. */
  get peers(): ReadonlyMap<string, PeerState> {
    return this.#peers;
  }

  /** The last run's report, with when it ran and how long it took. */
  get last(): (ReconcileReport & { readonly at: string; readonly durationMs: number }) | undefined {
    return this.#last;
  }

  /** Completed runs. */
  get runs(): number {
    return this.#runs;
  }

  /** Asks for a run soon (coalesced with other triggers). */
  trigger(cause: TriggerCause = "kernel"): void {
    this.#pending = true;
    if (cause !== "leases") this.#full = true;
    this.#wake?.();
  }

  /**
   * One reconcile now; never throws (failures are logged, counted, and retried by {@linkcode run}).
   *
   * When `signal` aborts mid-run this resolves with `undefined` at once, leaving the backend's call to finish
   * (or die with the process) on its own: with thousands of peers a full reprogram takes seconds, which a
   * shutdown must not wait for. What it leaves half-done, the next start's first run completes.
   */
  async runOnce(signal?: AbortSignal, options: ReconcileOptions = {}): Promise<ReconcileReport | undefined> {
    if (signal?.aborted) return undefined;
    const { backend, metrics, logger } = this.#o;
    const labels = { backend: backend.type };
    const started = performance.now();
    let report: ReconcileReport;
    let rejected: ReadonlyMap<string, PeerState> = new Map();
    try {
      const own = this.#o.source.lease;
      let snapshot = this.#o.source.snapshot;
      if (this.#o.scope) ({ snapshot, rejected } = screenSnapshot(snapshot, own, this.#o.scope));
      report = await untilAborted(backend.reconcile(snapshot, own, options), signal);
    } catch (error) {
      if (signal?.aborted) {
        logger.debug(1, "Shutting down; not waiting for the reconcile in progress");
        return undefined;
      }
      metrics.inc("flannel_reconcile_errors_total", labels);
      logger.error("Reconciling the data plane failed; retrying", { error });
      return undefined;
    }
    const durationMs = performance.now() - started;
    this.#runs++;
    metrics.inc("flannel_reconcile_runs_total", labels);
    metrics.observe("flannel_reconcile_duration_seconds", labels, durationMs / 1000);
    metrics.inc("flannel_kernel_entries_added_total", labels, report.added);
    metrics.inc("flannel_kernel_entries_removed_total", labels, report.removed);
    if (report.errors > 0) metrics.inc("flannel_reconcile_errors_total", labels, report.errors);
    if (report.deviceRecreated) metrics.inc("flannel_device_recreations_total", labels);
    metrics.set("flannel_leases_out_of_network", labels, rejected.size);
    if (rejected.size > 0) report = { ...report, peers: new Map([...report.peers, ...rejected]) };
    this.#reportPeers(report.peers);
    this.#last = { ...report, at: new Date().toISOString(), durationMs };
    if (report.added > 0 || report.removed > 0) {
      logger.info("Reconciled the data plane", {
        added: report.added,
        removed: report.removed,
        errors: report.errors,
        ms: Math.round(durationMs * 10) / 10,
      });
    } else {
      logger.debug(2, "Reconciled the data plane: nothing to change", {
        ms: Math.round(durationMs * 10) / 10,
      });
    }
    if (report.fieldsChanged && this.#o.onFieldsChanged) {
      await this.#o.onFieldsChanged().catch((error) =>
        logger.error("Re-publishing our lease failed", { error })
      );
    }
    return report;
  }

  #reportPeers(peers: ReadonlyMap<string, PeerState>): void {
    const { logger, metrics, backend } = this.#o;
    const before = this.#peers;
    const counts = { programmed: 0, ignored: 0, error: 0 };
    for (const [peer, state] of peers) {
      counts[state.state]++;
      const prior = before.get(peer);
      if (state.state === "error") {
        if (prior?.state !== "error" || prior.reason !== state.reason) {
          logger.error(`Peer ${peer}: ${state.reason}`, { peer });
          metrics.inc("flannel_peer_errors_total", { backend: backend.type, peer });
        }
      } else if (prior?.state === "error") {
        logger.info(`Peer ${peer} recovered`, { peer, state: state.state });
      } else if (state.state === "ignored" && prior?.state !== "ignored") {
        logger.info(`Ignoring peer ${peer}: ${state.reason}`, { peer });
      }
    }
    metrics.reset("flannel_peers");
    for (const [state, n] of Object.entries(counts)) {
      metrics.set("flannel_peers", { backend: backend.type, state }, n);
    }
    this.#peers = peers;
  }

  #sleep(ms: number, signal: AbortSignal): Promise<"timer" | "wake"> {
    // An abort listener added to an already aborted signal never fires: do not wait out the timer.
    if (signal.aborted) return Promise.resolve("wake");
    return new Promise((resolve) => {
      const done = (why: "timer" | "wake") => {
        clearTimeout(timer);
        signal.removeEventListener("abort", onAbort);
        this.#wake = undefined;
        resolve(why);
      };
      const onAbort = () => done("wake");
      const timer = setTimeout(() => done("timer"), ms);
      this.#wake = () => done("wake");
      signal.addEventListener("abort", onAbort);
    });
  }

  async #watchEvents(signal: AbortSignal): Promise<void> {
    const open = this.#o.openMonitor;
    if (!open || signal.aborted) return;
    let monitor: ReturnType<typeof open>;
    try {
      monitor = open();
    } catch (error) {
      this.#o.logger.warn("Cannot subscribe to netlink events; healing only on the periodic resync", {
        error,
      });
      return;
    }
    const onAbort = () => monitor.close();
    signal.addEventListener("abort", onAbort);
    // A signal that aborted before we subscribed fires no event: the iterator would wait forever on the
    // netlink socket (a SIGTERM during start-up left the agent running).
    if (signal.aborted) monitor.close();
    this.#monitorLive = true;
    try {
      for await (const event of monitor) {
        const verdict = event.kind === "overrun"
          ? "topology"
          : this.#o.backend.classifyEvent?.(event) ?? "ignore";
        if (event.kind === "overrun") this.#o.backend.invalidateReach?.();
        if (verdict !== "ignore") this.trigger();
      }
    } catch (error) {
      if (!signal.aborted) this.#o.logger.error("The netlink event subscription failed", { error });
    } finally {
      // Without events, only the short timer heals: go back to it at once.
      this.#monitorLive = false;
      if (!signal.aborted) this.trigger();
      signal.removeEventListener("abort", onAbort);
      monitor.close();
    }
  }

  /**
   * Runs until `signal` aborts: an initial run, then on triggers, events and the resync timer. The initial run
   * is skipped when {@linkcode runOnce} already succeeded and nothing asked for a run since (the daemon
   * programs every peer before it is ready): a second full reconcile straight after the first finds nothing
   * to change, but at 10,000 peers it re-dumps 30,000 kernel entries and was the start-up's peak memory.
   */
  async run(signal: AbortSignal): Promise<void> {
    const events = this.#watchEvents(signal);
    if (this.#runs === 0) this.#pending = true;
    while (!signal.aborted) {
      if (!this.#pending) {
        // A peer left in error (an unreachable host-gw gateway, an IPv6 address still tentative) may heal with
        // no event about our entries, so it keeps the short timer; only a settled node can wait for events.
        const settled = [...this.#peers.values()].every((p) => p.state !== "error");
        const wait = this.#monitorLive && settled ? this.#o.quietResyncMs : this.#o.resyncMs;
        const why = await this.#sleep(wait, signal);
        if (signal.aborted) break;
        if (why === "timer") {
          this.#o.backend.invalidateReach?.();
          this.#full = true;
        }
      }
      // Coalesce bursts without delaying a lone event: the first trigger after a quiet period runs at once
      // (after a microtask, so the rest of the etcd watch message, applied synchronously, lands first);
      // triggers that arrive within the window after a run wait for the rest of the window and share one
      // run. Not `setTimeout(0)`: a timer scheduled from timer callbacks is clamped (HTML's nesting rule,
      // which Deno follows) and cost a lone lease about 2 ms, more than the reconcile itself.
      if (this.#pending) {
        const wait = this.#o.debounceMs - (performance.now() - this.#lastEnd);
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        else await new Promise((r) => queueMicrotask(() => r(undefined)));
      }
      const leasesOnly = !this.#full && this.#monitorLive;
      this.#pending = false;
      this.#full = false;
      const report = await this.runOnce(signal, { leasesOnly });
      this.#lastEnd = performance.now();
      if (!report && !signal.aborted) {
        await this.#sleep(1000, signal);
        this.#pending = true;
        this.#full = true;
      }
    }
    await events;
  }
}
