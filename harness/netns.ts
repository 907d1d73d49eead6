/**
 * The network-namespace primitives every part of the harness builds on, driven through `ip`: a {@linkcode Netns}
 * handle (run `ip`, run or spawn a command inside), creating a namespace (optionally with an ownership marker),
 * listing and deleting namespaces, and a veth pair between two namespaces. The netns runtime
 * (`runtime/netns.ts`) deploys topologies with these; tests use them directly for namespaces of their own.
 *
 * Everything here is created inside namespaces this program made: the main namespace's links, routes and
 * addresses are never touched (a veth pair is created inside one of the lab's namespaces and its peer moved
 * straight into another).
 *
 * @module
 */
import {
  type Process,
  run,
  type RunOptions,
  type RunResult,
  spawn,
  type SpawnOptions,
} from "../cli/process/mod.ts";

/** How long an `ip` command may take before it is killed (unless the caller says otherwise). */
const IP_TIMEOUT_MS = 10_000;

/** Options of {@linkcode Netns.create} and {@linkcode addNetns}. */
export interface NetnsOptions {
  /** An ownership marker (`runtime/ownership.ts`) set as the ifalias of the namespace's `lo`. */
  readonly marker?: string;
}

/**
 * A handle on a named network namespace. Disposing it kills what runs inside and deletes the namespace.
 *
 * @example Run a command in a namespace this program made
 * ```ts ignore
 * await using ns = await Netns.create("flt-demo");
 * const { stdout } = await ns.exec(["ip", "-br", "link"]);
 * ```
 */
export class Netns implements AsyncDisposable {
  readonly name: string;

  private constructor(name: string) {
    this.name = name;
  }

  /**
   * A handle on a namespace that already exists (one a runtime deployed); nothing is created.
   *
   * @param name the namespace's name
   * @returns the handle
   */
  static of(name: string): Netns {
    return new Netns(name);
  }

  /**
   * Creates a namespace (deleting a leftover of the same name first) with `lo` up.
   *
   * @param name the namespace's name
   * @param options an ownership marker for `lo`
   * @returns the handle
   */
  static async create(name: string, options: NetnsOptions = {}): Promise<Netns> {
    if ((await listNetns()).includes(name)) await deleteNetns(name);
    return await addNetns(name, options);
  }

  /** Runs `ip -n <ns> …` (killed after 10 s unless `options.timeoutMs` says otherwise). */
  ip(args: readonly string[], options?: RunOptions): Promise<RunResult> {
    return run(["ip", "-n", this.name, ...args], { timeoutMs: IP_TIMEOUT_MS, ...options });
  }

  /** Runs `ip -j -n <ns> …` and parses the JSON it prints. */
  async ipJson<T = unknown>(args: readonly string[]): Promise<T> {
    const { stdout } = await run(["ip", "-j", "-n", this.name, ...args], { timeoutMs: IP_TIMEOUT_MS });
    return JSON.parse(stdout || "[]") as T;
  }

  /** The argument array that runs `command` inside the namespace (`ip netns exec <ns> …`). */
  wrap(command: readonly string[]): string[] {
    return ["ip", "netns", "exec", this.name, ...command];
  }

  /** Runs a command inside the namespace. */
  exec(command: readonly string[], options?: RunOptions): Promise<RunResult> {
    return run(this.wrap(command), options);
  }

  /** Starts a long-running command inside the namespace. */
  spawn(command: readonly string[], options?: SpawnOptions): Promise<Process> {
    return spawn(this.wrap(command), options);
  }

  /** Kills every process in the namespace and deletes it. */
  async delete(): Promise<void> {
    await deleteNetns(this.name);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.delete();
  }
}

/**
 * Creates a namespace that must not exist yet, sets the ownership marker (if any) on `lo` and brings `lo` up.
 * A namespace half made is deleted again.
 *
 * @param name the namespace's name
 * @param options an ownership marker for `lo`
 * @returns the handle
 */
export async function addNetns(name: string, options: NetnsOptions = {}): Promise<Netns> {
  await run(["ip", "netns", "add", name], { timeoutMs: IP_TIMEOUT_MS });
  const ns = Netns.of(name);
  try {
    if (options.marker !== undefined) await ns.ip(["link", "set", "lo", "alias", options.marker]);
    await ns.ip(["link", "set", "lo", "up"]);
  } catch (e) {
    await deleteNetns(name);
    throw e;
  }
  return ns;
}

/** The names of all named namespaces. */
export async function listNetns(): Promise<string[]> {
  const { stdout } = await run(["ip", "-j", "netns", "list"]);
  if (!stdout.trim()) return [];
  return (JSON.parse(stdout) as { name: string }[]).map((n) => n.name);
}

/** Kills the processes inside a namespace, then deletes it. A missing namespace is not an error. */
export async function deleteNetns(name: string): Promise<void> {
  const pids = await run(["ip", "netns", "pids", name], { check: false });
  for (const pid of pids.stdout.split(/\s+/).filter(Boolean)) {
    try {
      Deno.kill(Number(pid), "SIGKILL");
    } catch { /* gone already */ }
  }
  await run(["ip", "netns", "del", name], { check: false });
}

/** One end of a veth pair. */
export interface VethEnd {
  readonly ns: Netns;
  readonly name: string;
  /** The interface's MAC address (default: a random one). */
  readonly mac?: string;
  /** Addresses in CIDR form to put on the interface. */
  readonly addrs?: readonly string[];
}

/**
 * Creates a veth pair between two namespaces (made in `a`'s, its peer moved straight into `b`'s), with MTU,
 * MACs and addresses, and brings both ends up.
 *
 * @param a the end created in place
 * @param b the end moved into its namespace
 * @param options the MTU of both ends (default: the kernel's)
 */
export async function addVeth(a: VethEnd, b: VethEnd, options: { mtu?: number } = {}): Promise<void> {
  const mtu = options.mtu === undefined ? [] : ["mtu", String(options.mtu)];
  const mac = (end: VethEnd) => (end.mac ? ["address", end.mac] : []);
  await a.ns.ip([
    "link",
    "add",
    a.name,
    ...mtu,
    ...mac(a),
    "type",
    "veth",
    "peer",
    "name",
    b.name,
    ...mtu,
    ...mac(b),
    "netns",
    b.ns.name,
  ]);
  for (const end of [a, b]) {
    for (const addr of end.addrs ?? []) await end.ns.ip(["addr", "add", addr, "dev", end.name]);
    await end.ns.ip(["link", "set", end.name, "up"]);
  }
}
