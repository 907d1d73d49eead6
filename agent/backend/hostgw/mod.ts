/**
 * The host-gw backend: no device and no encapsulation; per remote node one route `<peer subnet> via <peer
 * PublicIP> dev <external interface>`, only for peers the kernel reaches directly on that interface (any other
 * peer is an error that names it and suggests the fix). The design note is at the top of `backend.ts`.
 *
 * - `backend.ts`: {@linkcode HostGwBackend}, the `Backend` the daemon drives
 * - `plan.ts`: {@linkcode planHostGw}, the desired kernel state for a lease snapshot (pure)
 *
 * @example Plan the routes for a snapshot, without touching the kernel
 * ```ts ignore
 * import { planHostGw } from "./mod.ts";
 * const reach = await new ReachResolver(nl).resolve(publicIps);
 * const desired = planHostGw(snapshot, own, { extIndex, extName: "eth1", reach });
 * ```
 *
 * @module
 */
export { HostGwBackend } from "./backend.ts";
export { type HostGwPlanContext, hostGwUnreachable, planHostGw } from "./plan.ts";
