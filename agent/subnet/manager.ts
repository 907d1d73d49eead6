/**
 * The lease manager: acquires this node's subnet, keeps it renewed, and keeps a snapshot of every lease in the
 * cluster current.
 *
 * Acquisition follows upstream flanneld (reuse the lease carrying our PublicIP, else the subnet from the previous
 * subnet.env if it is free, else a random free subnet among the first 100 of the pool), with these deliberate
 * differences, each of which upstream handles by exiting or by corrupting state:
 * - losing the create race to another node retries with another subnet (upstream exits 1);
 * - our lease vanishing (deleted by hand, or expired while etcd was away) is re-created with the same subnet
 *   while it is free, without touching the data plane (upstream exits 0);
 * - a reservation (a key without TTL) stays without TTL (upstream silently attaches one);
 * - renewals are guarded by the key's mod revision, so a node that comes back after its subnet was given away
 *   does not overwrite the new owner (upstream's unconditional put does, flannel issue #1289);
 * - an IPv6-only node is matched by its IPv6 address, not by the shared "0.0.0.0".
 *
 * The snapshot is level-triggered: on every (re)connection the full listing replaces it and the difference is
 * emitted as events, so a missed watch event or a compaction heals by itself.
 *
 * This file is the I/O loop (registry calls, retries, timers, logs, listeners). What it decides by is pure and
 * lives beside it: `acquire_plan.ts` (which lease to reuse or delete, which subnet to try), `snapshot.ts`
 * (folding listings and watch events into the snapshot), `address_clash.ts` (other hosts with our PublicIP),
 * `lease_match.ts` (which lease is ours, which attributes are equal) and `lease_format.ts` (leases in logs).
 *
 * @module
 */
import type { Logger } from "../../cli/log.ts";
import { Backoff, type Clock, systemClock } from "../clock.ts";
import type { NetworkConfig } from "../config/mod.ts";
import { formatIp, type IpNet } from "../ip.ts";
import { allocateLeaseSubnets, findOwnLeases, freePreviousSubnets, takenSubnets } from "./acquire_plan.ts";
import { findAddressClashes } from "./address_clash.ts";
import type { Lease, LeaseAttrs, LeaseEvent } from "./lease.ts";
import { leaseKeyName } from "./lease_codec.ts";
import { describeSubnets } from "./lease_format.ts";
import { sameAttrs, sameOwner } from "./lease_match.ts";
import type { LeaseListing, MalformedLease, Registry, WatchBatch } from "./registry.ts";
import { RegistryUnavailableError } from "./registry.ts";
import { applyRegistryEvents, replaceSnapshot } from "./snapshot.ts";

/** Upstream's lease TTL: 24 hours. */
export const LEASE_TTL_SECONDS = 86400;

/** Options of {@linkcode LeaseManager}. */
export interface LeaseManagerOptions {
  readonly registry: Registry;
  readonly config: NetworkConfig;
  readonly logger: Logger;
  /** The attributes to publish (PublicIP, backend data); called on every write. */
  readonly attrs: () => LeaseAttrs;
  /** The subnets this node held before (from subnet.env), tried before allocating a new one. */
  readonly previous?: { readonly subnet?: IpNet | undefined; readonly ipv6Subnet?: IpNet | undefined };
  /** Renew this long before expiry (flanneld's --subnet-lease-renew-margin, default 60 min). */
  readonly renewMarginMs?: number;
  readonly ttlSeconds?: number;
  readonly clock?: Clock;
  /** Uniform random numbers in [0, 1), for the allocator. */
  readonly random?: () => number;
}

/** What listeners receive: the events and the snapshot after applying them. */
export interface LeaseChange {
  readonly events: readonly LeaseEvent[];
  readonly snapshot: ReadonlyMap<string, Lease>;
}

/** Our lease changed subnet: the data plane and subnet.env must follow. */
export interface OwnLeaseChange {
  readonly previous: Lease;
  readonly current: Lease;
}

/** Thrown when acquisition cannot succeed without the operator (an invalid config, a full pool). */
export class LeaseAcquireError extends Error {
  override name = "LeaseAcquireError";
}

/** Keeps our lease and the cluster's lease snapshot. */
export class LeaseManager {
  readonly #o: Required<Omit<LeaseManagerOptions, "previous">> & Pick<LeaseManagerOptions, "previous">;
  readonly #log: Logger;
  readonly #snapshot = new Map<string, Lease>();
  readonly #listeners = new Set<(change: LeaseChange) => void>();
  readonly #ownListeners = new Set<(change: OwnLeaseChange) => void>();
  readonly #malformedSeen = new Set<string>();
  readonly #clashesSeen = new Set<string>();
  #own: Lease | undefined;
  #expiresAt: number | undefined;
  /** Wakes the renew loop early (our lease changed). */
  #renewWake: (() => void) | undefined;
  #watchRestarts = 0;
  /**
   * The revision of the listing the last acquisition read. The watch starts from it instead of listing again:
   * at 10,000 leases a second listing costs a quarter of a second and its size in garbage.
   */
  #listedAt: bigint | undefined;

