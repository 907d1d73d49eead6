/**
 * The reconciler every route-based backend (vxlan, host-gw) shares: desired kernel state as data, the diff
 * against what the kernel holds, the batched apply, which netlink events matter, which leases are in scope,
 * and the loop that decides when all of it runs.
 *
 * - pure: `desired.ts` (the plan's data types and helpers), `changes.ts` (ownership and the change set),
 *   `events.ts` (which events wake the loop), `lease_scope.ts` (leases outside the network reach no backend)
 * - I/O: `kernel.ts` (dump, apply, converge, peer reachability), `loop.ts` ({@linkcode ReconcileLoop})
 *
 * @example Converge one scope to a plan
 * ```ts ignore
 * import { converge } from "./mod.ts";
 * const result = await converge(nl, desired, { device: vx.index, extIndex, networks: [network], family: 4 });
 * const failed = result.failures.length;
 * ```
 *
 * @module
 */
export {
  type DesiredFdb,
  type DesiredNeigh,
  type DesiredRoute,
  type DesiredState,
  EMPTY_PLAN,
  fdbKey,
  indexPlan,
  IP6_RT_PRIO_USER,
  leaseFamilyPart,
  mergePeerStates,
  normalizeMac,
  type PeerReach,
  type PeerWording,
  type PlanIndex,
  type PlannablePeer,
  type ReachLookup,
  routeKey,
  screenPeer,
} from "./desired.ts";
export {
  type Change,
  changeRequest,
  describeChange,
  diffPlan,
  diffState,
  isOwnedFdb,
  isOwnedNeigh,
  isOwnedRoute,
  type Observed,
  type OwnershipScope,
  scopeAf,
} from "./changes.ts";
export { classifyEvent, type EventContext } from "./events.ts";
export { type LeaseScope, type ScopedSnapshot, screenSnapshot, subnetOutOfScope } from "./lease_scope.ts";
export {
  applyChanges,
  type ApplyResult,
  type ChangeFailure,
  converge,
  type ConvergeOptions,
  type ConvergeResult,
  convergeSlot,
  type PlanSlot,
  ReachResolver,
  readObserved,
  resolveExtIndex,
} from "./kernel.ts";
export { type LeaseSource, ReconcileLoop, type ReconcileLoopOptions, type TriggerCause } from "./loop.ts";
