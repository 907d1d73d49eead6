/**
 * The containerlab runtime: the same topology file deployed by real containerlab on Docker.
 *
 * - **deploy** renders a copy of the file into `<lab dir>/containerlab/<lab>.clab.yml` (the lab name, and the
 *   shipped `flannel-lab/node:latest` image replaced by the locally built node image's exact tag) and runs
 *   `containerlab deploy -t` on it with `CLAB_LABDIR_BASE=<lab dir>/containerlab`, so containerlab's own lab
 *   directory sits inside the harness's and the shipped file is never edited. Containerlab creates the
 *   containers, the veth links (with their MTU), applies sysctls and runs the exec lines inside the containers.
 * - **destroy** runs `containerlab destroy -t … --cleanup` (containers, its lab directory, the /etc/hosts block,
 *   ssh config and /run/netns links go), after stopping whatever the harness started in the containers' network
 *   namespaces (host processes, the nsenter parents) and removing host-side pods of older runs. It works from
 *   the containers' labels, so a crashed run is cleaned too.
 * - **inspect** reads `containerlab inspect --name <lab> --format json`.
 * - **binds**: the rendered copy bind-mounts into every node, at the host's paths, the project (read-only: mod.ts
 *   and, under `.tools/`, Deno's real binary and upstream flanneld), the Deno binary when it lives elsewhere, the
 *   Deno cache (read-only: npm packages resolve without network) and the lab directory (read-write: logs,
 *   subnet.env, etcd's data, the CNI plugin). Shipped files carry no binds (the netns runtime refuses them).
 * - **startDetached**: etcd and the agents (ours: `deno run … mod.ts agent`; upstream: `.tools/bin/flanneld`) run
 *   INSIDE the containers — their mount, pid, network, UTS and IPC namespaces, entered with `nsenter` from the
 *   host (`inside.ts`): `docker exec <container> ps -ef` lists them, and they see the container's /etc, /run and
 *   iptables/nft. Each is tracked by its host pid and start time, so kill/restart faults and `down` (also after
 *   a crashed harness) signal the process itself; removing a container kills whatever still runs in it.
 * - **pods**: namespaces made inside the node's container (`ip netns add` in its mount namespace); the CNI
 *   plugin runs inside it too (`execInside`) with CNI_NETNS=/run/netns/<pod> as the container sees it. They go
 *   with the container. `ip netns exec <pod> …` through exec/spawn (probes, captures, iperf3) enters the pod's
 *   namespace from the host through `/proc/<container init>/root/run/netns/<pod>`.
 * - **exec / spawn / wrap**: checks, captures and etcdctl use the host's programs in the container's network
 *   namespace (`/run/netns/<container>`, made by containerlab): the kernel state they read is the container's.
 * - **impair**: delay/jitter through `containerlab tools netem` (needs the kernel's sch_netem); loss and rate the
 *   way the netns runtime does them (nft random-drop rule, tbf), because this kernel family lacks netem.
 *
 * @module
 */
import { UserError } from "../../cli/errors.ts";
import { parse as parseYaml, stringify as stringifyYaml } from "yaml";
import { deleteNetns, listNetns } from "../netns.ts";
import type { Detached } from "../detached.ts";
import { type Process, run, type RunOptions, type RunResult, spawn, type SpawnOptions } from "../process.ts";
import {
  CONTAINERLAB_ENV,
  DOCKER,
  dockerServerVersion,
  ensureContainerlab,
  ensureDockerd,
  ensureNodeImage,
  NODE_IMAGE_REPO,
} from "../upstream/mod.ts";
import { longName, type Topology } from "../topology/model.ts";
import { nsenterArgs, podNetnsArgs, spawnInside } from "./inside.ts";
import { NetnsRuntime, ownedNamespaces } from "./netns.ts";
import { ownerMarker } from "./ownership.ts";
import type { DeployResult, DestroyResult, Impairment, LabSelector, NodeStatus, Runtime } from "./runtime.ts";

/** The image the shipped topologies name; replaced by the locally built tag in the rendered copy. */
export const SHIPPED_IMAGE = `${NODE_IMAGE_REPO}:latest`;

/** The sub-directory of the harness's lab directory that holds containerlab's files. */
export const CLAB_SUBDIR = "containerlab";

