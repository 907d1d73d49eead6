/**
 * The etcd v3 registry, on npm:etcd3: upstream flanneld's keys, values, TTLs and create transaction.
 *
 * - Create: grant a TTL lease, then `If(Version(key) == 0) Then(Put(key, value, lease))`; a lost race revokes
 *   the granted lease (as upstream does) and reports "taken" so the manager can try another subnet.
 * - Update (renewal, reuse): a new TTL lease and a put guarded by the key's mod revision; the previous etcd
 *   lease is revoked afterwards, where upstream leaves it orphaned for up to 24 h.
 * - Watch: one prefix watch on `<prefix>/subnets/`; any break (compaction, cancel, a timeout while connecting)
 *   ends the iterator with an error and the manager re-lists.
 *
 * Unary calls carry a deadline so a dead etcd yields a {@linkcode RegistryUnavailableError} instead of a call
 * that waits forever, and the client's circuit breaker is replaced by a no-op policy: the manager owns retries
 * and backoff, and a breaker that stays open for seconds after etcd returns would only delay recovery.
 *
 * @module
 */
import { Etcd3, type IOptions, isRecoverableError } from "etcd3";
import { ExponentialBackoff, noop } from "cockatiel";
import { Buffer } from "node:buffer";
import type { Lease, LeaseAttrs, LeaseSubnets } from "./lease.ts";
import { allowIpEndpointsOverTls } from "./_tls_servername.ts";
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

/** How to reach etcd; the fields mirror flanneld's `--etcd-*` flags. */
export interface EtcdConnectOptions {
  readonly endpoints: readonly string[];
  readonly prefix: string;
  readonly keyFile?: string;
  readonly certFile?: string;
  readonly caFile?: string;
  readonly username?: string;
  readonly password?: string;
  /** Deadline of each unary call (default 5 s). */
  readonly callTimeoutMs?: number;
  /** How long a watch may take to be established before it counts as broken (default 10 s). */
  readonly watchCreateTimeoutMs?: number;
}

/** Reads a file for TLS material, with an error that names the flag. */
async function readPem(path: string, flag: string): Promise<Buffer> {
  try {
    return Buffer.from(await Deno.readFile(path));
  } catch (error) {
    throw new Error(`Cannot read ${flag} "${path}": ${error instanceof Error ? error.message : error}`);
  }
}

/** Builds the etcd3 client options from flanneld-style settings. */
export async function etcdClientOptions(options: EtcdConnectOptions): Promise<IOptions> {
  const timeout = options.callTimeoutMs ?? 5000;
  const client: IOptions = {
    hosts: [...options.endpoints],
    dialTimeout: timeout,
    // Reconnect quickly once etcd (or the path to it) is back: the defaults back a broken watch off up to
    // 30 s (cockatiel) and a broken channel up to 120 s (gRPC), during which peers' lease changes would wait.
    faultHandling: {
      host: () => noop,
      global: noop,
      watchBackoff: new ExponentialBackoff({ initialDelay: 100, maxDelay: 1000 }) as unknown as NonNullable<
        NonNullable<IOptions["faultHandling"]>["watchBackoff"]
      >,
    },
    grpcOptions: { "grpc.initial_reconnect_backoff_ms": 100, "grpc.max_reconnect_backoff_ms": 1000 },
    // Streams (the watch) must not carry a deadline; unary calls must, or they wait for etcd forever.
    defaultCallOptions: (context) => context.isStream ? {} : { deadline: Date.now() + timeout },
  };
  if (options.endpoints.some((e) => e.startsWith("https://"))) allowIpEndpointsOverTls();
  if (options.keyFile && options.certFile) {
    client.credentials = {
      rootCertificate: options.caFile ? await readPem(options.caFile, "--etcd-cafile") : Buffer.alloc(0),
      privateKey: await readPem(options.keyFile, "--etcd-keyfile"),
      certChain: await readPem(options.certFile, "--etcd-certfile"),
    };
    if (!options.caFile) delete (client.credentials as { rootCertificate?: Buffer }).rootCertificate;
  } else if (options.caFile && options.endpoints.some((e) => e.startsWith("https://"))) {
    // Upstream ignores --etcd-cafile without a client certificate; an https endpoint signed by a private CA
    // then fails. We trust the given CA for server verification.
    client.credentials = { rootCertificate: await readPem(options.caFile, "--etcd-cafile") };
  }
  if (options.username || options.password) {
    client.auth = { username: options.username ?? "", password: options.password ?? "" };
  }
  return client;
}

function unavailable(error: unknown, what: string): never {
  if (error instanceof RegistryUnavailableError) throw error;
  const message = error instanceof Error ? error.message : String(error);
  if (
    error instanceof Error &&
    (isRecoverableError(error) || /deadline|unavailable|ECONNREFUSED/i.test(message))
  ) {
    throw new RegistryUnavailableError(`etcd is unreachable while trying to ${what}: ${message}`, {
      cause: error,
    });
  }
  throw error;
}

