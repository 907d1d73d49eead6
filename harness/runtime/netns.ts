/**
 * The netns runtime: each linux node is a network namespace named like containerlab's container
 * (`<prefix>-<lab>-<node>`), each link a veth pair with the named interfaces and MTU, exec lines run inside the
 * node (argument arrays, no shell). A `kind: bridge` node is such a namespace holding a Linux bridge named as the
 * node, its link ends enslaved to it. Nothing is created in the main namespace: a veth pair is made inside one
 * node's namespace and its peer moved straight into the other. Every namespace carries an ownership marker
 * (`ownership.ts`), so destroy also removes what a crashed run left. The namespace and veth primitives are
 * `../netns.ts`'s, shared with the tests' own namespaces; this file adds what a topology means.
 *
 * @module
 */
import { UserError } from "../../cli/errors.ts";
import type { Process, RunOptions, RunResult, SpawnOptions } from "../../cli/process/mod.ts";
import { addNetns, addVeth, deleteNetns, listNetns, Netns } from "../netns.ts";
import { type Link, longName, type NodeSpec, type Topology } from "../topology/model.ts";
import { ownerMarker, parseMarker } from "./ownership.ts";
import { refuseNetnsLimits } from "../topology/resolve.ts";
import type { DeployResult, DestroyResult, Impairment, LabSelector, NodeStatus, Runtime } from "./runtime.ts";

/** The nft table holding a loss rule for one interface (names may only hold letters, digits and _). */
export function lossTable(iface: string): string {
  return `flannel_lab_loss_${iface.replace(/[^A-Za-z0-9_]/g, "_")}`;
}

interface IpLink {
  ifname: string;
  ifalias?: string;
  operstate?: string;
  addr_info?: { family: string; local: string; prefixlen: number }[];
}

async function aliasOf(ns: string): Promise<string | undefined> {
  const r = await Netns.of(ns).ip(["-j", "link", "show", "lo"], { check: false, timeoutMs: 5000 });
  if (r.code !== 0) return undefined;
  return (JSON.parse(r.stdout || "[]") as IpLink[])[0]?.ifalias;
}

/** Every namespace with a flannel-lab marker, with what the marker says. */
export async function ownedNamespaces(): Promise<{ ns: string; lab: string; node?: string; pod?: string }[]> {
  const out = [];
  for (const ns of await listNetns()) {
    const m = parseMarker(await aliasOf(ns));
    if (m) out.push({ ns, ...m });
  }
  return out;
}

/** The namespace of a node. */
function nsOf(topo: Topology, node: string): Netns {
  return Netns.of(longName(topo, node));
}

function nodeOrThrow(topo: Topology, node: string): NodeSpec {
  const spec = topo.nodes.find((n) => n.name === node);
  if (!spec) {
    throw new UserError(`Node "${node}" is not in lab "${topo.name}"`, {
      hint: `nodes: ${topo.nodes.map((n) => n.name).join(", ")}`,
    });
  }
  return spec;
}

/** Makes a link's veth pair (named, with its MTU and MACs) between its nodes' namespaces, and sets it up. */
async function makeLink(topo: Topology, link: Link): Promise<void> {
  const end = (e: Link["a"]) => ({ ns: nsOf(topo, e.node), name: e.iface, ...(e.mac ? { mac: e.mac } : {}) });
  await addVeth(end(link.a), end(link.b), { mtu: link.mtu });
}

/** A bridge node's link ends are the bridge's ports. */
async function enslave(topo: Topology, node: NodeSpec, ifaces: readonly string[]): Promise<void> {
  const ns = nsOf(topo, node.name);
  for (const iface of ifaces) {
    await ns.ip(["link", "set", iface, "master", node.name]);
    await ns.ip(["link", "set", iface, "up"]);
  }
}

/** The Docker-free runtime. */
export class NetnsRuntime implements Runtime {
  readonly name = "netns" as const;

