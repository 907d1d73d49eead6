/**
 * The topology files the containerlab runtime hands to containerlab (pure): the rendered copy of a shipped file
 * that `deploy` runs (the lab's name, a management network of its own, the locally built node image, the
 * project's bind mounts), the minimal file `destroy` runs when the rendered one is gone, and the refusal of
 * `kind: bridge` nodes, whose bridge containerlab would make in the host's namespace.
 *
 * @module
 */
import { UserError } from "../../cli/errors.ts";
import { parse as parseYaml, stringify as stringifyYaml } from "yaml";
import { NODE_IMAGE_REPO } from "../upstream/mod.ts";
import type { Topology } from "../topology/model.ts";

/** The image the shipped topologies name; replaced by the locally built tag in the rendered copy. */
export const SHIPPED_IMAGE = `${NODE_IMAGE_REPO}:latest`;

type Yaml = Record<string, unknown>;

function isObject(v: unknown): v is Yaml {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * The management network of a lab. Each lab gets its own (with a subnet Docker picks) instead of
 * containerlab's shared `clab`: containerlab removes the management network when it destroys the last lab using
 * it, and that check races with another lab deploying at the same moment ("network clab not found"), which
 * concurrent CI jobs or a user's own labs beside ours would hit.
 *
 * @param lab the lab name
 * @returns the Docker network name
 */
export function mgmtNetworkOf(lab: string): string {
  return `flannel-lab-${lab}`;
}

const mgmtOf = (lab: string) => ({ network: mgmtNetworkOf(lab), "ipv4-subnet": "auto" });

/**
 * Refuses `kind: bridge` nodes: containerlab makes their bridge in the host's namespace, which labs never touch
 * (the netns runtime keeps it in a lab-owned namespace). Pure.
 *
 * @param topo the resolved topology
 * @throws {UserError} naming the bridge nodes, with the linux-switch form as the way out
 */
export function refuseHostBridges(topo: Pick<Topology, "name" | "nodes">): void {
  const bridges = topo.nodes.filter((n) => n.bridge).map((n) => n.name);
  if (!bridges.length) return;
  throw new UserError(
    `Lab "${topo.name}" cannot run under the containerlab runtime: kind: bridge node${
      bridges.length > 1 ? "s" : ""
    } ${bridges.join(", ")} would be a bridge in the host's namespace, which labs never touch`,
    {
      hint: `use a linux node with label flannel-lab.role: switch whose exec lines make the bridge ` +
        `("ip link add br0 type bridge", "ip link set eth1 master br0", …) as in topologies/hostgw-same-subnet.clab.yml, ` +
        `or run it under the netns runtime, which keeps the bridge in a lab-owned namespace`,
    },
  );
}

/**
 * The copy of a topology that containerlab deploys: the lab's (possibly overridden) name, a management network
 * of its own (unless the file sets one), and the shipped node image replaced by the built tag. Pure.
 *
 * @param text the topology file's text
 * @param lab the lab name
 * @param imageTag the locally built node image
 * @param binds bind mounts added to every node (`host:container:mode`), after the node's own
 * @returns the rendered YAML text
 * @example The lab name and the built image
 * ```ts
 * import { renderTopology } from "./containerlab_topology.ts";
 * const text = "name: a\ntopology:\n  nodes:\n    n1: { kind: linux, image: flannel-lab/node:latest }\n";
 * const out = renderTopology(text, "a-1", "flannel-lab/node:0123");
 * console.assert(out.includes("name: a-1") && out.includes("image: flannel-lab/node:0123"));
 * ```
 */
export function renderTopology(
  text: string,
  lab: string,
  imageTag: string,
  binds: readonly string[] = [],
): string {
  const doc = parseYaml(text) as Yaml;
  doc["name"] = lab;
  if (!isObject(doc["mgmt"])) doc["mgmt"] = mgmtOf(lab);
  const topology = isObject(doc["topology"]) ? doc["topology"] : {};
  const fix = (o: unknown) => {
    if (isObject(o) && typeof o["image"] === "string" && o["image"] === SHIPPED_IMAGE) o["image"] = imageTag;
  };
  fix(topology["defaults"]);
  for (const section of ["kinds", "groups", "nodes"]) {
    const m = topology[section];
    if (isObject(m)) { for (const v of Object.values(m)) fix(v); }
  }
  // On every node (a node's own binds would replace the defaults' list): the node keeps its own ones first.
  if (binds.length && isObject(topology["nodes"])) {
    for (const node of Object.values(topology["nodes"])) {
      if (!isObject(node)) continue;
      const own = Array.isArray(node["binds"]) ? node["binds"] as unknown[] : [];
      node["binds"] = [...own, ...binds.filter((b) => !own.includes(b))];
    }
  }
  return `# rendered by flannel-lab from the shipped topology (lab name, node image${
    binds.length ? ", bind mounts of the project" : ""
  }); deployed with containerlab\n${stringifyYaml(doc, { lineWidth: 0 })}`;
}

/**
 * A topology that names only a lab's containers (for destroy when the rendered file is gone). Pure.
 *
 * @param lab the lab name
 * @param prefix containerlab's prefix
 * @param nodes the node names
 * @returns YAML text
 */
export function minimalTopology(lab: string, prefix: string, nodes: readonly string[]): string {
  return stringifyYaml({
    name: lab,
    prefix,
    mgmt: mgmtOf(lab),
    topology: { nodes: Object.fromEntries(nodes.map((n) => [n, { kind: "linux", image: SHIPPED_IMAGE }])) },
  });
}

/**
 * containerlab's prefix recovered from a container's long name. Pure.
 *
 * @param longname the container's name
 * @param lab the lab name
 * @param node the node name
 * @returns the prefix as a topology file writes it (`""` for none, `__lab-name` for the lab's name)
 * @example
 * ```ts
 * import { prefixOf } from "./containerlab_topology.ts";
 * console.assert(prefixOf("clab-lab1-n1", "lab1", "n1") === "clab");
 * console.assert(prefixOf("lab1-n1", "lab1", "n1") === "__lab-name");
 * ```
 */
export function prefixOf(longname: string, lab: string, node: string): string {
  if (longname === node) return "";
  if (longname === `${lab}-${node}`) return "__lab-name";
  const suffix = `-${lab}-${node}`;
  return longname.endsWith(suffix) ? longname.slice(0, -suffix.length) : "clab";
}
