/**
 * A small etcd v3 client on the JSON gateway that every etcd (3.4 and later) serves on its client URLs, over
 * Deno's built-in `fetch`. It replaces npm:etcd3, whose gRPC and protobuf stack alone doubled the agent's
 * resident memory: the agent needs a handful of calls (range, txn, delete, lease grant/revoke, one watch), and
 * the gateway gives the same data and semantics as gRPC.
 *
 * - Endpoints are tried in order; a connection failure moves on to the next, within the call's deadline.
 * - TLS: `--etcd-cafile` is trusted for the server, `--etcd-certfile`/`--etcd-keyfile` are the client
 *   certificate. IP-address endpoints are verified against the certificate's IP subjectAltName.
 * - Auth: with a username, the client authenticates once, sends the token on every call, and authenticates
 *   again when etcd reports the token invalid (a restart, or the token's TTL).
 *
 * @module
 */
import { isRetryableCode, type WireWatchMessage } from "./etcd_wire.ts";
import { splitJsonLines } from "./etcd_wire.ts";

/** How to reach etcd; the fields mirror flanneld's `--etcd-*` flags. */
export interface EtcdHttpOptions {
  readonly endpoints: readonly string[];
  readonly keyFile?: string | undefined;
  readonly certFile?: string | undefined;
  readonly caFile?: string | undefined;
  readonly username?: string | undefined;
  readonly password?: string | undefined;
  /** Deadline of each unary call, all endpoints together (default 5 s). */
  readonly callTimeoutMs?: number | undefined;
}

/** A failed call. `retryable` says whether etcd (or the path to it) may answer later. */
export class EtcdCallError extends Error {
  override name = "EtcdCallError";
  readonly retryable: boolean;
  /** The gRPC status code etcd answered with, when it answered. */
  readonly code: number | undefined;

  constructor(message: string, options: { retryable: boolean; code?: number | undefined; cause?: unknown }) {
    super(message, { cause: options.cause });
    this.retryable = options.retryable;
    this.code = options.code;
  }
}

/** Reads a PEM file named by a flag, with an error that names the flag. */
async function readPem(path: string, flag: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    throw new Error(`Cannot read ${flag} "${path}": ${error instanceof Error ? error.message : error}`);
  }
}

/** The error body the gateway sends with a non-2xx status. */
interface WireError {
  readonly error?: string;
  readonly message?: string;
  readonly code?: number;
}

const UNAUTHENTICATED = 16;

/** The etcd v3 JSON-gateway client. */
export class EtcdHttpClient implements AsyncDisposable {
  readonly #endpoints: readonly string[];
  readonly #http: Deno.HttpClient | undefined;
  readonly #timeoutMs: number;
  readonly #credentials: { name: string; password: string } | undefined;
  /** Aborts every call in flight when the client is closed. */
  readonly #closed = new AbortController();
  #current = 0;
  #token: Promise<string> | undefined;

  private constructor(
    endpoints: readonly string[],
    http: Deno.HttpClient | undefined,
    options: EtcdHttpOptions,
  ) {
    this.#endpoints = endpoints;
    this.#http = http;
    this.#timeoutMs = options.callTimeoutMs ?? 5000;
    this.#credentials = options.username || options.password
      ? { name: options.username ?? "", password: options.password ?? "" }
      : undefined;
  }

  /** Reads the TLS material and makes the client; it connects lazily, so this succeeds while etcd is down. */
  static async open(options: EtcdHttpOptions): Promise<EtcdHttpClient> {
    const endpoints = options.endpoints.map((e) => e.replace(/\/+$/, ""));
    if (endpoints.length === 0) throw new Error("No etcd endpoint given (--etcd-endpoints)");
    for (const e of endpoints) {
      if (!/^https?:\/\/[^/]+$/.test(e)) {
        throw new Error(`Invalid etcd endpoint "${e}": want http://host:port or https://host:port`);
      }
    }
    const tls: Deno.CreateHttpClientOptions & Partial<Deno.TlsCertifiedKeyPem> = {};
    // Upstream uses the CA only together with a client certificate; we trust it for the server either way.
    if (options.caFile) tls.caCerts = [await readPem(options.caFile, "--etcd-cafile")];
    if (options.certFile || options.keyFile) {
      if (!options.certFile || !options.keyFile) {
        throw new Error("--etcd-certfile and --etcd-keyfile must be given together");
      }
      tls.cert = await readPem(options.certFile, "--etcd-certfile");
      tls.key = await readPem(options.keyFile, "--etcd-keyfile");
    }
    const http = Object.keys(tls).length > 0
      ? Deno.createHttpClient(tls as Deno.CreateHttpClientOptions & Deno.TlsCertifiedKeyPem)
      : undefined;
    return new EtcdHttpClient(endpoints, http, options);
  }

