/**
 * The etcd v3 registry: upstream flanneld's keys, values, TTLs and create transaction, spoken through etcd's
 * JSON gateway ({@linkcode EtcdHttpClient}).
 *
 * - Create: grant a TTL lease, then `If(Version(key) == 0) Then(Put(key, value, lease))`; a lost race revokes
 *   the granted lease (as upstream does) and reports "taken" so the manager can try another subnet.
 * - Update (renewal, reuse): a new TTL lease and a put guarded by the key's mod revision; the previous etcd
 *   lease is revoked afterwards, where upstream leaves it orphaned for up to 24 h.
 * - List: pages of {@linkcode LIST_PAGE} keys, all read at the revision of the first page, so a listing is one
 *   consistent snapshot however large, and no response outgrows etcd's message limits.
 * - Watch: one prefix watch on `<prefix>/subnets/`; any break (compaction, cancel, a lost connection, a watch
 *   not established in time) ends the iterator with an error and the manager re-lists.
 *
 * Every unary call carries a deadline, so a dead etcd yields a {@linkcode RegistryUnavailableError} instead of
 * a call that waits forever; the manager owns retries and backoff.
 *
 * @module
 */
import type { Lease, LeaseAttrs, LeaseSubnets } from "./lease.ts";
import { EtcdCallError, EtcdHttpClient } from "./etcd_http.ts";
import {
  decodeKeyValue,
  encodeBytes,
  headerRevision,
  type KeyValue,
  prefixRangeEnd,
  type WireHeader,
  type WireKeyValue,
} from "./etcd_wire.ts";
import {
  configKey,
  decodeLeaseAttrs,
  encodeLeaseAttrs,
  leaseKeyPath,
  parseLeaseKey,
  subnetsPrefix,
} from "./lease_codec.ts";
import {
  ConfigNotFoundError,
  type LeaseListing,
  type MalformedLease,
  type Registry,
  type RegistryEvent,
  RegistryUnavailableError,
  type UpdateOptions,
  type WatchBatch,
  type WriteOptions,
} from "./registry.ts";

/** Keys per page of a listing. */
export const LIST_PAGE = 5000;

/** How to reach etcd; the fields mirror flanneld's `--etcd-*` flags. */
export interface EtcdConnectOptions {
  readonly endpoints: readonly string[];
  readonly prefix: string;
  readonly keyFile?: string | undefined;
  readonly certFile?: string | undefined;
  readonly caFile?: string | undefined;
  readonly username?: string | undefined;
  readonly password?: string | undefined;
  /** Deadline of each unary call (default 5 s). */
  readonly callTimeoutMs?: number;
  /** How long a watch may take to be established before it counts as broken (default 10 s). */
  readonly watchCreateTimeoutMs?: number;
}

/** Turns a transient failure into {@linkcode RegistryUnavailableError}; anything else passes through. */
function unavailable(error: unknown, what: string): never {
  if (error instanceof RegistryUnavailableError) throw error;
  if (error instanceof EtcdCallError) {
    if (error.retryable) {
      throw new RegistryUnavailableError(`etcd is unreachable while trying to ${what}: ${error.message}`, {
        cause: error,
      });
    }
    throw new Error(`etcd refused to ${what}: ${error.message}`, { cause: error });
  }
  throw error;
}

/** Decodes one stored key-value pair into a lease, or says why it is malformed. */
function decodeLease(kv: KeyValue): { lease: Lease } | { malformed: MalformedLease } {
  const { key, modRevision: revision } = kv;
  const subnets = parseLeaseKey(key);
  if (!subnets) return { malformed: { key, revision, reason: "the key is not a subnet lease key" } };
  try {
    const attrs = decodeLeaseAttrs(kv.value);
    return { lease: { ...subnets, attrs, etcdLeaseId: kv.lease, revision } };
  } catch (error) {
    return { malformed: { key, revision, reason: error instanceof Error ? error.message : String(error) } };
  }
}

interface RangeResponse {
  readonly header?: WireHeader;
  readonly kvs?: readonly WireKeyValue[];
  readonly more?: boolean;
}

interface TxnResponse {
  readonly header?: WireHeader;
  readonly succeeded?: boolean;
}

/** A transaction compare: the key's version or mod revision equals a value. */
type Compare =
  | { readonly target: "VERSION"; readonly version: bigint }
  | { readonly target: "MOD"; readonly modRevision: bigint };

/** A {@linkcode Registry} on an etcd v3 cluster. */
export class EtcdRegistry implements Registry {
  readonly #client: EtcdHttpClient;
  readonly #prefix: string;
  readonly #watchCreateTimeoutMs: number;