  /** The namespace of a node. */
  netnsOf(topo: Topology, node: string): string {
    return longName(topo, node);
  }

  async deploy(topo: Topology, options: { labDir: string }): Promise<DeployResult> {
    refuseNetnsLimits(topo);
    const started = performance.now();
    await Deno.mkdir(options.labDir, { recursive: true });
    const existingNs = new Set(await listNetns());
    const created: string[] = [];
    const existing: string[] = [];
    // 1. namespaces
    for (const node of topo.nodes) {
      const ns = longName(topo, node.name);
      await Deno.mkdir(`${options.labDir}/${node.name}`, { recursive: true });
      const marker = ownerMarker(topo.name, { node: node.name });
      if (existingNs.has(ns)) {
        const alias = await aliasOf(ns);
        if (alias === marker) {
          existing.push(node.name);
          continue;
        }
        const owner = parseMarker(alias);
        throw new UserError(
          `Cannot deploy node "${node.name}": namespace "${ns}" already exists and ${
            owner ? `belongs to lab "${owner.lab}"` : "was not made by flannel-lab"
          }`,
          {
            hint: owner
              ? `run flannel-lab down for lab "${owner.lab}" first`
              : `remove it: ip netns del ${ns}`,
          },
        );
      }
      await addNetns(ns, { marker });
      created.push(node.name);
    }
    // 1b. the bridge of each bridge node, inside its namespace (also in one that existed, so a half-made lab heals)
    for (const node of topo.nodes.filter((n) => n.bridge)) {
      const ns = nsOf(topo, node.name);
      if ((await ns.ip(["link", "show", node.name], { check: false })).code !== 0) {
        await ns.ip(["link", "add", node.name, "type", "bridge"]);
      }
      await ns.ip(["link", "set", node.name, "up"]);
    }
    // 2. links (a link whose one end exists is recreated, so a half-made lab heals)
    for (const link of topo.links) {
      const nsA = nsOf(topo, link.a.node);
      const nsB = nsOf(topo, link.b.node);
      const hasA = (await nsA.ip(["link", "show", link.a.iface], { check: false })).code === 0;
      const hasB = (await nsB.ip(["link", "show", link.b.iface], { check: false })).code === 0;
      if (hasA && hasB) continue;
      if (hasA) await nsA.ip(["link", "del", link.a.iface], { check: false });
      if (hasB) await nsB.ip(["link", "del", link.b.iface], { check: false });
      await makeLink(topo, link);
    }
    // 2b. a bridge node's link ends are the bridge's ports
    for (const node of topo.nodes.filter((n) => n.bridge)) await enslave(topo, node, node.interfaces);
    // 3. sysctls and exec lines of the nodes created now (containerlab runs exec after the links exist)
    await Promise.all(
      topo.nodes.filter((n) => created.includes(n.name)).map(async (node) => {
        const ns = nsOf(topo, node.name);
        const sysctls = { "net.ipv6.conf.all.disable_ipv6": "0", ...node.sysctls };
        for (const [key, value] of Object.entries(sysctls)) {
          await ns.exec(["sysctl", "-qw", `${key}=${value}`], { timeoutMs: 10_000 })
            .catch((error) => {
              throw new UserError(`Node "${node.name}": sysctl ${key}=${value} failed: ${error.message}`);
            });
        }
        if (node.startupDelaySec > 0) await new Promise((r) => setTimeout(r, node.startupDelaySec * 1000));
        for (const [i, words] of node.exec.entries()) {
          const r = await this.exec(topo, node.name, words, { check: false, timeoutMs: 30_000 });
          if (r.code !== 0) {
            throw new UserError(
              `Node "${node.name}": exec line ${i + 1} ${
                JSON.stringify(node.execLines[i])
              } exited ${r.code}: ` +
                (r.stderr.trim() || r.stdout.trim()).slice(-500),
            );
          }
        }
      }),
    );
    await Deno.writeTextFile(
      `${options.labDir}/topology-data.json`,
      JSON.stringify(
        {
          name: topo.name,
          type: "clab",
          runtime: this.name,
          topology: topo.file,
          nodes: Object.fromEntries(topo.nodes.map((n) => [n.name, {
            longname: longName(topo, n.name),
            kind: n.bridge ? "bridge" : "linux",
            role: n.role,
            interfaces: n.interfaces,
          }])),
          links: topo.links.map((l) => ({ a: l.a, b: l.b, mtu: l.mtu })),
        },
        null,
        2,
      ) + "\n",
    );
    return { labDir: options.labDir, created, existing, durationMs: Math.round(performance.now() - started) };
  }

