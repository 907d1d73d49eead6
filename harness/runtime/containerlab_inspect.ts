/**
 * `inspect` under the containerlab runtime: `containerlab inspect … --format json` joined with Docker's labels
 * (node name, role, lab directory) and each running container's IPv4 addresses (`ip -j addr` in its network
 * namespace). The readings of the two JSON outputs are pure ({@linkcode parseInspect},
 * {@linkcode addressesFromIpJson}).
 *
 * @module
 */
import { run } from "../../cli/process/mod.ts";
import { dockerServerVersion } from "../upstream/mod.ts";
import { longName } from "../topology/model.ts";
import { type ClabRun, labContainers } from "./containerlab_cli.ts";
import type { LabSelector, NodeStatus } from "./runtime.ts";

/** One container of a containerlab lab, from `inspect --format json`. */
export interface InspectEntry {
  lab_name: string;
  name: string;
  kind: string;
  state: string;
  image: string;
  ipv4_address?: string;
}

/**
 * The containers in `containerlab inspect --format json` output (an object of lists, one per lab), or none when
 * the output is not such an object (containerlab prints a sentence when no lab matches). Pure.
 *
 * @param stdout the command's output
 * @returns every lab's containers, in containerlab's order
 * @throws {SyntaxError} for output that starts like an object but is not JSON
 * @example
 * ```ts
 * import { parseInspect } from "./containerlab_inspect.ts";
 * const out = JSON.stringify({ a: [{ lab_name: "a", name: "clab-a-n1", kind: "linux", state: "running", image: "x" }] });
 * console.assert(parseInspect(out)[0]?.name === "clab-a-n1");
 * console.assert(parseInspect("no containers found").length === 0);
 * ```
 */
export function parseInspect(stdout: string): InspectEntry[] {
  if (!stdout.trim().startsWith("{")) return [];
  return Object.values(JSON.parse(stdout) as Record<string, InspectEntry[]>).flat();
}

/**
 * The IPv4 addresses in `ip -j addr show` output, `lo` left out. Pure.
 *
 * @param stdout the command's output
 * @returns `ifname=addr/len` strings
 * @example
 * ```ts
 * import { addressesFromIpJson } from "./containerlab_inspect.ts";
 * const out = JSON.stringify([{ ifname: "eth1", addr_info: [{ family: "inet", local: "10.0.0.1", prefixlen: 24 }] }]);
 * console.assert(addressesFromIpJson(out)[0] === "eth1=10.0.0.1/24");
 * ```
 */
export function addressesFromIpJson(stdout: string): string[] {
  const links = JSON.parse(stdout || "[]") as {
    ifname: string;
    addr_info?: { family: string; local: string; prefixlen: number }[];
  }[];
  return links.filter((l) => l.ifname !== "lo").flatMap((l) =>
    (l.addr_info ?? []).filter((a) => a.family === "inet").map((a) => `${l.ifname}=${a.local}/${a.prefixlen}`)
  );
}

async function addressesOf(ns: string): Promise<string[]> {
  const r = await run(["ip", "-j", "-n", ns, "addr", "show"], { check: false, timeoutMs: 10_000 });
  if (r.code !== 0) return [];
  return addressesFromIpJson(r.stdout);
}

/**
 * The nodes of the selected labs: for a topology every node it names (`missing` when its container is not
 * running), otherwise every container containerlab reports (with `all`, only flannel-lab's labs).
 *
 * @param which a topology, a lab name, or every lab
 * @param clab the containerlab runner
 * @returns the nodes, sorted by lab and node
 */
export async function inspectLabs(which: LabSelector, clab: ClabRun): Promise<NodeStatus[]> {
  const entries: InspectEntry[] = [];
  if (await dockerServerVersion()) {
    const args = "all" in which
      ? ["inspect", "--all", "-f", "json"]
      : ["inspect", "--name", "lab" in which ? which.lab : which.topology.name, "-f", "json"];
    const r = await clab(args, { check: false, timeoutMs: 60_000 });
    if (r.code === 0) entries.push(...parseInspect(r.stdout));
  }
  const labelled = new Map((await labContainers()).map((c) => [c.name, c]));
  const out: NodeStatus[] = [];
  const describe = async (
    e: InspectEntry | undefined,
    lab: string,
    node: string,
    name: string,
    role: string,
  ) => {
    const running = e?.state === "running";
    out.push({
      lab,
      node,
      longName: name,
      kind: e?.kind ?? "linux",
      role,
      state: running ? "running" : "missing",
      addresses: running ? await addressesOf(name) : [],
      ...(labelled.get(name)?.labDir ? { labDir: labelled.get(name)!.labDir! } : {}),
    });
  };
  if ("topology" in which) {
    const t = which.topology;
    for (const n of t.nodes) {
      const e = entries.find((x) => x.name === longName(t, n.name));
      await describe(e, t.name, n.name, longName(t, n.name), n.role);
    }
  } else {
    for (const e of entries) {
      const c = labelled.get(e.name);
      if ("all" in which && !c?.role) continue; // only flannel-lab's labs
      await describe(e, e.lab_name, c?.node ?? e.name, e.name, c?.role ?? "");
    }
  }
  return out.sort((a, b) => a.lab.localeCompare(b.lab) || a.node.localeCompare(b.node));
}
