/**
 * etcd for labs and tests (Debian's `etcd`, v3.4): the one place that knows etcd's command line (one member
 * named `flannel-lab`, data dir, client and peer URLs, TLS) and how to wait until it answers.
 * {@linkcode launchEtcd} takes where etcd runs as two functions (start a long-running command, run etcdctl), so
 * the same launcher serves {@linkcode startEtcd} (a child process of this one, for tests and benchmarks) and the
 * cluster of a deployed lab (a detached process on the lab's etcd node, `cluster.ts`).
 *
 * @module
 */
import { UserError } from "../cli/errors.ts";
import type { Netns } from "./netns.ts";
import { type Process, run, type RunOptions, type RunResult, spawn } from "../cli/process/mod.ts";

/** TLS material for the server; clients must present a certificate signed by `caFile`. */
export interface EtcdTls {
  readonly certFile: string;
  readonly keyFile: string;
  readonly caFile: string;
}

/** Where a one-member etcd listens and keeps its data: what {@linkcode etcdCommand} turns into flags. */
export interface EtcdServer {
  /** The address clients and the peer listener bind to (IPv4 or IPv6). */
  readonly host: string;
  readonly clientPort: number;
  readonly peerPort: number;
  readonly dataDir: string;
  /** Client TLS (the peer URL stays plain http: there are no other members). */
  readonly tls?: EtcdTls;
}

/** Runs a command (etcdctl) where etcd runs. */
export type EtcdExec = (command: readonly string[], options: RunOptions) => Promise<RunResult>;

function url(scheme: string, host: string, port: number): string {
  return `${scheme}://${host.includes(":") ? `[${host}]` : host}:${port}`;
}

/**
 * The client URL of a server.
 *
 * @param server where it listens
 * @returns e.g. `http://192.168.77.250:2379`
 * @example Client URL of a lab's etcd
 * ```ts
 * import { etcdEndpoint } from "./etcd.ts";
 * const endpoint = etcdEndpoint({ host: "192.168.77.250", clientPort: 2379 });
 * if (endpoint !== "http://192.168.77.250:2379") throw new Error(endpoint);
 * ```
 */
export function etcdEndpoint(server: Pick<EtcdServer, "host" | "clientPort" | "tls">): string {
  return url(server.tls ? "https" : "http", server.host, server.clientPort);
}

/**
 * etcd's command line for a one-member cluster. Pure.
 *
 * @param server where it listens and keeps its data
 * @returns the argument array
 * @example
 * ```ts
 * import { etcdCommand } from "./etcd.ts";
 * const command = etcdCommand({ host: "127.0.0.1", clientPort: 23790, peerPort: 23800, dataDir: "/tmp/etcd" });
 * if (!command.includes("--listen-client-urls=http://127.0.0.1:23790")) throw new Error(command.join(" "));
 * ```
 */
export function etcdCommand(server: EtcdServer): string[] {
  const endpoint = etcdEndpoint(server);
  const peer = url("http", server.host, server.peerPort);
  const tls = server.tls
    ? [
      `--cert-file=${server.tls.certFile}`,
      `--key-file=${server.tls.keyFile}`,
      `--trusted-ca-file=${server.tls.caFile}`,
      "--client-cert-auth",
    ]
    : [];
  return [
    "etcd",
    "--name=flannel-lab",
    `--data-dir=${server.dataDir}`,
    `--listen-client-urls=${endpoint}`,
    `--advertise-client-urls=${endpoint}`,
    `--listen-peer-urls=${peer}`,
    `--initial-advertise-peer-urls=${peer}`,
    `--initial-cluster=flannel-lab=${peer}`,
    // One member: nothing to fail over to, so a short election timeout only makes it lead sooner (about
    // 0.1 s instead of 1 s after start, the largest share of a lab's bring-up with the defaults).
    "--heartbeat-interval=10",
    "--election-timeout=100",
    "--log-level=warn",
    "--logger=zap",
    ...tls,
  ];
}

/**
 * etcdctl's command line (v3 API: run it with {@linkcode ETCDCTL_ENV}) against a server, with the client
 * certificate when the server wants one. Pure.
 *
 * @param server the server's client URL and TLS
 * @param args etcdctl's arguments, e.g. `["get", "--prefix", "/coreos.com/network/"]`
 * @returns the argument array
 */
export function etcdctlCommand(
  server: { readonly endpoint: string; readonly tls?: EtcdTls | undefined },
  args: readonly string[],
): string[] {
  const tls = server.tls
    ? [`--cacert=${server.tls.caFile}`, `--cert=${server.tls.certFile}`, `--key=${server.tls.keyFile}`]
    : [];
  return ["etcdctl", `--endpoints=${server.endpoint}`, ...tls, ...args];
}

/** The environment etcdctl (v3.4) needs to speak the v3 API. */
export const ETCDCTL_ENV: Readonly<Record<string, string>> = { ETCDCTL_API: "3" };