/** One container of a containerlab lab, from `inspect --format json`. */
interface InspectEntry {
  lab_name: string;
  name: string;
  kind: string;
  state: string;
  image: string;
  ipv4_address?: string;
}

/** A lab container as Docker's labels describe it. */
interface LabContainer {
  readonly id: string;
  readonly name: string;
  readonly lab: string;
  readonly node: string;
  readonly labDir?: string;
  readonly topoFile?: string;
  readonly role?: string;
}

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
 * @returns the rendered YAML text
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
 * The bind mounts every node gets, at the host's paths: the project (read-only: mod.ts, and under `.tools/`
 * Deno's real binary and upstream flanneld), the Deno binary when it lives elsewhere, the Deno cache (npm
 * packages resolve without network) and the lab directory (read-write: logs, subnet.env, etcd's data, the CNI
 * plugin). Missing paths are left out (Docker would create them).
 *
 * @param labDir the harness's lab directory
 * @returns `host:container:mode` strings
 */
export async function projectBinds(labDir: string): Promise<string[]> {
  const root = decodeURIComponent(new URL("../../", import.meta.url).pathname).replace(/\/$/, "");
  const under = (p: string, dir: string) => p === dir || p.startsWith(`${dir}/`);
  const exists = async (p: string) => await Deno.stat(p).then(() => true, () => false);
  const out: string[] = [`${root}:${root}:ro`];
  const deno = await Deno.realPath(Deno.execPath()).catch(() => Deno.execPath());
  const denoDir = deno.slice(0, deno.lastIndexOf("/"));
  if (!under(deno, root) && await exists(denoDir)) out.push(`${denoDir}:${denoDir}:ro`);
  const env = Deno.env.toObject();
  const cache = env["DENO_DIR"] ??
    (env["XDG_CACHE_HOME"]
      ? `${env["XDG_CACHE_HOME"]}/deno`
      : env["HOME"]
      ? `${env["HOME"]}/.cache/deno`
      : "");
  if (cache && !under(cache, root) && await exists(cache)) {
    out.push(`${await Deno.realPath(cache)}:${cache}:ro`);
  }
  out.push(`${await Deno.realPath(labDir)}:${labDir}:rw`);
  return out;
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

/** containerlab's prefix recovered from a container's long name. Pure. */
export function prefixOf(longname: string, lab: string, node: string): string {
  if (longname === node) return "";
  if (longname === `${lab}-${node}`) return "__lab-name";
  const suffix = `-${lab}-${node}`;
  return longname.endsWith(suffix) ? longname.slice(0, -suffix.length) : "clab";
}

/**
 * Removes what containerlab leaves on the host for a lab whose containers are already gone: the
 * `/etc/hosts` block, the ssh config file, and `/run/netns` links that point at no process any more. Only
 * dangling links whose name contains `-<lab>-` are touched, so another lab's live namespaces are never removed.
 *
 * @param lab the lab name
 * @returns the removed netns link names
 */
export async function removeHostLeftovers(lab: string): Promise<string[]> {
  const removed: string[] = [];
  const entries: Deno.DirEntry[] = [];
  try {
    for await (const e of Deno.readDir("/run/netns")) entries.push(e);
  } catch { /* no /run/netns: nothing to remove */ }
  for (const e of entries) {
    if (!e.isSymlink || !e.name.includes(`-${lab}-`)) continue;
    const path = `/run/netns/${e.name}`;
    const target = await Deno.readLink(path).catch(() => "");
    if (target && await Deno.stat(target).then(() => true, () => false)) continue;
    await Deno.remove(path).catch(() => {});
    removed.push(e.name);
  }
  const hosts = await Deno.readTextFile("/etc/hosts").catch(() => undefined);
  if (hosts !== undefined) {
    const kept = removeHostsBlock(hosts, lab);
    if (kept !== hosts) await Deno.writeTextFile("/etc/hosts", kept);
  }
  await Deno.remove(`/etc/ssh/ssh_config.d/clab-${lab}.conf`).catch(() => {});
  return removed;
}

/** `/etc/hosts` without containerlab's block for a lab. Pure. */
export function removeHostsBlock(hosts: string, lab: string): string {
  const lines = hosts.split("\n");
  const start = lines.indexOf(`###### CLAB-${lab}-START ######`);
  const end = lines.indexOf(`###### CLAB-${lab}-END ######`);
  if (start < 0 || end < start) return hosts;
  return [...lines.slice(0, start), ...lines.slice(end + 1)].join("\n");
}

/** The runtime that drives containerlab. */
export class ContainerlabRuntime implements Runtime {
  readonly name = "containerlab" as const;
  /** Processes, pods and loss/rate faults work on a container's netns exactly as on a plain one. */
  readonly #inside = new NetnsRuntime();
  #clab: Promise<string> | undefined;
  /** Where this instance rendered each lab (so destroy also removes a copy whose deploy made no container). */
  readonly #bases = new Map<string, string>();
  /** Containers' init pids, by container name. */
  readonly #pids = new Map<string, number>();

  /** The containerlab binary (installed when missing; a failure names the install command). */
  #binary(): Promise<string> {
    this.#clab ??= ensureContainerlab().then((t) => t.path).catch((error) => {
      this.#clab = undefined;
      throw error;
    });
    return this.#clab;
  }

  async #clabRun(
    args: readonly string[],
    options: { labdirBase?: string; check?: boolean; timeoutMs?: number } = {},
  ): Promise<RunResult> {
    const bin = await this.#binary();
    return await run([bin, ...args], {
      env: {
        ...CONTAINERLAB_ENV,
        NO_COLOR: "1",
        ...(options.labdirBase ? { CLAB_LABDIR_BASE: options.labdirBase } : {}),
      },
      check: options.check ?? true,
      timeoutMs: options.timeoutMs ?? 300_000,
    });
  }

  /** Docker's labelled lab containers (none when no daemon answers). */
  async #containers(filter?: string): Promise<LabContainer[]> {
    if (!(await dockerServerVersion())) return [];
    const r = await run([
      DOCKER,
      "ps",
      "-a",
      "--filter",
      filter ? `label=containerlab=${filter}` : "label=containerlab",
      "--format",
      "{{json .}}",
    ], { check: false, timeoutMs: 30_000 });
    if (r.code !== 0) return [];
    const out: LabContainer[] = [];
    for (const line of r.stdout.split("\n").filter(Boolean)) {
      const c = JSON.parse(line) as { ID: string; Names: string; Labels: string };
      const labels = Object.fromEntries(
        c.Labels.split(",").map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)]),
      );
      if (!labels["containerlab"]) continue;
      out.push({
        id: c.ID,
        name: c.Names,
        lab: labels["containerlab"],
        node: labels["clab-node-name"] ?? c.Names,
        ...(labels["clab-node-lab-dir"] ? { labDir: labels["clab-node-lab-dir"] } : {}),
        ...(labels["clab-topo-file"] ? { topoFile: labels["clab-topo-file"] } : {}),
        ...(labels["flannel-lab.role"] ? { role: labels["flannel-lab.role"] } : {}),
      });
    }
    return out;
  }

  async deploy(topo: Topology, options: { labDir: string }): Promise<DeployResult> {
    const started = performance.now();
    refuseHostBridges(topo);
    await ensureDockerd();
    const image = await ensureNodeImage();
    // The shipped files say flannel-lab/node:latest, so that `containerlab deploy -t` works by hand too.
    await run([DOCKER, "tag", image.tag, SHIPPED_IMAGE], { timeoutMs: 30_000 });
    const base = `${options.labDir}/${CLAB_SUBDIR}`;
    await Deno.mkdir(base, { recursive: true });
    this.#bases.set(topo.name, base);
    for (const n of topo.nodes) await Deno.mkdir(`${options.labDir}/${n.name}`, { recursive: true });
    const file = `${base}/${topo.name}.clab.yml`;
    await Deno.writeTextFile(
      file,
      renderTopology(
        await Deno.readTextFile(topo.file),
        topo.name,
        image.tag,
        await projectBinds(options.labDir),
      ),
    );
    for (const n of topo.nodes) this.#pids.delete(longName(topo, n.name));
    const before = new Set(
      (await this.#containers(topo.name)).map((c) => c.node),
    );
    const r = await this.#clabRun(["deploy", "-t", file], { labdirBase: base, check: false });
    if (r.code !== 0) {
      const lines = (r.stderr + r.stdout).trim().split("\n").filter((l) => /ERRO|FATA|Error/i.test(l));
      throw new UserError(
        `containerlab deploy of lab "${topo.name}" failed (exit ${r.code}): ${
          (lines.length ? lines.join("\n") : (r.stderr + r.stdout).trim()).slice(-1500)
        }`,
        { hint: `the rendered topology is ${file}; run it by hand with containerlab deploy -t ${file}` },
      );
    }
    const created = topo.nodes.map((n) => n.name).filter((n) => !before.has(n));
    const existing = topo.nodes.map((n) => n.name).filter((n) => before.has(n));
    return { labDir: options.labDir, created, existing, durationMs: Math.round(performance.now() - started) };
  }

  /** Kills the host processes the harness started inside a container's network namespace (not the container's). */
  async #killHostProcessesIn(ns: string): Promise<void> {
    const ours = await Deno.readLink("/proc/self/ns/pid").catch(() => "");
    const pids = await run(["ip", "netns", "pids", ns], { check: false, timeoutMs: 10_000 });
    for (const pid of pids.stdout.split(/\s+/).filter(Boolean)) {
      const pidns = await Deno.readLink(`/proc/${pid}/ns/pid`).catch(() => "");
      if (!ours || pidns !== ours) continue;
      try {
        Deno.kill(Number(pid), "SIGKILL");
      } catch { /* gone */ }
    }
  }

  async destroy(which: LabSelector): Promise<DestroyResult> {
    const started = performance.now();
    const lab = "all" in which ? undefined : "lab" in which ? which.lab : which.topology.name;
    const containers = (await this.#containers(lab)).filter((c) => lab !== undefined || c.role !== undefined);
    const labs = new Map<string, LabContainer[]>();
    for (const c of containers) labs.set(c.lab, [...(labs.get(c.lab) ?? []), c]);
    if ("topology" in which && !labs.has(which.topology.name)) labs.set(which.topology.name, []);
    const removed: string[] = [];
    const netnsNow = new Set(await listNetns());
    for (const [name, cs] of labs) {
      // 1. the pods (host namespaces with this lab's marker, or named after its nodes when the marker is missing)
      const pods = new Set((await ownedNamespaces()).filter((o) => o.lab === name && o.pod).map((o) => o.ns));
      if ("topology" in which) {
        for (const n of which.topology.nodes) {
          const ns = longName(which.topology, n.name);
          for (const other of netnsNow) {
            if (other.startsWith(`${ns}-p`) && /^\d+$/.test(other.slice(ns.length + 2))) pods.add(other);
          }
        }
      }
      for (const p of pods) {
        await deleteNetns(p);
        removed.push(p);
      }
      const known = this.#bases.get(name);
      this.#bases.delete(name);
      if (cs.length === 0) {
        if (known) await Deno.remove(known, { recursive: true }).catch(() => {});
        // Containers gone but containerlab never finished (a run killed mid-destroy): its host entries remain.
        removed.push(...await removeHostLeftovers(name));
        continue;
      }
      // 2. what the harness started in the containers' namespaces (a crashed run's etcd and agents)
      for (const c of cs) if (netnsNow.has(c.name)) await this.#killHostProcessesIn(c.name);
      // 3. containerlab destroy, from a topology naming exactly these containers
      const first = cs[0]!;
      const labdirBase = first.labDir ? first.labDir.replace(/\/clab-[^/]+\/[^/]+\/?$/, "") : undefined;
      const tmp = await Deno.makeTempDir({ prefix: "flannel-lab-clab-destroy-" });
      try {
        const file = `${tmp}/${name}.clab.yml`;
        await Deno.writeTextFile(
          file,
          minimalTopology(name, prefixOf(first.name, name, first.node), cs.map((c) => c.node)),
        );
        const r = await this.#clabRun(["destroy", "-t", file, "--cleanup", "-y"], {
          ...(labdirBase ? { labdirBase } : {}),
          check: false,
        });
        const left = await this.#containers(name);
        if (left.length) {
          // containerlab could not (daemon trouble, odd names): remove them by hand, then let it clean again.
          await run([DOCKER, "rm", "-f", ...left.map((c) => c.id)], { check: false, timeoutMs: 60_000 });
          if (r.code !== 0) {
            await this.#clabRun(["destroy", "-t", file, "--cleanup", "-y"], {
              ...(labdirBase ? { labdirBase } : {}),
              check: false,
            });
          }
        }
        removed.push(...cs.map((c) => c.name));
        // containerlab removes an unused management network itself; this catches a deploy that failed
        // half-way. A network still in use (or absent) makes `docker network rm` fail harmlessly.
        await run([DOCKER, "network", "rm", mgmtNetworkOf(name)], { check: false, timeoutMs: 30_000 });
      } finally {
        await Deno.remove(tmp, { recursive: true }).catch(() => {});
      }
      // 4. the rendered copy and its directory (only ours: <lab dir>/containerlab)
      if (labdirBase?.endsWith(`/${CLAB_SUBDIR}`)) {
        await Deno.remove(`${labdirBase}/${name}.clab.yml`).catch(() => {});
        await Deno.remove(`${labdirBase}/clab-${name}`, { recursive: true }).catch(() => {});
        await Deno.remove(labdirBase).catch(() => {}); // only when empty
      }
    }
    return { removed, durationMs: Math.round(performance.now() - started) };
  }

  async inspect(which: LabSelector): Promise<NodeStatus[]> {
    const entries: InspectEntry[] = [];
    if (await dockerServerVersion()) {
      const args = "all" in which
        ? ["inspect", "--all", "-f", "json"]
        : ["inspect", "--name", "lab" in which ? which.lab : which.topology.name, "-f", "json"];
      const r = await this.#clabRun(args, { check: false, timeoutMs: 60_000 });
      if (r.code === 0 && r.stdout.trim().startsWith("{")) {
        for (const list of Object.values(JSON.parse(r.stdout) as Record<string, InspectEntry[]>)) {
          entries.push(...list);
        }
      }
    }
    const labelled = new Map((await this.#containers()).map((c) => [c.name, c]));
    const addressesOf = async (ns: string): Promise<string[]> => {
      const r = await run(["ip", "-j", "-n", ns, "addr", "show"], { check: false, timeoutMs: 10_000 });
      if (r.code !== 0) return [];
      const links = JSON.parse(r.stdout || "[]") as {
        ifname: string;
        addr_info?: { family: string; local: string; prefixlen: number }[];
      }[];
      return links.filter((l) => l.ifname !== "lo").flatMap((l) =>
        (l.addr_info ?? []).filter((a) => a.family === "inet").map((a) =>
          `${l.ifname}=${a.local}/${a.prefixlen}`
        )
      );
    };
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

  /** The host pid of a node container's init (the target of nsenter), cached while that process lives. */
  async #pid(topo: Topology, node: string): Promise<number> {
    const name = longName(topo, node);
    const cached = this.#pids.get(name);
    if (cached !== undefined && (await Deno.stat(`/proc/${cached}/ns/pid`).then(() => true, () => false))) {
      return cached;
    }
    const r = await run([DOCKER, "inspect", "-f", "{{.State.Pid}}", name], {
      check: false,
      timeoutMs: 30_000,
    });
    const pid = Number(r.stdout.trim());
    if (r.code !== 0 || !(pid > 0)) {
      throw new UserError(`Container ${name} of lab "${topo.name}" is not running`, {
        hint: `deploy the lab first (flannel-lab deploy ${topo.file} --runtime containerlab)`,
      });
    }
    this.#pids.set(name, pid);
    return pid;
  }

  /** The node's environment from the topology (`env:`), for commands started inside its container. */
  #env(topo: Topology, node: string, extra?: Record<string, string>): Record<string, string> {
    return { ...topo.nodes.find((n) => n.name === node)?.env, ...extra };
  }

  /**
   * A pod's namespace named by `ip netns exec <pod> …`: the pods of a node live in its container's /run/netns,
   * which the host's `ip netns` does not see.
   */
  #podOf(topo: Topology, node: string, command: readonly string[]): string | undefined {
    if (command[0] !== "ip" || command[1] !== "netns" || command[2] !== "exec" || !command[3]) {
      return undefined;
    }
    const prefix = `${longName(topo, node)}-p`;
    return command[3].startsWith(prefix) && /^\d+$/.test(command[3].slice(prefix.length))
      ? command[3]
      : undefined;
  }

  /**
   * Runs a command in the node's network namespace with the host's programs (checks, captures, etcdctl), or in
   * a pod's namespace (`ip netns exec <pod> …`, entered through the container's /run/netns).
   */
  async exec(
    topo: Topology,
    node: string,
    command: readonly string[],
    options?: RunOptions,
  ): Promise<RunResult> {
    const pod = this.#podOf(topo, node, command);
    if (!pod) return await this.#inside.exec(topo, node, command, options);
    const env = this.#env(topo, node, options?.env);
    return await run(podNetnsArgs(await this.#pid(topo, node), pod, command.slice(4)), {
      ...options,
      ...(Object.keys(env).length ? { env } : {}),
    });
  }

  /** Starts a command like {@linkcode exec} does (probes, captures, iperf3 in pods). */
  async spawn(
    topo: Topology,
    node: string,
    command: readonly string[],
    options?: SpawnOptions,
  ): Promise<Process> {
    const pod = this.#podOf(topo, node, command);
    if (!pod) return await this.#inside.spawn(topo, node, command, options);
    const env = this.#env(topo, node, options?.env);
    return spawn(podNetnsArgs(await this.#pid(topo, node), pod, command.slice(4)), {
      ...options,
      ...(Object.keys(env).length ? { env } : {}),
    });
  }

  /** Host programs in the node's network namespace (what the cluster uses only without `startDetached`). */
  wrap(topo: Topology, node: string, command: readonly string[]): string[] {
    return this.#inside.wrap(topo, node, command);
  }

  /** etcd and the agents: inside the container (its filesystem, process table and network). */
  async startDetached(
    topo: Topology,
    node: string,
    command: readonly string[],
    options: { readonly logFile: string },
  ): Promise<Detached> {
    return await spawnInside(await this.#pid(topo, node), command, {
      ...options,
      env: this.#env(topo, node),
    });
  }

  /** The CNI plugin: inside the container, with the container's programs (its reference plugins, iptables). */
  async execInside(
    topo: Topology,
    node: string,
    command: readonly string[],
    options?: RunOptions,
  ): Promise<RunResult> {
    return await run(nsenterArgs(await this.#pid(topo, node), command, this.#env(topo, node)), options);
  }

  /** A pod's namespace, made inside the node's container: CNI_NETNS is `/run/netns/<pod>` there. */
  async addPodNetns(topo: Topology, node: string, pod: { id: string; name: string }): Promise<string> {
    const script = 'ip netns del "$1" 2>/dev/null; rm -f "/run/netns/$1"; ip netns add "$1" && ' +
      'ip -n "$1" link set lo alias "$2" && ip -n "$1" link set lo up';
    await this.execInside(topo, node, [
      "sh",
      "-c",
      script,
      "sh",
      pod.name,
      ownerMarker(topo.name, { pod: pod.id }),
    ], {
      timeoutMs: 30_000,
    });
    return `/run/netns/${pod.name}`;
  }

  async impair(topo: Topology, node: string, iface: string, impairment: Impairment): Promise<void> {
    if (impairment.kind === "netem" && impairment.delayMs !== undefined) {
      const args = [
        "tools",
        "netem",
        "set",
        "-n",
        longName(topo, node),
        "-i",
        iface,
        "--delay",
        `${impairment.delayMs}ms`,
      ];
      if (impairment.jitterMs !== undefined) args.push("--jitter", `${impairment.jitterMs}ms`);
      if (impairment.lossPct !== undefined) args.push("--loss", String(impairment.lossPct));
      if (impairment.rateKbit !== undefined) args.push("--rate", String(impairment.rateKbit));
      const r = await this.#clabRun(args, { check: false, timeoutMs: 30_000 });
      if (r.code !== 0) {
        throw new UserError(
          `containerlab tools netem could not delay traffic on ${node}:${iface}: ${
            (r.stderr + r.stdout).trim().slice(-500)
          }`,
          {
            hint: "delay and jitter need the kernel's netem qdisc (sch_netem), which this kernel lacks; " +
              "loss (random-drop rule) and rate (tbf) work without it",
          },
        );
      }
      return;
    }
    if (impairment.kind === "reset") {
      await this.#clabRun(["tools", "netem", "reset", "-n", longName(topo, node), "-i", iface], {
        check: false,
        timeoutMs: 30_000,
      });
    }
    await this.#inside.impair(topo, node, iface, impairment);
  }
}