/** A key-value pair as etcd3 returns it. */
interface Kv {
  readonly key: Buffer;
  readonly value: Buffer;
  readonly mod_revision: string;
  readonly lease: string;
}

/** Decodes one stored key-value pair into a lease, or says why it is malformed. */
function decodeKv(kv: Kv): { lease: Lease } | { malformed: MalformedLease } {
  const key = kv.key.toString();
  const revision = BigInt(kv.mod_revision);
  const subnets = parseLeaseKey(key);
  if (!subnets) return { malformed: { key, revision, reason: "the key is not a subnet lease key" } };
  try {
    const attrs = decodeLeaseAttrs(kv.value.toString());
    const etcdLeaseId = kv.lease && kv.lease !== "0" ? kv.lease : undefined;
    return { lease: { ...subnets, attrs, etcdLeaseId, revision } };
  } catch (error) {
    return { malformed: { key, revision, reason: error instanceof Error ? error.message : String(error) } };
  }
}

/** A {@linkcode Registry} on an etcd v3 cluster. */
export class EtcdRegistry implements Registry {
  readonly #client: Etcd3;
  readonly #prefix: string;
  readonly #watchCreateTimeoutMs: number;

  private constructor(client: Etcd3, prefix: string, watchCreateTimeoutMs: number) {
    this.#client = client;
    this.#prefix = prefix;
    this.#watchCreateTimeoutMs = watchCreateTimeoutMs;
  }

  /** Creates the client; it dials lazily, so this succeeds while etcd is down. */
  static async connect(options: EtcdConnectOptions): Promise<EtcdRegistry> {
    const client = new Etcd3(await etcdClientOptions(options));
    return new EtcdRegistry(client, options.prefix, options.watchCreateTimeoutMs ?? 10_000);
  }

  /** The underlying client, for tests and tools that need raw access. */
  get client(): Etcd3 {
    return this.#client;
  }

  async getNetworkConfig(): Promise<string> {
    const key = configKey(this.#prefix);
    let value: string | null;
    try {
      value = await this.#client.get(key).string();
    } catch (error) {
      unavailable(error, `read the network config at "${key}"`);
    }
    if (value === null) throw new ConfigNotFoundError(`The network config key "${key}" does not exist`);
    return value;
  }

  async putNetworkConfigIfAbsent(text: string): Promise<boolean> {
    const key = configKey(this.#prefix);
    try {
      const result = await this.#client.if(key, "Version", "==", 0).then(this.#client.put(key).value(text))
        .commit();
      return result.succeeded;
    } catch (error) {
      unavailable(error, `write the network config at "${key}"`);
    }
  }

  async listLeases(): Promise<LeaseListing> {
    let response;
    try {
      response = await this.#client.getAll().prefix(subnetsPrefix(this.#prefix)).exec();
    } catch (error) {
      unavailable(error, "list leases");
    }
    const leases: Lease[] = [];
    const malformed: MalformedLease[] = [];
    for (const kv of response.kvs as unknown as Kv[]) {
      const decoded = decodeKv(kv);
      if ("lease" in decoded) leases.push(decoded.lease);
      else malformed.push(decoded.malformed);
    }
    return { leases, malformed, revision: BigInt(response.header.revision) };
  }

  async getLease(subnets: LeaseSubnets): Promise<Lease | undefined> {
    const key = leaseKeyPath(this.#prefix, subnets);
    let response;
    try {
      response = await this.#client.get(key).exec();
    } catch (error) {
      unavailable(error, `read the lease "${key}"`);
    }
    const kv = (response.kvs as unknown as Kv[])[0];
    if (!kv) return undefined;
    const decoded = decodeKv(kv);
    if ("malformed" in decoded) {
      throw new SyntaxError(`The lease "${key}" is malformed: ${decoded.malformed.reason}`);
    }
    return decoded.lease;
  }

  async #grant(ttlSeconds: number | undefined): Promise<string | undefined> {
    if (ttlSeconds === undefined) return undefined;
    const granted = await this.#client.leaseClient.leaseGrant({ TTL: ttlSeconds, ID: 0 });
    return granted.ID;
  }

  async #revoke(id: string | undefined): Promise<void> {
    if (id === undefined) return;
    try {
      await this.#client.leaseClient.leaseRevoke({ ID: id });
    } catch {
      // An expired or already revoked lease: nothing to do.
    }
  }

  #putOp(key: string, value: string, etcdLeaseId: string | undefined) {
    const put = this.#client.put(key).value(value);
    return etcdLeaseId === undefined ? put : put.lease(etcdLeaseId);
  }

