/**
 * Network namespaces and the links between them, driven through `ip`. Everything here is created inside
 * namespaces this program made: the main namespace's links, routes and addresses are never touched (a veth
 * pair is created inside one of the lab's namespaces and its peer moved straight into another).
 *
 * @module
 */
import { type Process, run, type RunOptions, type RunResult, spawn, type SpawnOptions } from "./process.ts";

/** A network namespace owned by this process. Disposing it kills what runs inside and deletes it. */
export class Netns implements AsyncDisposable {
  readonly name: string;

  private constructor(name: string) {
    this.name = name;
  }

  /** Creates a namespace (deleting a leftover of the same name first) with `lo` up. */
  static async create(name: string): Promise<Netns> {
    if (await netnsExists(name)) await deleteNetns(name);
    await run(["ip", "netns", "add", name]);
    const ns = new Netns(name);
    try {
      await ns.ip(["link", "set", "lo", "up"]);
    } catch (e) {
      await deleteNetns(name);
      throw e;
    }
    return ns;
  }

  /** Runs `ip -n <ns> …`. */
  ip(args: readonly string[], options?: RunOptions): Promise<RunResult> {
    return run(["ip", "-n", this.name, ...args], options);
  }

  /** Runs `ip -j -n <ns> …` and parses the JSON it prints. */
  async ipJson<T = unknown>(args: readonly string[]): Promise<T> {
    const { stdout } = await run(["ip", "-j", "-n", this.name, ...args]);
    return JSON.parse(stdout || "[]") as T;
  }

  /** Runs a command inside the namespace. */
  exec(command: readonly string[], options?: RunOptions): Promise<RunResult> {
    return run(["ip", "netns", "exec", this.name, ...command], options);
  }

  /** Starts a long-running command inside the namespace. */
  spawn(command: readonly string[], options?: SpawnOptions): Promise<Process> {
    return spawn(["ip", "netns", "exec", this.name, ...command], options);
  }

  /** Kills every process in the namespace and deletes it. */
  async delete(): Promise<void> {
    await deleteNetns(this.name);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.delete();
  }
}

/** Whether a named namespace exists. */
export async function netnsExists(name: string): Promise<boolean> {
  return (await listNetns()).includes(name);
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
  /** Addresses in CIDR form to put on the interface. */
  readonly addrs?: readonly string[];
}

/** Creates a veth pair between two namespaces, with addresses and MTU, both ends up. */
export async function addVeth(a: VethEnd, b: VethEnd, options: { mtu?: number } = {}): Promise<void> {
  const mtu = options.mtu === undefined ? [] : ["mtu", String(options.mtu)];
  await a.ns.ip([
    "link",
    "add",
    a.name,
    ...mtu,
    "type",
    "veth",
    "peer",
    "name",
    b.name,
    ...mtu,
    "netns",
    b.ns.name,
  ]);
  for (const end of [a, b]) {
    for (const addr of end.addrs ?? []) await end.ns.ip(["addr", "add", addr, "dev", end.name]);
    await end.ns.ip(["link", "set", end.name, "up"]);
  }
}

/** Creates a bridge inside a namespace and brings it up. */
export async function addBridge(ns: Netns, name: string): Promise<void> {
  await ns.ip(["link", "add", name, "type", "bridge"]);
  await ns.ip(["link", "set", name, "up"]);
}

/** Enslaves an interface to a bridge in the same namespace. */
export async function setMaster(ns: Netns, ifname: string, bridge: string): Promise<void> {
  await ns.ip(["link", "set", ifname, "master", bridge]);
}
