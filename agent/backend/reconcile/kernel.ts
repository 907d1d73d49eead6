/**
 * The reconciler's I/O: dump what the kernel holds, apply a change set in one netlink batch, and resolve how
 * the kernel reaches peers (for host-gw and DirectRouting). Everything else is pure, in `reconcile/changes.ts` and the
 * backends' plan modules.
 *
 * @module
 */
import { type Netlink, NetlinkError } from "../../netlink/mod.ts";
import type { PeerState } from "../backend.ts";
import { type DesiredState, indexPlan, type PeerReach, type PlanIndex } from "./desired.ts";
import {
  type Change,
  changeRequest,
  describeChange,
  diffPlan,
  diffState,
  type Observed,
  type OwnershipScope,
  scopeAf,
} from "./changes.ts";

/**
 * Dumps the main-table routes of the scope's family, and, when there is a tunnel device, its neighbours of that
 * family and its FDB entries.
 *
 * @example
 * ```ts ignore
 * const observed = await readObserved(nl, { device: 5, extIndex: 2, networks });
 * ```
 */
export async function readObserved(nl: Netlink, scope: OwnershipScope): Promise<Observed> {
  const family = scopeAf(scope);
  const routes = await nl.route.list({ family });
  if (scope.device === undefined) return { routes, neighs: [], fdbs: [] };
  const neighs = await nl.neigh.list({ family, index: scope.device });
  const fdbs = await nl.fdb.list({ index: scope.device });
  return { routes, neighs, fdbs };
}

/** Changes encoded and sent per `batch` call: the most ACKs one send of the socket waits for. */
const APPLY_CHUNK = 1024;

/** A change the kernel refused. */
export interface ChangeFailure {
  readonly change: Change;
  readonly error: NetlinkError;
}

/** What applying a change set did. */
export interface ApplyResult {
  readonly added: number;
  readonly removed: number;
  readonly failures: readonly ChangeFailure[];
}

/**
 * Sends the change set as one batch. A delete of something already gone counts as done; every other refusal
 * is reported with its change, never thrown.
 *
 * @example
 * ```ts ignore
 * const { added, removed, failures } = await applyChanges(nl, diffState(desired, observed, scope));
 * ```
 */
export async function applyChanges(nl: Netlink, changes: readonly Change[]): Promise<ApplyResult> {
  let added = 0;
  let removed = 0;
  const failures: ChangeFailure[] = [];
  // The requests are encoded a chunk at a time, not all at once: an encoded request (its payload buffer and
  // summary) weighs several times its change, and at 10,000 peers the 30,000 of them were the largest thing
  // alive during a cold start. A chunk is no larger than what the socket sends at once anyway.
  for (let start = 0; start < changes.length; start += APPLY_CHUNK) {
    const chunk = changes.slice(start, start + APPLY_CHUNK);
    const results = await nl.batch(chunk.map(changeRequest));
    results.forEach((r, i) => {
      const change = chunk[i]!;
      if (r.ok || (change.op === "del" && ["ESRCH", "ENOENT", "ENODEV"].includes(r.error.code))) {
        if (change.op === "set") added++;
        else removed++;
      } else {
        failures.push({ change, error: r.error });
      }
    });
  }
  return { added, removed, failures };
}

/** The outcome of one converge step. */
export interface ConvergeResult extends ApplyResult {
  readonly changes: readonly Change[];
  /** The plan's peer states, with peers whose entries the kernel refused turned into errors. */
  readonly peers: ReadonlyMap<string, PeerState>;
}

/** What {@linkcode converge} may reuse. */
export interface ConvergeOptions {
  /** `indexPlan(desired)`, when the caller keeps it anyway (for event matching). */
  readonly index?: PlanIndex | undefined;
  /**
   * A plan the kernel is known to hold. Given, the kernel is not read: the change set is the difference between
   * the two plans ({@linkcode diffPlan}), the fast path for a lease change while netlink events watch for
   * everything else.
   */
  readonly known?: PlanIndex | undefined;
}

/**
 * Reads the kernel, diffs it against `desired` and applies the difference: the whole level-triggered step.
 *
 * @example
 * ```ts ignore
 * const result = await converge(nl, planHostGw(snapshot, own, ctx), scope);
 * ```
 */