  private constructor(client: EtcdHttpClient, prefix: string, watchCreateTimeoutMs: number) {
    this.#client = client;
    this.#prefix = prefix;
    this.#watchCreateTimeoutMs = watchCreateTimeoutMs;
  }

  /** Creates the client; it connects lazily, so this succeeds while etcd is down. */
  static async connect(options: EtcdConnectOptions): Promise<EtcdRegistry> {
    const client = await EtcdHttpClient.open(options);
    return new EtcdRegistry(client, options.prefix, options.watchCreateTimeoutMs ?? 10_000);
  }

  async #range(body: Record<string, unknown>, what: string): Promise<RangeResponse> {
    try {
      return await this.#client.call<RangeResponse>("/v3/kv/range", body);
    } catch (error) {
      unavailable(error, what);
    }
  }

  async #txn(key: string, compare: Compare, success: readonly unknown[], what: string): Promise<TxnResponse> {
    const cmp = compare.target === "VERSION"
      ? { target: "VERSION", key: encodeBytes(key), version: String(compare.version) }
      : { target: "MOD", key: encodeBytes(key), mod_revision: String(compare.modRevision) };
    try {
      return await this.#client.call<TxnResponse>("/v3/kv/txn", { compare: [cmp], success });
    } catch (error) {
      unavailable(error, what);
    }
  }

  async getNetworkConfig(): Promise<string> {
    const key = configKey(this.#prefix);
    const response = await this.#range({ key: encodeBytes(key) }, `read the network config at "${key}"`);
    const kv = response.kvs?.[0];
    if (!kv) throw new ConfigNotFoundError(`The network config key "${key}" does not exist`);
    return decodeKeyValue(kv).value;
  }

  async putNetworkConfigIfAbsent(text: string): Promise<boolean> {
    const key = configKey(this.#prefix);
    const put = { request_put: { key: encodeBytes(key), value: encodeBytes(text) } };
    const result = await this.#txn(
      key,
      { target: "VERSION", version: 0n },
      [put],
      `write the config "${key}"`,
    );
    return result.succeeded === true;
  }

  async listLeases(): Promise<LeaseListing> {
    const prefix = subnetsPrefix(this.#prefix);
    const rangeEnd = encodeBytes(prefixRangeEnd(prefix));
    const leases: Lease[] = [];
    const malformed: MalformedLease[] = [];
    let from = encodeBytes(prefix);
    let revision: bigint | undefined;
    for (;;) {
      const response = await this.#range({
        key: from,
        range_end: rangeEnd,
        limit: String(LIST_PAGE),
        ...(revision === undefined ? {} : { revision: String(revision) }),
      }, "list leases");
      revision ??= headerRevision(response.header);
      let last: string | undefined;
      for (const wire of response.kvs ?? []) {
        const kv = decodeKeyValue(wire);
        last = kv.key;
        const decoded = decodeLease(kv);
        if ("lease" in decoded) leases.push(decoded.lease);
        else malformed.push(decoded.malformed);
      }
      if (!response.more || last === undefined) break;
      from = encodeBytes(`${last}\0`); // the next key after the last one read
    }
    return { leases, malformed, revision };
  }

  async getLease(subnets: LeaseSubnets): Promise<Lease | undefined> {
    const key = leaseKeyPath(this.#prefix, subnets);
    const response = await this.#range({ key: encodeBytes(key) }, `read the lease "${key}"`);
    const wire = response.kvs?.[0];
    if (!wire) return undefined;
    const decoded = decodeLease(decodeKeyValue(wire));
    if ("malformed" in decoded) {
      throw new SyntaxError(`The lease "${key}" is malformed: ${decoded.malformed.reason}`);
    }
    return decoded.lease;
  }

  async #grant(ttlSeconds: number | undefined, what: string): Promise<string | undefined> {
    if (ttlSeconds === undefined) return undefined;
    try {
      const granted = await this.#client.call<{ ID?: string }>("/v3/lease/grant", {
        TTL: String(ttlSeconds),
      });
      if (!granted.ID) throw new EtcdCallError("etcd granted no lease ID", { retryable: true });
      return granted.ID;
    } catch (error) {
      unavailable(error, what);
    }
  }

  async #revoke(id: string | undefined): Promise<void> {
    if (id === undefined) return;
    try {
      await this.#client.call("/v3/lease/revoke", { ID: id });
    } catch {
      // An expired or already revoked lease: nothing to do.
    }
  }

  #put(key: string, attrs: LeaseAttrs, etcdLeaseId: string | undefined) {
    const put = { key: encodeBytes(key), value: encodeBytes(encodeLeaseAttrs(attrs)) };
    return { request_put: etcdLeaseId === undefined ? put : { ...put, lease: etcdLeaseId } };
  }

  async createLease(
    subnets: LeaseSubnets,
    attrs: LeaseAttrs,
    options: WriteOptions,
  ): Promise<Lease | undefined> {
    const key = leaseKeyPath(this.#prefix, subnets);
    const what = `create the lease "${key}"`;
    const etcdLeaseId = await this.#grant(options.ttlSeconds, what);
    const result = await this.#txn(
      key,
      { target: "VERSION", version: 0n },
      [this.#put(key, attrs, etcdLeaseId)],
      what,
    );
    if (!result.succeeded) {
      await this.#revoke(etcdLeaseId);
      return undefined;
    }
    return { ...subnets, attrs, etcdLeaseId, revision: headerRevision(result.header) };
  }

  async updateLease(
    subnets: LeaseSubnets,
    attrs: LeaseAttrs,
    options: UpdateOptions,
  ): Promise<Lease | undefined> {
    const key = leaseKeyPath(this.#prefix, subnets);
    const what = `update the lease "${key}"`;
    const etcdLeaseId = await this.#grant(options.ttlSeconds, what);
    const result = await this.#txn(
      key,
      { target: "MOD", modRevision: options.ifRevision },
      [this.#put(key, attrs, etcdLeaseId)],
      what,
    );
    if (!result.succeeded) {
      await this.#revoke(etcdLeaseId);
      return undefined;
    }
    if (options.previousEtcdLeaseId !== etcdLeaseId) await this.#revoke(options.previousEtcdLeaseId);
    return { ...subnets, attrs, etcdLeaseId, revision: headerRevision(result.header) };
  }

  async deleteLease(subnets: LeaseSubnets, ifRevision?: bigint): Promise<boolean> {
    const key = leaseKeyPath(this.#prefix, subnets);
    const what = `delete the lease "${key}"`;
    if (ifRevision === undefined) {
      try {
        const result = await this.#client.call<{ deleted?: string }>("/v3/kv/deleterange", {
          key: encodeBytes(key),
        });
        return Number(result.deleted ?? 0) > 0;
      } catch (error) {
        unavailable(error, what);
      }
    }
    const del = { request_delete_range: { key: encodeBytes(key) } };
    const result = await this.#txn(key, { target: "MOD", modRevision: ifRevision }, [del], what);
    return result.succeeded === true;
  }

  async *watchLeases(fromRevision: bigint, signal: AbortSignal): AsyncIterable<WatchBatch> {
    const prefix = subnetsPrefix(this.#prefix);
    // Ends the stream on shutdown, when the watch is not established in time, and when we stop reading.
    const own = new AbortController();
    const stop = AbortSignal.any([signal, own.signal]);
    const timer = setTimeout(
      () => own.abort(new RegistryUnavailableError("etcd did not establish the lease watch in time")),
      this.#watchCreateTimeoutMs,
    );
    const request = {
      create_request: {
        key: encodeBytes(prefix),
        range_end: encodeBytes(prefixRangeEnd(prefix)),
        start_revision: String(fromRevision),
      },
    };
    let created = false;
    try {
      for await (const message of this.#client.watch(request, stop)) {
        if (message.error) {
          throw new RegistryUnavailableError(`The lease watch broke: ${message.error.message ?? "error"}`);
        }
        const result = message.result;
        if (!result) continue;
        if (result.created) {
          created = true;
          clearTimeout(timer);
        }
        if (result.canceled) {
          const why = result.compact_revision && result.compact_revision !== "0"
            ? `revision ${fromRevision} was compacted (oldest kept: ${result.compact_revision})`
            : result.cancel_reason || "cancelled by etcd";
          throw new RegistryUnavailableError(`The lease watch ended: ${why}`);
        }
        const events: RegistryEvent[] = [];
        const malformed: MalformedLease[] = [];
        for (const event of result.events ?? []) {
          const kv = decodeKeyValue(event.kv ?? {});
          if (event.type === "DELETE") {
            const subnets = parseLeaseKey(kv.key);
            if (subnets) events.push({ kind: "delete", subnets, revision: kv.modRevision });
            continue;
          }
          const decoded = decodeLease(kv);
          if ("lease" in decoded) events.push({ kind: "put", lease: decoded.lease });
          else malformed.push(decoded.malformed);
        }
        if (events.length || malformed.length) {
          yield { events, malformed, revision: headerRevision(result.header) };
        }
      }
      if (signal.aborted) return;
      if (own.signal.aborted && !created) throw own.signal.reason;
      throw new RegistryUnavailableError("The lease watch ended");
    } catch (error) {
      if (signal.aborted) return;
      if (own.signal.aborted && !created) throw own.signal.reason;
      unavailable(error, "watch leases");
    } finally {
      clearTimeout(timer);
      own.abort();
    }
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.#client[Symbol.asyncDispose]();
  }
}