  async createLease(
    subnets: LeaseSubnets,
    attrs: LeaseAttrs,
    options: WriteOptions,
  ): Promise<Lease | undefined> {
    const key = leaseKeyPath(this.#prefix, subnets);
    try {
      const etcdLeaseId = await this.#grant(options.ttlSeconds);
      const result = await this.#client.if(key, "Version", "==", 0)
        .then(this.#putOp(key, encodeLeaseAttrs(attrs), etcdLeaseId)).commit();
      if (!result.succeeded) {
        await this.#revoke(etcdLeaseId);
        return undefined;
      }
      return { ...subnets, attrs, etcdLeaseId, revision: BigInt(result.header.revision) };
    } catch (error) {
      unavailable(error, `create the lease "${key}"`);
    }
  }

  async updateLease(
    subnets: LeaseSubnets,
    attrs: LeaseAttrs,
    options: UpdateOptions,
  ): Promise<Lease | undefined> {
    const key = leaseKeyPath(this.#prefix, subnets);
    try {
      const etcdLeaseId = await this.#grant(options.ttlSeconds);
      const result = await this.#client.if(key, "Mod", "==", String(options.ifRevision))
        .then(this.#putOp(key, encodeLeaseAttrs(attrs), etcdLeaseId)).commit();
      if (!result.succeeded) {
        await this.#revoke(etcdLeaseId);
        return undefined;
      }
      if (options.previousEtcdLeaseId !== etcdLeaseId) await this.#revoke(options.previousEtcdLeaseId);
      return { ...subnets, attrs, etcdLeaseId, revision: BigInt(result.header.revision) };
    } catch (error) {
      unavailable(error, `update the lease "${key}"`);
    }
  }

  async deleteLease(subnets: LeaseSubnets, ifRevision?: bigint): Promise<boolean> {
    const key = leaseKeyPath(this.#prefix, subnets);
    try {
      if (ifRevision === undefined) {
        const result = await this.#client.delete().key(key).exec();
        return Number(result.deleted) > 0;
      }
      const result = await this.#client.if(key, "Mod", "==", String(ifRevision))
        .then(this.#client.delete().key(key)).commit();
      return result.succeeded;
    } catch (error) {
      unavailable(error, `delete the lease "${key}"`);
    }
  }

  async *watchLeases(fromRevision: bigint, signal: AbortSignal): AsyncIterable<WatchBatch> {
    const queue: WatchBatch[] = [];
    let failure: Error | undefined;
    let wake: (() => void) | undefined;
    const notify = () => {
      wake?.();
      wake = undefined;
    };
    const builder = this.#client.watch().prefix(subnetsPrefix(this.#prefix)).startRevision(
      String(fromRevision),
    );
    let timer: ReturnType<typeof setTimeout> | undefined;
    let onCreateAbort: (() => void) | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new RegistryUnavailableError("etcd did not establish the lease watch in time")),
        this.#watchCreateTimeoutMs,
      );
      // A shutdown must not wait for a watch that etcd (down, or unreachable) may take seconds to establish.
      onCreateAbort = () => reject(signal.reason);
      if (signal.aborted) onCreateAbort();
      else signal.addEventListener("abort", onCreateAbort, { once: true });
    });
    const creating = builder.create();
    let watcher;
    try {
      watcher = await Promise.race([creating, timeout]);
    } catch (error) {
      // A watch established after we gave up must not linger.
      creating.then((w) => w.cancel()).catch(() => {});
      if (signal.aborted) throw signal.reason;
      unavailable(error, "watch leases");
    } finally {
      clearTimeout(timer);
      if (onCreateAbort) signal.removeEventListener("abort", onCreateAbort);
    }
    watcher.on("data", (response) => {
      const events: RegistryEvent[] = [];
      const malformed: MalformedLease[] = [];
      for (const event of response.events) {
        const kv = event.kv as unknown as Kv;
        if (event.type === "Delete") {
          const subnets = parseLeaseKey(kv.key.toString());
          if (subnets) events.push({ kind: "delete", subnets, revision: BigInt(kv.mod_revision) });
          continue;
        }
        const decoded = decodeKv(kv);
        if ("lease" in decoded) events.push({ kind: "put", lease: decoded.lease });
        else malformed.push(decoded.malformed);
      }
      if (events.length || malformed.length) {
        queue.push({ events, malformed, revision: BigInt(response.header.revision) });
        notify();
      }
    });
    const fail = (error: Error) => {
      failure ??= error;
      notify();
    };
    watcher.on(
      "error",
      (error) => fail(new RegistryUnavailableError(`The lease watch broke: ${error.message}`)),
    );
    watcher.on("end", () => fail(new RegistryUnavailableError("The lease watch ended")));
    const onAbort = () => notify();
    signal.addEventListener("abort", onAbort);
    try {
      while (!signal.aborted) {
        const batch = queue.shift();
        if (batch) {
          yield batch;
          continue;
        }
        if (failure) throw failure;
        await new Promise<void>((resolve) => (wake = resolve));
      }
    } finally {
      signal.removeEventListener("abort", onAbort);
      // On shutdown, do not wait for etcd to acknowledge the cancel: it may be unreachable (the client is
      // closed next anyway). Otherwise wait, so a re-watch never overlaps this one.
      const cancelled = watcher.cancel().catch(() => {});
      if (!signal.aborted) await cancelled;
    }
  }

  [Symbol.asyncDispose](): Promise<void> {
    this.#client.close();
    return Promise.resolve();
  }
}