  async destroy(which: LabSelector): Promise<DestroyResult> {
    const started = performance.now();
    const owned = await ownedNamespaces();
    const lab = "all" in which ? undefined : "lab" in which ? which.lab : which.topology.name;
    // Pods first (they hang off nodes), then nodes; processes inside are killed by deleteNetns.
    const victims = owned.filter((o) => lab === undefined || o.lab === lab)
      .sort((a, b) => Number(a.pod === undefined) - Number(b.pod === undefined));
    // A topology also names namespaces a run may have left without a marker (killed between add and alias).
    const names = new Set(victims.map((v) => v.ns));
    if ("topology" in which) {
      const all = new Set(await listNetns());
      for (const n of which.topology.nodes) {
        const ns = longName(which.topology, n.name);
        if (all.has(ns) && !names.has(ns) && (await aliasOf(ns)) === undefined) names.add(ns);
        // Pods are named <node namespace>-pN; one whose marker was never written is still ours.
        for (const other of all) {
          if (
            other.startsWith(`${ns}-p`) && /^\d+$/.test(other.slice(ns.length + 2)) &&
            (await aliasOf(other)) === undefined
          ) {
            names.add(other);
          }
        }
      }
    }
    for (const ns of names) await deleteNetns(ns);
    return { removed: [...names], durationMs: Math.round(performance.now() - started) };
  }

  async inspect(which: LabSelector): Promise<NodeStatus[]> {
    const owned = (await ownedNamespaces()).filter((o) => o.node !== undefined);
    const out: NodeStatus[] = [];
    const describe = async (
      lab: string,
      node: string,
      ns: string,
      present: boolean,
      role: string,
      kind = "linux",
    ) => {
      let addresses: string[] = [];
      if (present) {
        const links = await Netns.of(ns).ipJson<IpLink[]>(["addr", "show"]);
        addresses = links.filter((l) => l.ifname !== "lo").flatMap((l) =>
          (l.addr_info ?? []).filter((a) => a.family === "inet").map((a) =>
            `${l.ifname}=${a.local}/${a.prefixlen}`
          )
        );
      }
      out.push({
        lab,
        node,
        longName: ns,
        kind,
        role,
        state: present ? "running" : "missing",
        addresses,
      });
    };
    if ("topology" in which) {
      const t = which.topology;
      const have = new Set(owned.filter((o) => o.lab === t.name).map((o) => o.ns));
      for (const n of t.nodes) {
        await describe(
          t.name,
          n.name,
          longName(t, n.name),
          have.has(longName(t, n.name)),
          n.role,
          n.bridge ? "bridge" : "linux",
        );
      }
    } else {
      for (const o of owned) {
        if ("lab" in which && o.lab !== which.lab) continue;
        await describe(o.lab, o.node!, o.ns, true, "");
      }
    }
    return out.sort((a, b) => a.lab.localeCompare(b.lab) || a.node.localeCompare(b.node));
  }

  exec(topo: Topology, node: string, command: readonly string[], options?: RunOptions): Promise<RunResult> {
    const spec = nodeOrThrow(topo, node);
    const env = Object.keys(spec.env).length ? { env: { ...spec.env, ...options?.env } } : {};
    return nsOf(topo, node).exec(command, { ...options, ...env });
  }