/** Where {@linkcode launchEtcd} runs etcd: how to start it, run etcdctl next to it, and stop it. */
export interface EtcdHost<P> {
  /** Starts etcd's command line as a long-running process, its output appended to `logFile`. */
  start(command: readonly string[], logFile: string): Promise<P>;
  /** Runs a command (etcdctl) where etcd runs. */
  exec: EtcdExec;
  /** Stops what `start` started (when it never answered). */
  stop(process: P): Promise<void>;
  /** Whether the process still runs: one that exits fails the wait at once, with its log. */
  running(process: P): Promise<boolean>;
}

/** Options of {@linkcode launchEtcd}. */
export interface LaunchEtcdOptions {
  /** Where etcd's output goes. */
  readonly logFile: string;
  /** How long to wait for the server to answer. */
  readonly timeoutMs: number;
}

async function logTail(logFile: string): Promise<string> {
  return (await Deno.readTextFile(logFile).catch(() => "")).trim().slice(-1500);
}

/**
 * Starts etcd and waits until `etcdctl endpoint health` succeeds (polling every 50 ms).
 *
 * @param server where it listens and keeps its data
 * @param host how to start it and run etcdctl where it runs
 * @param options log file and timeout
 * @returns the started process, answering
 * @throws {UserError} when etcd exits, or does not answer in time (then it is stopped), with its log's tail
 */
export async function launchEtcd<P>(
  server: EtcdServer,
  host: EtcdHost<P>,
  options: LaunchEtcdOptions,
): Promise<P> {
  const endpoint = etcdEndpoint(server);
  const proc = await host.start(etcdCommand(server), options.logFile);
  const health = etcdctlCommand({ endpoint, tls: server.tls }, [
    "--dial-timeout=1s",
    "--command-timeout=1s",
    "endpoint",
    "health",
  ]);
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    const r = await host.exec(health, { env: { ...ETCDCTL_ENV }, check: false, timeoutMs: 3000 });
    if (r.code === 0) return proc;
    if (!(await host.running(proc))) {
      throw new UserError(
        `Cannot start etcd at "${endpoint}": it exited: ${await logTail(options.logFile)}`,
        {
          hint: `its log is ${options.logFile}`,
        },
      );
    }
    if (Date.now() > deadline) {
      await host.stop(proc);
      throw new UserError(
        `Cannot start etcd at "${endpoint}": it did not answer within ${options.timeoutMs} ms: ${await logTail(
          options.logFile,
        )}`,
        { hint: `its log is ${options.logFile}` },
      );
    }
    await new Promise((r) => setTimeout(r, 50));
  }
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

/**
 * Starts a throwaway etcd as a child process of this one (inside a namespace when asked), for tests and
 * benchmarks, and waits until it answers.
 *
 * @param options namespace, address, port, TLS, directory
 * @returns the running server; dispose it to stop it (and remove its directory when it made one)
 * @example
 * ```ts ignore
 * await using etcd = await startEtcd();
 * await etcd.ctl(["put", "/coreos.com/network/config", '{"Network":"10.244.0.0/16"}']);
 * ```
 */
export async function startEtcd(options: EtcdOptions = {}): Promise<Etcd> {
  const ownDir = options.dir === undefined;
  const dir = options.dir ?? await Deno.makeTempDir({ prefix: "flannel-lab-etcd-" });
  await Deno.mkdir(dir, { recursive: true });
  const server: EtcdServer = {
    host: options.host ?? "127.0.0.1",
    clientPort: options.port ?? (options.netns ? 2379 : freePort()),
    peerPort: options.netns ? 2380 : freePort(),
    dataDir: `${dir}/data`,
    ...(options.tls ? { tls: options.tls } : {}),
  };
  const endpoint = etcdEndpoint(server);
  const logFile = `${dir}/etcd.log`;
  const here = (command: readonly string[]) => options.netns ? options.netns.wrap(command) : [...command];
  const exec: EtcdExec = (command, runOptions) => run(here(command), runOptions);
  const ctl = async (args: readonly string[]) =>
    (await exec(etcdctlCommand({ endpoint, tls: server.tls }, args), {
      env: { ...ETCDCTL_ENV },
      timeoutMs: 10_000,
    })).stdout;
  let proc: Process | undefined;
  const exited = new WeakSet<Process>();
  const host: EtcdHost<Process> = {
    start: async (command, log) => {
      const p = await spawn(here(command), { logFile: log, graceMs: 5000 });
      p.status.then(() => exited.add(p));
      return p;
    },
    exec,
    stop: async (p) => void await p.stop(),
    running: (p) => Promise.resolve(!exited.has(p)),
  };
  const start = async () => {
    proc = await launchEtcd(server, host, { logFile, timeoutMs: options.readyTimeoutMs ?? 15_000 });
  };
  const stop = async () => {
    await proc?.stop();
    proc = undefined;
  };
  try {
    await start();
  } catch (error) {
    if (ownDir) await Deno.remove(dir, { recursive: true }).catch(() => {});
    throw error;
  }
  return {
    endpoint,
    dataDir: server.dataDir,
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
