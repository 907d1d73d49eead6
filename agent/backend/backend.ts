/**
 * The backend seam: what the daemon asks of vxlan, host-gw and udp.
 *
 * A backend is set up before the lease is acquired (it may create a device whose MAC the lease publishes),
 * activated once our lease is known (addresses, the whole-network route, a userspace proxy), and then asked
 * again and again to converge the kernel to the lease snapshot. `plan` is pure; `reconcile` applies the
 * difference between the plan and what the kernel holds, so every call heals whatever drifted.
 *
 * @module
 */
import type { Logger } from "../../cli/log.ts";
import type { BackendType, NetworkConfig } from "../config/mod.ts";
import type { ExternalInterface } from "../iface.ts";
import type { Netlink, NetlinkEvent } from "../netlink/mod.ts";
import type { Lease } from "../subnet/lease.ts";
import type { BackendLeaseFields } from "./lease_fields.ts";

/** The backend types flannel-lab implements (the config names them). */
export type { BackendType } from "../config/mod.ts";

/** What a backend gets to work with. */
export interface BackendContext {
  readonly config: NetworkConfig;
  readonly ext: ExternalInterface;
  readonly nl: Netlink;
  readonly logger: Logger;
}

/** The state of one peer after a reconcile. */
export type PeerState =
  | { readonly state: "programmed"; readonly via: "tunnel" | "direct" | "gateway" | "proxy" }
  | { readonly state: "ignored"; readonly reason: string }
  | { readonly state: "error"; readonly reason: string };

/** What one reconcile did. */
export interface ReconcileReport {
  readonly added: number;
  readonly removed: number;
  readonly errors: number;
  /** Keyed by lease key name (`10.5.52.0-24`). */
  readonly peers: ReadonlyMap<string, PeerState>;
  /**
   * Set when what our lease publishes changed during this reconcile (vxlan: the device's MAC changed behind
   * our back); the daemon then re-publishes the lease.
   */
  readonly fieldsChanged?: boolean;
  /** Set when the backend had to recreate its device (counted in /metrics). */
  readonly deviceRecreated?: boolean;
}

/** How much a reconcile may take for granted. */
export interface ReconcileOptions {
  /**
   * Only leases changed since the last reconcile, and a live netlink subscription would have reported any
   * change to the kernel since (an entry deleted, the device or the underlay changed, events lost). A backend
   * may then skip its dumps and device checks and apply just the difference between its last plan and the new
   * one, when that last plan was applied in full. Without it, every reconcile reads the kernel.
   */
  readonly leasesOnly?: boolean;
}

/** What a netlink event means to a backend: nothing, "reconcile now", or "the underlay changed, re-resolve". */
export type EventVerdict = "ignore" | "reconcile" | "topology";

/** A data-plane backend. */
export interface Backend extends AsyncDisposable {
  readonly type: BackendType;
  /** The MTU pods get (FLANNEL_MTU). */
  readonly mtu: number;
  /** What our lease publishes; valid after `create` (vxlan: the VTEP MAC of the device). */
  leaseFields(): BackendLeaseFields;
  /** Called once our lease is known, and again if it moves to another subnet. */
  activate(own: Lease): Promise<void>;
  /** Converges the kernel to the snapshot (which includes our own lease). */
  reconcile(
    snapshot: ReadonlyMap<string, Lease>,
    own: Lease,
    options?: ReconcileOptions,
  ): Promise<ReconcileReport>;
  /** Removes everything this backend owns on the node (devices, routes, neighbours, FDB entries). */
  teardown(): Promise<void>;
  /**
   * Optional: classifies a netlink event (link, addr, route, neigh, overrun) so the reconciler wakes at once
   * when someone deletes or changes one of our entries. Without it, only lease events and the periodic resync
   * trigger a reconcile.
   */
  classifyEvent?(event: NetlinkEvent): EventVerdict;
}
