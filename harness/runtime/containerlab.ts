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
 * The parts: the files handed to containerlab are `containerlab_topology.ts`, the host paths and leftovers
 * `containerlab_host.ts`, the containerlab and Docker command lines `containerlab_cli.ts`, inspect
 * `containerlab_inspect.ts`, and the netem faults `containerlab_netem.ts`; this file is the runtime that uses them.
 *
 * @module
 */
import { UserError } from "../../cli/errors.ts";
import { deleteNetns, listNetns } from "../netns.ts";
import type { Detached } from "../../cli/process/mod.ts";
import {
  type Process,
  run,
  type RunOptions,
  type RunResult,
  spawn,
  type SpawnOptions,
} from "../../cli/process/mod.ts";
import { DOCKER, ensureDockerd, ensureNodeImage } from "../upstream/mod.ts";
import { longName, type Topology } from "../topology/model.ts";
import { type ClabRun, containerlabRunner, type LabContainer, labContainers } from "./containerlab_cli.ts";
import { projectBinds, removeHostLeftovers } from "./containerlab_host.ts";
import { inspectLabs } from "./containerlab_inspect.ts";
import { resetNetem, setNetemDelay } from "./containerlab_netem.ts";
import {
  mgmtNetworkOf,
  minimalTopology,
  prefixOf,
  refuseHostBridges,
  renderTopology,
  SHIPPED_IMAGE,
} from "./containerlab_topology.ts";
import { nsenterArgs, podNetnsArgs, spawnInside } from "./inside.ts";
import { NetnsRuntime, ownedNamespaces } from "./netns.ts";
import { ownerMarker } from "./ownership.ts";
import type { DeployResult, DestroyResult, Impairment, LabSelector, NodeStatus, Runtime } from "./runtime.ts";

/** The sub-directory of the harness's lab directory that holds containerlab's files. */
export const CLAB_SUBDIR = "containerlab";

/**
 * The pod a command names with `ip netns exec <pod> …`, when it is one of the container's pods
 * (`<container>-p<N>`): the pods of a node live in its container's /run/netns, which the host's `ip netns` does
 * not see, so such a command enters the pod from the host instead. Pure.
 *
 * @param container the node's container (its long name)
 * @param command the command
 * @returns the pod's namespace name, or `undefined` for any other command
 * @example
 * ```ts
 * import { podOfCommand } from "./containerlab.ts";
 * console.assert(podOfCommand("clab-a-n1", ["ip", "netns", "exec", "clab-a-n1-p2", "ping", "x"]) === "clab-a-n1-p2");
 * console.assert(podOfCommand("clab-a-n1", ["ip", "-j", "route"]) === undefined);
 * ```
 */
export function podOfCommand(container: string, command: readonly string[]): string | undefined {
  if (command[0] !== "ip" || command[1] !== "netns" || command[2] !== "exec" || !command[3]) {
    return undefined;
  }
  const prefix = `${container}-p`;
  return command[3].startsWith(prefix) && /^\d+$/.test(command[3].slice(prefix.length))
    ? command[3]
    : undefined;
}

/** The runtime that drives containerlab. */
export class ContainerlabRuntime implements Runtime {
  readonly name = "containerlab" as const;
  /** Processes, pods and loss/rate faults work on a container's netns exactly as on a plain one. */
  readonly #inside = new NetnsRuntime();
  /** containerlab, installed on first use. */
  readonly #clab: ClabRun = containerlabRunner();
  /** Where this instance rendered each lab (so destroy also removes a copy whose deploy made no container). */
  readonly #bases = new Map<string, string>();
  /** Containers' init pids, by container name. */
  readonly #pids = new Map<string, number>();

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
      (await labContainers(topo.name)).map((c) => c.node),
    );
    const r = await this.#clab(["deploy", "-t", file], { labdirBase: base, check: false });
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
    const containers = (await labContainers(lab)).filter((c) => lab !== undefined || c.role !== undefined);
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
        const r = await this.#clab(["destroy", "-t", file, "--cleanup", "-y"], {
          ...(labdirBase ? { labdirBase } : {}),
          check: false,
        });
        const left = await labContainers(name);
        if (left.length) {
          // containerlab could not (daemon trouble, odd names): remove them by hand, then let it clean again.
          await run([DOCKER, "rm", "-f", ...left.map((c) => c.id)], { check: false, timeoutMs: 60_000 });
          if (r.code !== 0) {
            await this.#clab(["destroy", "-t", file, "--cleanup", "-y"], {
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

  inspect(which: LabSelector): Promise<NodeStatus[]> {
    return inspectLabs(which, this.#clab);
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
   * Runs a command in the node's network namespace with the host's programs (checks, captures, etcdctl), or in
   * a pod's namespace (`ip netns exec <pod> …`, entered through the container's /run/netns).
   */
  async exec(
    topo: Topology,
    node: string,
    command: readonly string[],
    options?: RunOptions,
  ): Promise<RunResult> {
    const pod = podOfCommand(longName(topo, node), command);
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
    const pod = podOfCommand(longName(topo, node), command);
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
    const target = { container: longName(topo, node), node, iface };
    if (await setNetemDelay(this.#clab, { target, impairment })) return;
    if (impairment.kind === "reset") await resetNetem(this.#clab, target);
    await this.#inside.impair(topo, node, iface, impairment);
  }
}
