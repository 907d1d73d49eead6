/**
 * The store of network config and leases, as an interface: the etcd implementation talks to a real cluster,
 * tests may hand the manager any object of this shape.
 *
 * Upstream's registry renews with an unconditional put; ours offers guarded writes (`ifRevision`) so a node that
 * returns after its lease expired cannot overwrite a subnet since given to another node.
 *
 * @module
 */
import type { Lease, LeaseAttrs, LeaseSubnets } from "./lease.ts";

/** A key under `<prefix>/subnets/` whose value could not be decoded; skipped, and logged once. */
export interface MalformedLease {
  readonly key: string;
  readonly revision: bigint;
  readonly reason: string;
}

/** All leases at one revision. */
export interface LeaseListing {
  readonly leases: readonly Lease[];
  readonly malformed: readonly MalformedLease[];
  /** The store revision the listing was taken at; watch from `revision + 1n`. */
  readonly revision: bigint;
}

/** One batch of changes from the watch, all at revisions ≤ `revision`. */
export interface WatchBatch {
  readonly events: readonly RegistryEvent[];
  readonly malformed: readonly MalformedLease[];
  readonly revision: bigint;
}

/** A change to one lease key. `removed` carries only the subnets (the key), no attributes. */
export type RegistryEvent =
  | { readonly kind: "put"; readonly lease: Lease }
  | { readonly kind: "delete"; readonly subnets: LeaseSubnets; readonly revision: bigint };

/** Options of a lease write. */
export interface WriteOptions {
  /** Attach a new TTL of this many seconds; `undefined` writes a reservation (no TTL). */
  readonly ttlSeconds: number | undefined;
}

/** Options of an update. */
export interface UpdateOptions extends WriteOptions {
  /** Write only if the key's mod revision is still this one. */
  readonly ifRevision: bigint;
  /** An etcd lease the key was attached to before, revoked after a successful update (no orphaned leases). */
  readonly previousEtcdLeaseId?: string | undefined;
}

/** Raised when the store cannot be reached; the caller retries. */
export class RegistryUnavailableError extends Error {
  override name = "RegistryUnavailableError";
}

/** The network config key does not exist yet. */
export class ConfigNotFoundError extends Error {
  override name = "ConfigNotFoundError";
}

/** The store of config and leases. */
export interface Registry extends AsyncDisposable {
  /** The raw JSON text of `<prefix>/config`; throws {@linkcode ConfigNotFoundError} when absent. */
  getNetworkConfig(): Promise<string>;
  /** Writes `<prefix>/config` unless it exists; returns whether it wrote. */
  putNetworkConfigIfAbsent(text: string): Promise<boolean>;
  /** All leases, decoded, at one revision. */
  listLeases(): Promise<LeaseListing>;
  /** One lease, or `undefined`. */
  getLease(subnets: LeaseSubnets): Promise<Lease | undefined>;
  /** Creates the key only if it does not exist; returns `undefined` when another node holds it already. */
  createLease(subnets: LeaseSubnets, attrs: LeaseAttrs, options: WriteOptions): Promise<Lease | undefined>;
  /** Rewrites the key if its mod revision is unchanged; returns `undefined` when it changed or vanished. */
  updateLease(subnets: LeaseSubnets, attrs: LeaseAttrs, options: UpdateOptions): Promise<Lease | undefined>;
  /** Deletes the key if its mod revision is unchanged (or unconditionally without one). */
  deleteLease(subnets: LeaseSubnets, ifRevision?: bigint): Promise<boolean>;
  /**
   * Watches `<prefix>/subnets/` from a revision. The iterator ends or throws when the watch breaks (compaction,
   * lost connection past the timeout); callers then re-list and watch again from the listing's revision.
   */
  watchLeases(fromRevision: bigint, signal: AbortSignal): AsyncIterable<WatchBatch>;
}
