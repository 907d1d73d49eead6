/**
 * Pods of a lab: network namespaces attached to their node through our CNI plugin (`flannel`, delegating to the
 * reference `bridge` and `host-local` plugins), exactly as a container runtime would — inside the node's
 * container where the runtime has one, so the plugin, its delegates and CNI_NETNS are the node's.
 *
 * @module
 */
import { UserError } from "../cli/errors.ts";
import { run } from "../cli/process/mod.ts";
import { isInsideRuntime } from "./runtime/inside.ts";
import type { Runtime } from "./runtime/runtime.ts";
import type { Topology } from "./topology/model.ts";

const MOD = new URL("../mod.ts", import.meta.url);

/** A pod: a namespace attached to a node through the CNI plugin. */
export interface Pod {
  /** `node/pN`, how scenarios name it. */
  readonly id: string;
  readonly node: string;
  /** The pod's namespace name. */
  readonly netns: string;
  readonly ip: string;
}

/**
 * Installs the CNI plugin launcher and the reference plugins it delegates to into `<labDir>/cni-bin` (the
 * launcher only when it is not there yet).
 *
 * @param labDir the lab directory
 * @returns the plugin directory (CNI_PATH)
 */
export async function installCni(labDir: string): Promise<string> {
  const bin = `${labDir}/cni-bin`;
  await Deno.mkdir(bin, { recursive: true });
  try {
    await Deno.stat(`${bin}/flannel`);
  } catch {
    await run([
      Deno.execPath(),
      "run",
      "--quiet",
      "--allow-all",
      "--no-check",
      decodeURIComponent(MOD.pathname),
      "cni",
      "install",
      "--dir",
      bin,
    ], { timeoutMs: 60_000 });
  }
  for (const plugin of ["bridge", "host-local", "loopback"]) {
    await Deno.symlink(`/usr/lib/cni/${plugin}`, `${bin}/${plugin}`).catch(() => {});
  }
  return bin;
}

/**
 * The flannel CNI network config of a node: its subnet.env, its plugin state under `<nodeDir>/cni/`. Pure.
 *
 * @param nodeDir the node's directory in the lab directory
 * @returns the config JSON
 */
export function cniConfig(nodeDir: string): string {
  return JSON.stringify({
    cniVersion: "1.0.0",
    name: "cbr0",
    type: "flannel",
    subnetFile: `${nodeDir}/subnet.env`,
    dataDir: `${nodeDir}/cni/flannel`,
    ipam: { dataDir: `${nodeDir}/cni/host-local` },
    delegate: { hairpinMode: true, isDefaultGateway: true },
  });
}

/** What {@linkcode attachPod} needs. */
export interface AttachPodOptions {
  readonly runtime: Runtime;
  readonly topo: Topology;
  readonly node: string;
  /** `node/pN` */
  readonly id: string;
  /** The pod namespace's name. */
  readonly netns: string;
  /** The plugin directory ({@linkcode installCni}). */
  readonly bin: string;
  /** The network config ({@linkcode cniConfig}). */
  readonly conf: string;
}

/**
 * Creates a pod's namespace on a node and runs CNI ADD for it.
 *
 * @param o runtime, node, pod names, plugins and config
 * @returns the pod with the address the plugin gave it
 * @throws {UserError} when the plugin fails or returns no address
 */
export async function attachPod(o: AttachPodOptions): Promise<Pod> {
  const netnsPath = await o.runtime.addPodNetns(o.topo, o.node, { id: o.id, name: o.netns });
  const exec = isInsideRuntime(o.runtime)
    ? o.runtime.execInside.bind(o.runtime)
    : o.runtime.exec.bind(o.runtime);
  const r = await exec(o.topo, o.node, [`${o.bin}/flannel`], {
    stdin: o.conf,
    check: false,
    timeoutMs: 60_000,
    env: {
      CNI_COMMAND: "ADD",
      CNI_CONTAINERID: o.netns,
      CNI_NETNS: netnsPath,
      CNI_IFNAME: "eth0",
      CNI_PATH: o.bin,
    },
  });
  if (r.code !== 0) {
    throw new UserError(
      `CNI ADD of pod ${o.id} failed (exit ${r.code}): ${(r.stdout + r.stderr).trim().slice(-800)}`,
    );
  }
  const result = JSON.parse(r.stdout) as { ips?: { address: string }[] };
  const ip = result.ips?.[0]?.address.split("/")[0];
  if (!ip) throw new UserError(`CNI ADD of pod ${o.id} returned no address: ${r.stdout.slice(0, 400)}`);
  return { id: o.id, node: o.node, netns: o.netns, ip };
}
