/**
 * The vxlan backend: one VXLAN device per address family (`flannel.<VNI>`, `flannel-v6.<VNI>`) and, per remote
 * node, an ARP entry, an FDB entry and a route (or, with DirectRouting and a directly reachable peer, only a
 * route). The design note is at the top of `backend.ts`.
 *
 * - `backend.ts`: {@linkcode VxlanBackend}, the `Backend` the daemon drives
 * - `plan.ts`: {@linkcode planVxlan}, the desired kernel state for a lease snapshot (pure)
 * - `device.ts`: creating, adopting and fixing the device
 *
 * @example Plan the kernel entries for a snapshot, without touching the kernel
 * ```ts ignore
 * import { planVxlan } from "./mod.ts";
 * const desired = planVxlan(snapshot, own, { device: vx.index, extIndex, directRouting: false, reach: () => undefined });
 * ```
 *
 * @module
 */
export { VXLAN6_OVERHEAD, VxlanBackend, type VxlanLeaseFields, vxlanStackSpecs } from "./backend.ts";
export { planVxlan, type VxlanPlanContext } from "./plan.ts";
export { type VxlanDeviceSpec } from "./device.ts";