  constructor(options: LeaseManagerOptions) {
    this.#o = {
      renewMarginMs: 60 * 60_000,
      ttlSeconds: LEASE_TTL_SECONDS,
      clock: systemClock,
      random: Math.random,
      ...options,
    };
    this.#log = options.logger;
  }

  /** Our lease; throws before {@linkcode acquire} succeeded. */
  get lease(): Lease {
    if (!this.#own) throw new Error("No lease acquired yet");
    return this.#own;
  }

  /** When our lease expires (ms since the epoch); `undefined` for a reservation. */
  get expiresAt(): number | undefined {
    return this.#expiresAt;
  }

  /** Every lease in the cluster, ours included, keyed by key name (`10.5.52.0-24`). */
  get snapshot(): ReadonlyMap<string, Lease> {
    return this.#snapshot;
  }

  /** How often the watch had to be re-established. */
  get watchRestarts(): number {
    return this.#watchRestarts;
  }

  /** Calls `listener` after every change to the snapshot. Returns an unsubscribe function. */
  onChange(listener: (change: LeaseChange) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Calls `listener` when our lease moves to another subnet. */
  onOwnLeaseChange(listener: (change: OwnLeaseChange) => void): () => void {
    this.#ownListeners.add(listener);
    return () => this.#ownListeners.delete(listener);
  }

  /**
   * Acquires our lease, retrying while etcd is unreachable (with a log line per attempt) and while other nodes
   * win create races. Throws {@linkcode LeaseAcquireError} only for what needs an operator (a full pool).
   */
  async acquire(signal: AbortSignal): Promise<Lease> {
    const backoff = new Backoff(200, 5000);
    for (let attempt = 1;; attempt++) {
      signal.throwIfAborted();
      try {
        const lease = await this.#acquireOnce();
        if (lease) {
          this.#setOwn(lease, true);
          return lease;
        }
        this.#log.info("Another node took the subnet first; trying another one", { attempt });
        await this.#o.clock.sleep(Math.round(50 + this.#o.random() * 200), signal);
      } catch (error) {
        if (!(error instanceof RegistryUnavailableError)) throw error;
        const delay = backoff.next();
        this.#log.warn(`Cannot reach etcd to acquire a lease; retrying in ${delay} ms`, {
          error: error.message,
        });
        await this.#o.clock.sleep(delay, signal);
      }
    }
  }

  /** One acquisition attempt; `undefined` when a race was lost and the caller should retry. */
  async #acquireOnce(): Promise<Lease | undefined> {
    const listing = await this.#o.registry.listLeases();
    this.#resetSnapshot(listing);
    this.#listedAt = listing.revision;
    const attrs = this.#o.attrs();
    const config = this.#o.config;
    const ttl = this.#o.ttlSeconds;

    const own = findOwnLeases(listing.leases, attrs, config);
    for (const lease of own.stale) {
      this.#log.info("Deleting our old lease: it does not fit the network config", {
        subnet: describeSubnets(lease),
      });
      await this.#o.registry.deleteLease(lease, lease.revision);
    }
    if (own.reuse) {
      const lease = own.reuse;
      const reservation = lease.etcdLeaseId === undefined;
      this.#log.info(reservation ? "Found our reservation" : "Reusing our lease", {
        subnet: describeSubnets(lease),
      });
      if (reservation && sameAttrs(lease.attrs, attrs)) return lease;
      return await this.#o.registry.updateLease(lease, attrs, {
        ttlSeconds: reservation ? undefined : ttl,
        ifRevision: lease.revision,
        previousEtcdLeaseId: lease.etcdLeaseId,
      });
    }

    const taken = takenSubnets(listing);
    const previous = freePreviousSubnets(this.#o.previous, config, taken);
    if (previous) {
      this.#log.info("Re-creating the lease of our previous subnet", { subnet: describeSubnets(previous) });
      const created = await this.#o.registry.createLease(previous, attrs, { ttlSeconds: ttl });
      if (created) return created;
    }

    const subnets = allocateLeaseSubnets(config, taken, this.#o.random);
    if (!subnets) throw new LeaseAcquireError("The network config enables neither IPv4 nor IPv6");
    const created = await this.#o.registry.createLease(subnets, attrs, { ttlSeconds: ttl });
    if (created) this.#log.info("Allocated a new lease", { subnet: describeSubnets(created) });
    return created;
  }

  #setOwn(lease: Lease, fresh: boolean): void {
    const previous = this.#own;
    this.#own = lease;
    this.#expiresAt = lease.etcdLeaseId === undefined
      ? undefined
      : fresh || this.#expiresAt === undefined
      ? this.#o.clock.now() + this.#o.ttlSeconds * 1000
      : this.#expiresAt;
    this.#applyEvents([{ kind: "put", lease }]);
    // A lease of our own that is new (acquired, or moved) can clash with any lease already there.
    if (!previous || leaseKeyName(previous) !== leaseKeyName(lease)) {
      this.#checkAddressClash(this.#snapshot.values());
    }
    if (previous && leaseKeyName(previous) !== leaseKeyName(lease)) {
      for (const listener of this.#ownListeners) listener({ previous, current: lease });
    }
    this.#renewWake?.();
  }

  /** Logs each malformed key once per revision. */
  #reportMalformed(malformed: readonly MalformedLease[]): void {
    for (const m of malformed) {
      const id = `${m.key}@${m.revision}`;
      if (this.#malformedSeen.has(id)) continue;
      this.#malformedSeen.add(id);
      this.#log.warn("Skipping a malformed lease written by another node", { key: m.key, reason: m.reason });
    }
  }

  /** Replaces the snapshot with a full listing and emits the difference. */
  #resetSnapshot(listing: LeaseListing): void {
    this.#reportMalformed(listing.malformed);
    this.#emit(replaceSnapshot(this.#snapshot, listing.leases));
  }

  #applyEvents(events: WatchBatch["events"]): void {
    this.#emit(applyRegistryEvents(this.#snapshot, events));
  }

  #emit(events: readonly LeaseEvent[]): void {
    if (events.length === 0) return;
    // Only what changed can start a clash (a new lease of our own looks at every lease, in #setOwn).
    this.#checkAddressClash(events.flatMap((e) => (e.kind === "added" ? [e.lease] : [])));
    for (const listener of this.#listeners) {
      try {
        listener({ events, snapshot: this.#snapshot });
      } catch (error) {
        this.#log.error("A lease listener failed", { error });
      }
    }
  }

  /**
   * Other hosts that publish our PublicIP (`address_clash.ts` says which and why it matters): each clash is
   * logged once, as an error naming the fix, and counted.
   */
  #checkAddressClash(leases: Iterable<Lease>): void {
    const own = this.#own;
    if (!own) return;
    const attrs = this.#o.attrs();
    for (const clash of findAddressClashes(leases, own, attrs)) {
      if (this.#clashesSeen.has(clash)) continue;
      this.#clashesSeen.add(clash);
      this.#log.error(
        `Another node uses our PublicIP: ${clash}; give each node its own address with --iface, ` +
          `--iface-regex, --iface-can-reach or --public-ip`,
        { publicIp: formatIp(attrs.publicIp) },
      );
    }
  }

  /** Address clashes seen (another host publishing our PublicIP), for metrics. */
  get addressClashes(): number {
    return this.#clashesSeen.size;
  }

  /** Whether the snapshot's copy of our key still names us as its owner. */
  #ownKeyState(): "ours" | "gone" | "taken" {
    const own = this.#own;
    if (!own) return "ours";
    const current = this.#snapshot.get(leaseKeyName(own));
    if (!current) return "gone";
    return sameOwner(current.attrs, this.#o.attrs()) ? "ours" : "taken";
  }

  /**
   * Our key vanished or another node wrote it: take the same subnet back while it is free, else acquire anew
   * (and tell the daemon the subnet moved).
   */
  async #recoverOwnLease(signal: AbortSignal): Promise<void> {
    const own = this.#own;
    if (!own) return;
    const state = this.#ownKeyState();
    if (state === "ours") return;
    if (state === "gone") {
      this.#log.warn("Our lease vanished from etcd; re-creating it with the same subnet", {
        subnet: describeSubnets(own),
      });
      const created = await this.#o.registry.createLease(own, this.#o.attrs(), {
        ttlSeconds: own.etcdLeaseId === undefined ? undefined : this.#o.ttlSeconds,
      });
      if (created) {
        this.#setOwn(created, true);
        return;
      }
    }
    this.#log.error(
      "Another node now holds our subnet; acquiring a new one (pods on this node must be recreated)",
      {
        subnet: describeSubnets(own),
      },
    );
    this.#own = undefined;
    const lease = await this.acquire(signal);
    this.#own = own;
    this.#setOwn(lease, true);
  }

  /** Runs the watch and renewal loops until `signal` aborts. Call after {@linkcode acquire}. */
  async run(signal: AbortSignal): Promise<void> {
    await Promise.all([this.#watchLoop(signal), this.#renewLoop(signal)]);
  }

  async #watchLoop(signal: AbortSignal): Promise<void> {
    const backoff = new Backoff(100, 5000);
    let outage = false;
    while (!signal.aborted) {
      try {
        let revision = this.#listedAt;
        this.#listedAt = undefined;
        if (revision === undefined) {
          const listing = await this.#o.registry.listLeases();
          this.#resetSnapshot(listing);
          revision = listing.revision;
        }
        if (outage) this.#log.info("etcd is reachable again; lease snapshot resynchronised");
        outage = false;
        backoff.reset();
        await this.#recoverOwnLease(signal);
        for await (const batch of this.#o.registry.watchLeases(revision + 1n, signal)) {
          this.#reportMalformed(batch.malformed);
          this.#applyEvents(batch.events);
          if (this.#ownKeyState() !== "ours") await this.#recoverOwnLease(signal);
        }
      } catch (error) {
        if (signal.aborted) return;
        if (!(error instanceof RegistryUnavailableError)) {
          this.#log.error("The lease watch failed", { error });
        } else if (!outage) {
          this.#log.warn("Lost the lease watch; keeping the current state and retrying", {
            error: error.message,
          });
        }
        outage = true;
      }
      if (signal.aborted) return;
      this.#watchRestarts++;
      await this.#o.clock.sleep(backoff.next(), signal).catch(() => {});
    }
  }

  async #renewLoop(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      const expiresAt = this.#expiresAt;
      const wait = expiresAt === undefined
        ? 60 * 60_000
        : Math.max(0, expiresAt - this.#o.renewMarginMs - this.#o.clock.now());
      const woken = new Promise<void>((resolve) => (this.#renewWake = resolve));
      await Promise.race([this.#o.clock.sleep(wait, signal).catch(() => {}), woken]);
      this.#renewWake = undefined;
      if (signal.aborted) return;
      if (this.#expiresAt === undefined || this.#expiresAt !== expiresAt) continue;
      if (this.#expiresAt - this.#o.renewMarginMs > this.#o.clock.now()) continue;
      try {
        await this.renew(signal);
      } catch (error) {
        this.#log.error("Renewing our lease failed; retrying in 1 minute", {
          error: (error as Error).message,
        });
        await this.#o.clock.sleep(60_000, signal).catch(() => {});
      }
    }
  }

  /**
   * Extends our lease by a fresh TTL with a guarded write. A key that vanished is re-created; a key another node
   * took makes us acquire anew.
   */
  async renew(signal: AbortSignal): Promise<void> {
    const own = this.#own;
    if (!own) throw new Error("No lease to renew");
    for (let attempt = 0; attempt < 5; attempt++) {
      const current = await this.#o.registry.getLease(own);
      if (!current || !sameOwner(current.attrs, this.#o.attrs())) {
        if (current) this.#snapshot.set(leaseKeyName(current), current);
        else this.#snapshot.delete(leaseKeyName(own));
        await this.#recoverOwnLease(signal);
        return;
      }
      const reservation = current.etcdLeaseId === undefined;
      const updated = await this.#o.registry.updateLease(own, this.#o.attrs(), {
        ttlSeconds: reservation ? undefined : this.#o.ttlSeconds,
        ifRevision: current.revision,
        previousEtcdLeaseId: current.etcdLeaseId,
      });
      if (updated) {
        this.#log.info("Renewed our lease", {
          subnet: describeSubnets(updated),
          expires: reservation
            ? "never"
            : new Date(this.#o.clock.now() + this.#o.ttlSeconds * 1000).toISOString(),
        });
        this.#setOwn(updated, true);
        return;
      }
    }
    throw new Error("Our lease kept changing while renewing it");
  }

  /**
   * Publishes new attributes (for example a new VTEP MAC) on our lease, keeping its TTL state.
   */
  async publish(): Promise<void> {
    const own = this.#own;
    if (!own) throw new Error("No lease to update");
    const current = await this.#o.registry.getLease(own);
    if (!current) return await this.renew(new AbortController().signal);
    if (sameAttrs(current.attrs, this.#o.attrs())) return;
    const updated = await this.#o.registry.updateLease(own, this.#o.attrs(), {
      ttlSeconds: current.etcdLeaseId === undefined ? undefined : this.#o.ttlSeconds,
      ifRevision: current.revision,
      previousEtcdLeaseId: current.etcdLeaseId,
    });
    if (updated) this.#setOwn(updated, true);
  }
}
