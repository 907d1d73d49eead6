/**
 * What a lab's cluster leaves on disk between commands: the state file (`<lab>/state.json`: etcd's and the
 * agents' detached processes, the pods, the network config) that `inspect`, `exec` and `down` read after `up`
 * has exited, and the nodes' subnet.env files the agents write.
 *
 * @module
 */
import type { Detached, DetachedRef } from "../cli/process/mod.ts";
import type { Pod } from "./pods.ts";

/** What the state file holds. */
export interface ClusterState {
  readonly lab: string;
  readonly topology: string;
  readonly runtime: string;
  readonly network: string;
  readonly etcdPrefix: string;
  readonly etcd?: DetachedRef;
  readonly agents: Readonly<Record<string, DetachedRef>>;
  readonly pods: readonly Pod[];
  readonly updatedAt: string;
}

/** The stored reference of a detached process (without its methods). */
export function refOf(p: Detached): DetachedRef {
  return { pid: p.pid, startTime: p.startTime, command: p.command, logFile: p.logFile };
}

/**
 * Writes a state file atomically (a temporary file renamed over it).
 *
 * @param file the state file
 * @param state what it holds
 */
export async function writeClusterState(file: string, state: ClusterState): Promise<void> {
  await Deno.mkdir(file.slice(0, file.lastIndexOf("/")) || "/", { recursive: true });
  const tmp = `${file}.${crypto.randomUUID().slice(0, 8)}.tmp`;
  await Deno.writeTextFile(tmp, JSON.stringify(state, null, 2) + "\n");
  await Deno.rename(tmp, file);
}

/**
 * Reads a state file.
 *
 * @param file the state file
 * @returns its state, or undefined when there is none (or it is unreadable)
 */
export async function readClusterState(file: string): Promise<ClusterState | undefined> {
  try {
    return JSON.parse(await Deno.readTextFile(file)) as ClusterState;
  } catch {
    return undefined;
  }
}

/**
 * The variables of a subnet.env (`KEY=value` lines). Pure.
 *
 * @param text the file's text
 * @returns the variables
 * @example
 * ```ts
 * import { parseSubnetEnv } from "./cluster_state.ts";
 * const env = parseSubnetEnv("FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.7.1/24\n");
 * if (env["FLANNEL_SUBNET"] !== "10.244.7.1/24") throw new Error(JSON.stringify(env));
 * ```
 */
export function parseSubnetEnv(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const i = line.indexOf("=");
    if (i > 0) out[line.slice(0, i)] = line.slice(i + 1);
  }
  return out;
}