export async function converge(
  nl: Netlink,
  desired: DesiredState,
  scope: OwnershipScope,
  options: ConvergeOptions = {},
): Promise<ConvergeResult> {
  const index = options.index ?? indexPlan(desired);
  const changes = options.known
    ? diffPlan(options.known, index, scope)
    : diffState(index, await readObserved(nl, scope), scope);
  const applied = await applyChanges(nl, changes);
  let peers = desired.peers;
  if (applied.failures.length > 0) {
    const updated = new Map(peers);
    for (const f of applied.failures) {
      if (f.change.op !== "set") continue;
      const peer = f.change.entry.peer;
      const prior = updated.get(peer);
      const reason = `the kernel refused "${describeChange(f.change)}": ${f.error.message}`;
      if (prior?.state !== "error") updated.set(peer, { state: "error", reason });
    }
    peers = updated;
  }
  return { ...applied, changes, peers };
}

/** One scope's last plan, kept by a backend between reconciles. */
export interface PlanSlot {
  /** What netlink events are matched against ({@linkcode classifyEvent}), and the next diff's start. */
  plan: PlanIndex;
  /** Whether the kernel holds `plan` in full: the last converge applied it without a failure. */
  applied: boolean;
}

/**
 * Converges one scope to `desired` and records it in `slot`. The plan is indexed into the slot before the
 * batch goes out, so the events our own changes cause match it. With `leasesOnly` and a slot whose plan the
 * kernel holds in full, the kernel is not read: the difference of the two plans is applied.
 *
 * @example
 * ```ts ignore
 * const result = await convergeSlot(nl, stack, planVxlan(snapshot, own, ctx), scope, options.leasesOnly);
 * ```
 */
export async function convergeSlot(
  nl: Netlink,
  slot: PlanSlot,
  desired: DesiredState,
  scope: OwnershipScope,
  leasesOnly: boolean,
): Promise<ConvergeResult> {
  const known = leasesOnly && slot.applied ? slot.plan : undefined;
  slot.plan = indexPlan(desired);
  const result = await converge(nl, desired, scope, { index: slot.plan, known });
  slot.applied = result.failures.length === 0;
  return result;
}

/**
 * Resolves how the kernel reaches PublicIPs (`ip route get`), caching answers that say "directly on an
 * interface" or "through a gateway" until {@linkcode ReachResolver.invalidate} (a topology change or the
 * periodic resync). Unreachable answers are never cached, so an unreachable peer is retried on every reconcile.
 */
export class ReachResolver {
  readonly #nl: Netlink;
  readonly #cache = new Map<string, PeerReach>();

  /** @param nl the connection to ask */
  constructor(nl: Netlink) {
    this.#nl = nl;
  }

  /** Forgets every cached answer. */
  invalidate(): void {
    this.#cache.clear();
  }

  /** Resolves every address in `ips` not cached yet; returns a lookup over the cache. */
  async resolve(ips: Iterable<string>): Promise<(ip: string) => PeerReach | undefined> {
    const answers = new Map<string, PeerReach>();
    for (const ip of ips) {
      if (answers.has(ip)) continue;
      let reach = this.#cache.get(ip);
      if (!reach) {
        reach = await this.#ask(ip);
        if (reach.kind !== "unreachable") this.#cache.set(ip, reach);
      }
      answers.set(ip, reach);
    }
    return (ip) => answers.get(ip);
  }

  async #ask(ip: string): Promise<PeerReach> {
    try {
      const r = await this.#nl.route.get(ip);
      if (r.oif === undefined) return { kind: "unreachable", reason: `route type ${r.type}` };
      // Type 1 is unicast; local (2), blackhole (6), unreachable (7), prohibit (8) are not a way to the peer.
      if (r.type !== 1) return { kind: "unreachable", reason: `route type ${r.type}` };
      return r.gateway ? { kind: "gateway", oif: r.oif, gateway: r.gateway } : { kind: "direct", oif: r.oif };
    } catch (error) {
      if (error instanceof NetlinkError) return { kind: "unreachable", reason: error.code };
      throw error;
    }
  }
}

/**
 * Finds the external interface by name; when it was deleted and recreated (same name, new ifindex) returns
 * the new index. Throws while it is gone, so the reconcile loop retries until it returns.
 */
export async function resolveExtIndex(nl: Netlink, name: string, current: number): Promise<number> {
  const link = await nl.link.find(name);
  if (!link) {
    throw new Error(
      `The external interface "${name}" is gone (was ifindex ${current}): waiting for it to return`,
    );
  }
  return link.index;
}
