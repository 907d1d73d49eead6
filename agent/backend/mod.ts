/**
 * The backend seam: what the daemon (and the harness) use of the data plane.
 *
 * - `backend.ts`: the {@linkcode Backend} interface and its context, per-peer states and reports
 * - `create.ts`: {@linkcode createBackend}, the backend the network config names
 * - `lease_fields.ts`: what each backend publishes in the lease, and the pod MTU (pure)
 * - `teardown.ts`: {@linkcode teardownNode}, removing everything the agent owns on a node
 *
 * The backends live in `vxlan/`, `hostgw/` and `udp/`, the reconciler they share in `reconcile/`; each has a
 * `mod.ts` of its own. Files under this folder import each other directly, never through this door, so it
 * can re-export `create.ts` (which imports every backend) without a cycle.
 *
 * @example Set up the configured backend and converge it
 * ```ts ignore
 * import { createBackend } from "./mod.ts";
 * await using backend = await createBackend({ config, ext, nl, logger });
 * await backend.activate(lease);
 * const report = await backend.reconcile(snapshot, lease);
 * ```
 *
 * @module
 */
export type {
  Backend,
  BackendContext,
  BackendType,
  EventVerdict,
  PeerState,
  ReconcileReport,
} from "./backend.ts";
export { createBackend } from "./create.ts";
export {
  type BackendLeaseFields,
  backendLeaseFields,
  backendMtu,
  UDP_OVERHEAD,
  VXLAN_OVERHEAD,
  type VxlanBackendData,
} from "./lease_fields.ts";
export { OWNED_DEVICE, removeOwnedRoutes, teardownNode, type TeardownSummary } from "./teardown.ts";
