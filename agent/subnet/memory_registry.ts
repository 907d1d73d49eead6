/**
 * An in-memory {@linkcode Registry} with etcd's revision semantics, for unit tests of the lease manager:
 * combined with a `ManualClock` it runs a day of renewals in microseconds.
 *
 * @module
 */
import type { Lease, LeaseAttrs, LeaseSubnets } from "./lease.ts";
import { leaseKeyName } from "./lease_codec.ts";
import {
  ConfigNotFoundError,
  type LeaseListing,
  type Registry,
  type RegistryEvent,
  RegistryUnavailableError,
  type UpdateOptions,
  type WatchBatch,
  type WriteOptions,
} from "./registry.ts";

/** The in-memory store; `down = true` makes every call fail as if etcd were unreachable. */
export class MemoryRegistry implements Registry {
  config: string | undefined;
  down = false;
  revision = 1n;
  readonly leases = new Map<string, Lease>();
  readonly #history: { revision: bigint; event: RegistryEvent }[] = [];
  readonly #waiters = new Set<() => void>();
  #nextLeaseId = 1;
  /** How many etcd leases were granted and revoked, to check nothing is orphaned. */
  granted = 0;
  revoked = 0;

  constructor(config?: string) {
    this.config = config;
  }

  #check(): void {
    if (this.down) throw new RegistryUnavailableError("memory registry is down");
  }

  #record(event: RegistryEvent): bigint {
    this.revision++;
    this.#history.push({ revision: this.revision, event });
    for (const wake of this.#waiters) wake();
    return this.revision;
  }

  #put(subnets: LeaseSubnets, attrs: LeaseAttrs, ttl: number | undefined): Lease {
    let etcdLeaseId: string | undefined;
    if (ttl !== undefined) {
      etcdLeaseId = String(this.#nextLeaseId++);
      this.granted++;
    }
    const lease = { ...subnets, attrs, etcdLeaseId, revision: this.revision + 1n } as Lease;
    this.leases.set(leaseKeyName(subnets), lease);
    this.#record({ kind: "put", lease });
    return lease;
  }

  /** Deletes a key as etcd would on expiry or `etcdctl del`. */
  remove(subnets: LeaseSubnets): void {
    const key = leaseKeyName(subnets);
    if (!this.leases.delete(key)) return;
    this.#record({ kind: "delete", subnets, revision: this.revision + 1n });
  }

  /** Writes a key as another node would. */
  write(subnets: LeaseSubnets, attrs: LeaseAttrs, ttl: number | undefined = 86400): Lease {
    return this.#put(subnets, attrs, ttl);
  }

  getNetworkConfig(): Promise<string> {
    this.#check();
    if (this.config === undefined) return Promise.reject(new ConfigNotFoundError("no config"));
    return Promise.resolve(this.config);
  }

  putNetworkConfigIfAbsent(text: string): Promise<boolean> {
    this.#check();
    if (this.config !== undefined) return Promise.resolve(false);
    this.config = text;
    return Promise.resolve(true);
  }

  listLeases(): Promise<LeaseListing> {
    this.#check();
    return Promise.resolve({ leases: [...this.leases.values()], malformed: [], revision: this.revision });
  }

  getLease(subnets: LeaseSubnets): Promise<Lease | undefined> {
    this.#check();
    return Promise.resolve(this.leases.get(leaseKeyName(subnets)));
  }

  createLease(subnets: LeaseSubnets, attrs: LeaseAttrs, options: WriteOptions): Promise<Lease | undefined> {
    this.#check();
    if (this.leases.has(leaseKeyName(subnets))) return Promise.resolve(undefined);
    return Promise.resolve(this.#put(subnets, attrs, options.ttlSeconds));
  }

  updateLease(subnets: LeaseSubnets, attrs: LeaseAttrs, options: UpdateOptions): Promise<Lease | undefined> {
    this.#check();
    const current = this.leases.get(leaseKeyName(subnets));
    if (!current || current.revision !== options.ifRevision) return Promise.resolve(undefined);
    if (options.previousEtcdLeaseId !== undefined) this.revoked++;
    return Promise.resolve(this.#put(subnets, attrs, options.ttlSeconds));
  }

  deleteLease(subnets: LeaseSubnets, ifRevision?: bigint): Promise<boolean> {
    this.#check();
    const current = this.leases.get(leaseKeyName(subnets));
    if (!current || (ifRevision !== undefined && current.revision !== ifRevision)) {
      return Promise.resolve(false);
    }
    this.remove(subnets);
    return Promise.resolve(true);
  }

  async *watchLeases(fromRevision: bigint, signal: AbortSignal): AsyncIterable<WatchBatch> {
    this.#check();
    let next = fromRevision;
    while (!signal.aborted) {
      if (this.down) throw new RegistryUnavailableError("memory registry went down");
      const events = this.#history.filter((h) => h.revision >= next);
      if (events.length) {
        next = this.revision + 1n;
        yield { events: events.map((e) => e.event), malformed: [], revision: this.revision };
        continue;
      }
      await new Promise<void>((resolve) => {
        const wake = () => {
          this.#waiters.delete(wake);
          signal.removeEventListener("abort", wake);
          resolve();
        };
        this.#waiters.add(wake);
        signal.addEventListener("abort", wake);
      });
    }
  }

  /** Wakes watchers so they notice `down`. */
  poke(): void {
    for (const wake of this.#waiters) wake();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return Promise.resolve();
  }
}
