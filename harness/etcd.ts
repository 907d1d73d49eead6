/**
 * A throwaway etcd server (Debian's `etcd`, v3.4): a temporary data directory, a free port, optionally inside
 * a network namespace and with TLS client certificates. Used by the tests, the demo and the lab harness.
 *
 * @module
 */
import type { Netns } from "./netns.ts";
import { type Process, run, spawn } from "./process.ts";

/** TLS material for the server; clients must present a certificate signed by `caFile`. */
export interface EtcdTls {
  readonly certFile: string;
  readonly keyFile: string;
  readonly caFile: string;
}

/** Options of {@linkcode startEtcd}. */
export interface EtcdOptions {
  /** Run inside this namespace (default: the current one, on loopback). */
  netns?: Netns;
  /** Address to listen on (default 127.0.0.1). */
  host?: string;
  /** Port (default: a free port when outside a namespace, 2379 inside one). */
  port?: number;
  tls?: EtcdTls;
  /** Directory for the data dir and log (default: a new temporary directory, removed on dispose). */
  dir?: string;
  /** How long to wait for the server to answer (default 15 s). */
  readyTimeoutMs?: number;
}

/** A running (or stopped and restartable) etcd. */
export interface Etcd extends AsyncDisposable {
  /** The client URL, e.g. `http://127.0.0.1:23790`. */
  readonly endpoint: string;
  readonly dataDir: string;
  readonly logFile: string;
  /** Stops the server, keeping its data. */
  stop(): Promise<void>;
  /** Starts it again on the same port and data. */
  start(): Promise<void>;
  /** Runs `etcdctl` against it (v3 API) and returns stdout. */
  ctl(args: readonly string[]): Promise<string>;
}

/** Returns a TCP port that is free on 127.0.0.1 right now. */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** Starts etcd and waits until it answers. */
export async function startEtcd(options: EtcdOptions = {}): Promise<Etcd> {
  const host = options.host ?? "127.0.0.1";
  const port = options.port ?? (options.netns ? 2379 : freePort());
  const peerPort = options.netns ? 2380 : freePort();
  const ownDir = options.dir === undefined;
  const dir = options.dir ?? await Deno.makeTempDir({ prefix: "flannel-lab-etcd-" });
  await Deno.mkdir(dir, { recursive: true });
  const dataDir = `${dir}/data`;
  const logFile = `${dir}/etcd.log`;
  const scheme = options.tls ? "https" : "http";
  const endpoint = `${scheme}://${host.includes(":") ? `[${host}]` : host}:${port}`;
  const prefix = options.netns ? ["ip", "netns", "exec", options.netns.name] : [];
  const tlsArgs = options.tls
    ? [
      `--cert-file=${options.tls.certFile}`,
      `--key-file=${options.tls.keyFile}`,
      `--trusted-ca-file=${options.tls.caFile}`,
      "--client-cert-auth",
    ]
    : [];
  const command = [
    ...prefix,
    "etcd",
    "--name=flannel-lab",
    `--data-dir=${dataDir}`,
    `--listen-client-urls=${endpoint}`,
    `--advertise-client-urls=${endpoint}`,
    `--listen-peer-urls=http://127.0.0.1:${peerPort}`,
    `--initial-advertise-peer-urls=http://127.0.0.1:${peerPort}`,
    `--initial-cluster=flannel-lab=http://127.0.0.1:${peerPort}`,
    "--log-level=warn",
    "--logger=zap",
    ...tlsArgs,
  ];
  const ctlBase = [
    ...prefix,
    "etcdctl",
    `--endpoints=${endpoint}`,
    ...(options.tls
      ? [`--cacert=${options.tls.caFile}`, `--cert=${options.tls.certFile}`, `--key=${options.tls.keyFile}`]
      : []),
  ];
  const ctl = async (args: readonly string[]) =>
    (await run([...ctlBase, ...args], { env: { ETCDCTL_API: "3" }, timeoutMs: 10_000 })).stdout;

  let proc: Process | undefined;
  const start = async () => {
    proc = await spawn(command, { logFile, graceMs: 5000 });
    const deadline = Date.now() + (options.readyTimeoutMs ?? 15_000);
    const exited = proc.status.then(() => true);
    for (;;) {
      const ok = await run([...ctlBase, "--dial-timeout=1s", "--command-timeout=1s", "endpoint", "health"], {
        env: { ETCDCTL_API: "3" },
        check: false,
        timeoutMs: 3000,
      });
      if (ok.code === 0) return;
      if (await Promise.race([exited, new Promise<false>((r) => setTimeout(() => r(false), 100))])) {
        const log = await Deno.readTextFile(logFile).catch(() => "");
        throw new Error(`etcd exited at start: ${log.slice(-2000)}`);
      }
      if (Date.now() > deadline) {
        await proc.stop();
        throw new Error(`etcd did not become healthy at ${endpoint} within the timeout`);
      }
    }
  };
  const stop = async () => {
    await proc?.stop();
    proc = undefined;
  };
  await start();
  return {
    endpoint,
    dataDir,
    logFile,
    start,
    stop,
    ctl,
    async [Symbol.asyncDispose]() {
      await stop();
      if (ownDir) await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}