  spawn(topo: Topology, node: string, command: readonly string[], options?: SpawnOptions): Promise<Process> {
    const spec = nodeOrThrow(topo, node);
    const env = Object.keys(spec.env).length ? { env: { ...spec.env, ...options?.env } } : {};
    return nsOf(topo, node).spawn(command, { ...options, ...env });
  }

  wrap(topo: Topology, node: string, command: readonly string[]): string[] {
    const spec = nodeOrThrow(topo, node);
    const env = Object.entries(spec.env).map(([k, v]) => `${k}=${v}`);
    return nsOf(topo, node).wrap([...(env.length ? ["env", ...env] : []), ...command]);
  }

  async addPodNetns(topo: Topology, node: string, pod: { id: string; name: string }): Promise<string> {
    nodeOrThrow(topo, node);
    // Made from the host's mount namespace: `ip netns add` under `ip netns exec` would bind-mount the new
    // namespace into that command's private mount namespace, where it vanishes.
    await Netns.create(pod.name, { marker: ownerMarker(topo.name, { pod: pod.id }) });
    return `/run/netns/${pod.name}`;
  }

  /**
   * Deletes a link (both ends go) and makes it again; each end's node then runs again the exec lines that
   * configure it — its `ip link set` lines (a bridge port), addresses on the interface, and every route, since
   * routes through it went with it — as a network restart would. A route that survived is "File exists", which is fine.
   */
  async #recreate(topo: Topology, node: string, iface: string): Promise<void> {
    const link = topo.links.find((l) =>
      (l.a.node === node && l.a.iface === iface) || (l.b.node === node && l.b.iface === iface)
    );
    if (!link) throw new UserError(`${node}:${iface} is not a link of the topology`);
    // A NIC comes back with its own MAC; a new random one would leave every neighbour's ARP entry stale for
    // half a minute, which is the underlay's problem, not the agent's.
    const macOf = async (end: Link["a"]) => {
      const r = await nsOf(topo, end.node).ip(["-j", "link", "show", end.iface]);
      return (JSON.parse(r.stdout) as { address?: string }[])[0]?.address;
    };
    const [macA, macB] = [await macOf(link.a), await macOf(link.b)];
    await nsOf(topo, link.a.node).ip(["link", "del", link.a.iface]);
    await makeLink(topo, {
      ...link,
      a: { ...link.a, ...(macA ? { mac: macA } : {}) },
      b: { ...link.b, ...(macB ? { mac: macB } : {}) },
    });
    for (const end of [link.a, link.b]) {
      const spec = nodeOrThrow(topo, end.node);
      if (spec.bridge) {
        await enslave(topo, spec, [end.iface]);
        continue;
      }
      for (const [i, words] of spec.exec.entries()) {
        const dev = words.indexOf("dev");
        const isAddr = words[0] === "ip" && /^a(ddr|ddress)?$/.test(words[1] ?? "") &&
          words[dev + 1] === end.iface;
        const isRoute = words[0] === "ip" && /^r(o|oute)?$/.test(words[1] ?? "") && words[2] === "add";
        const isLink = words[0] === "ip" && words[1] === "link" && words[2] === "set" &&
          words[3] === end.iface;
        if (!isAddr && !isRoute && !isLink) continue;
        const r = await this.exec(topo, end.node, words, { check: false, timeoutMs: 10_000 });
        if (r.code !== 0 && !/File exists/.test(r.stderr)) {
          throw new UserError(
            `Node "${end.node}": exec line ${i + 1} ${
              JSON.stringify(spec.execLines[i])
            } failed again after ` +
              `recreating ${end.node}:${end.iface}: ${r.stderr.trim()}`,
          );
        }
      }
    }
  }

  async impair(topo: Topology, node: string, iface: string, impairment: Impairment): Promise<void> {
    nodeOrThrow(topo, node);
    const ns = nsOf(topo, node);
    switch (impairment.kind) {
      case "down":
      case "up":
        await ns.ip(["link", "set", iface, impairment.kind]);
        return;
      case "mtu":
        await ns.ip(["link", "set", iface, "mtu", String(impairment.mtu)]);
        return;
      case "recreate":
        await this.#recreate(topo, node, iface);
        return;
      case "reset":
        await this.exec(topo, node, ["nft", "delete", "table", "ip", lossTable(iface)], { check: false });
        await this.exec(topo, node, ["tc", "qdisc", "del", "dev", iface, "root"], { check: false });
        return;
      case "netem": {
        // This kernel family often lacks sch_netem. Loss is emulated with a random-drop rule in a table of our
        // own (nft's `numgen random`, the equivalent of iptables' `statistic --mode random`) on the egress of
        // the interface, where netem would sit; rate uses tbf. Delay and jitter need netem and are refused
        // with the missing kernel feature named when it is absent.
        if (impairment.delayMs !== undefined) {
          const args = [
            "tc",
            "qdisc",
            "replace",
            "dev",
            iface,
            "root",
            "netem",
            "delay",
            `${impairment.delayMs}ms`,
          ];
          if (impairment.jitterMs !== undefined) args.push(`${impairment.jitterMs}ms`);
          if (impairment.rateKbit !== undefined) args.push("rate", `${impairment.rateKbit}kbit`);
          const r = await this.exec(topo, node, args, { check: false, timeoutMs: 10_000 });
          if (r.code !== 0) {
            throw new UserError(
              `Cannot delay traffic on ${node}:${iface}: ${r.stderr.trim() || `tc exited ${r.code}`}`,
              {
                hint: /unknown|not found|No such file/i.test(r.stderr)
                  ? "delay and jitter need the kernel's netem qdisc (CONFIG_NET_SCH_NETEM, module sch_netem), " +
                    "which this kernel lacks; loss (random-drop rule) and rate (tbf) work without it — " +
                    "`flannel-lab doctor` lists what this host supports"
                  : "",
              },
            );
          }
        } else if (impairment.rateKbit !== undefined) {
          const kbit = impairment.rateKbit;
          // burst: at least one MTU-sized packet, and ~10 ms at the rate.
          const burst = Math.max(Math.ceil(kbit / 100), 16);
          const r = await this.exec(topo, node, [
            "tc",
            "qdisc",
            "replace",
            "dev",
            iface,
            "root",
            "tbf",
            "rate",
            `${kbit}kbit`,
            "burst",
            `${burst}kbit`,
            "latency",
            "400ms",
          ], { check: false, timeoutMs: 10_000 });
          if (r.code !== 0) {
            throw new UserError(`Cannot limit the rate on ${node}:${iface}: ${r.stderr.trim()}`, {
              hint: "rate limiting needs the kernel's tbf qdisc (CONFIG_NET_SCH_TBF)",
            });
          }
        }
        if (impairment.lossPct !== undefined) {
          const table = lossTable(iface);
          const per = Math.round(impairment.lossPct * 100); // out of 10000
          await this.exec(topo, node, ["nft", "delete", "table", "ip", table], { check: false });
          const script = [
            `add table ip ${table}`,
            `add chain ip ${table} post { type filter hook postrouting priority -300; policy accept; }`,
            `add rule ip ${table} post oifname "${iface}" numgen random mod 10000 < ${per} counter drop`,
            "",
          ].join("\n");
          const r = await this.exec(topo, node, ["nft", "-f", "-"], {
            stdin: script,
            check: false,
            timeoutMs: 10_000,
          });
          if (r.code !== 0) {
            throw new UserError(`Cannot emulate loss on ${node}:${iface}: ${r.stderr.trim()}`, {
              hint: "loss needs nftables (nft) with numgen in the kernel (CONFIG_NFT_NUMGEN)",
            });
          }
        }
        return;
      }
    }
  }
}