  /** Calls a unary gateway method (`/v3/kv/range` …) and returns its JSON answer. */
  async call<T>(path: string, body: unknown): Promise<T> {
    const deadline = AbortSignal.timeout(this.#timeoutMs);
    const signal = AbortSignal.any([deadline, this.#closed.signal]);
    const headers = await this.#authHeaders(signal);
    try {
      return await this.#post<T>(path, body, headers, signal);
    } catch (error) {
      if (!(error instanceof EtcdCallError) || error.code !== UNAUTHENTICATED || !this.#credentials) {
        throw error;
      }
      // The token expired or etcd restarted: authenticate again, once.
      this.#token = undefined;
      return await this.#post<T>(path, body, await this.#authHeaders(signal), signal);
    }
  }

  /**
   * Opens a watch stream with `request` (a `create_request`) and yields its messages until the stream ends,
   * `signal` aborts, or the client closes. A broken connection throws an {@linkcode EtcdCallError}.
   */
  async *watch(request: unknown, signal: AbortSignal): AsyncIterable<WireWatchMessage> {
    const stop = AbortSignal.any([signal, this.#closed.signal]);
    const headers = await this.#authHeaders(stop);
    const response = await this.#fetch("/v3/watch", request, headers, stop);
    if (!response.ok || !response.body) throw await this.#httpError("/v3/watch", response);
    const split = splitJsonLines();
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    try {
      for (;;) {
        let chunk;
        try {
          chunk = await reader.read();
        } catch (error) {
          if (stop.aborted) return;
          throw new EtcdCallError(`The watch stream broke: ${describe(error)}`, {
            retryable: true,
            cause: error,
          });
        }
        if (chunk.done) return;
        for (const message of split(chunk.value)) yield message as WireWatchMessage;
      }
    } finally {
      reader.cancel().catch(() => {});
    }
  }

  async #authHeaders(signal: AbortSignal): Promise<Record<string, string>> {
    const headers: Record<string, string> = { "content-type": "application/json" };
    if (!this.#credentials) return headers;
    this.#token ??= this.#post<{ token?: string }>(
      "/v3/auth/authenticate",
      this.#credentials,
      headers,
      signal,
    )
      .then((r) => {
        if (!r.token) throw new EtcdCallError("etcd returned no auth token", { retryable: false });
        return r.token;
      });
    try {
      headers.authorization = await this.#token;
    } catch (error) {
      this.#token = undefined;
      throw error;
    }
    return headers;
  }

  async #post<T>(
    path: string,
    body: unknown,
    headers: Record<string, string>,
    signal: AbortSignal,
  ): Promise<T> {
    const response = await this.#fetch(path, body, headers, signal);
    if (!response.ok) throw await this.#httpError(path, response);
    try {
      return await response.json() as T;
    } catch (error) {
      throw this.#transportError(path, error, signal);
    }
  }

  /** POSTs to the current endpoint, moving on to the next ones when a connection fails. */
  async #fetch(
    path: string,
    body: unknown,
    headers: Record<string, string>,
    signal: AbortSignal,
  ): Promise<Response> {
    const text = JSON.stringify(body);
    let last: unknown;
    for (let attempt = 0; attempt < this.#endpoints.length; attempt++) {
      const endpoint = this.#endpoints[this.#current]!;
      try {
        return await fetch(`${endpoint}${path}`, {
          method: "POST",
          headers,
          body: text,
          signal,
          ...(this.#http ? { client: this.#http } : {}),
        });
      } catch (error) {
        last = error;
        if (signal.aborted) break;
        this.#current = (this.#current + 1) % this.#endpoints.length;
      }
    }
    throw this.#transportError(path, last, signal);
  }

  #transportError(path: string, error: unknown, signal: AbortSignal): EtcdCallError {
    if (this.#closed.signal.aborted) {
      return new EtcdCallError("The etcd client is closed", { retryable: false, cause: error });
    }
    const what = signal.aborted ? `no answer within ${this.#timeoutMs} ms` : describe(error);
    return new EtcdCallError(`${path} on ${this.#endpoints.join(",")}: ${what}`, {
      retryable: true,
      cause: error,
    });
  }

  async #httpError(path: string, response: Response): Promise<EtcdCallError> {
    const text = await response.text().catch(() => "");
    let parsed: WireError = {};
    try {
      parsed = JSON.parse(text) as WireError;
    } catch {
      // Not the gateway's JSON (a proxy, or not etcd at all): report the status and text.
    }
    if (response.status === 404 && parsed.code === undefined) {
      return new EtcdCallError(
        `${response.url} answered 404: this is not an etcd v3 JSON gateway (an etcd older than 3.4, one started ` +
          `with --enable-grpc-gateway=false, or not etcd at all); check --etcd-endpoints`,
        { retryable: false },
      );
    }
    const message = parsed.message ?? parsed.error ?? (text.trim().slice(0, 200) || response.statusText);
    const code = parsed.code;
    const retryable = code === undefined ? response.status >= 500 : isRetryableCode(code);
    return new EtcdCallError(`${path}: ${message} (HTTP ${response.status})`, { retryable, code });
  }

  [Symbol.asyncDispose](): Promise<void> {
    this.#closed.abort(new Error("closed"));
    this.#http?.close();
    return Promise.resolve();
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
