/**
 * A small fixed lab for the demo and the agent's integration tests: an etcd namespace and N node namespaces,
 * each with `eth1` on one switch (a bridge inside a lab-owned namespace), or on two subnets joined by a router.
 * The topology-driven harness generalises this; it stays as the quickest way to get real agents talking.
 *
 * @module
 */
import { agentV8FlagsArg } from "../agent/v8_flags.ts";
import { type Etcd, startEtcd } from "./etcd.ts";
import { addBridge, addVeth, Netns, setMaster } from "./netns.ts";
import type { Process } from "./process.ts";

/** A node of the lab. */
export interface MiniNode {
  readonly name: string;
  readonly ns: Netns;
  /** The node's underlay address on eth1. */
  readonly ip: string;
  /** A directory for this node's subnet.env, logs and CNI state. */
  readonly dir: string;
}

/** Options of {@linkcode startMiniLab}. */
export interface MiniLabOptions {
  /** Namespace name prefix; must be unique per concurrently running lab. */
  readonly prefix: string;
  readonly nodes: number;
  /** The network config written to etcd (JSON text); none when omitted. */
  readonly networkConfig?: string;
  /** MTU of the underlay links (default 1500). */
  readonly mtu?: number;
  /** Put every second node on a second subnet behind a router (default: all on one switch). */
  readonly split?: boolean;
  /** The etcd key prefix (default /coreos.com/network). */
  readonly etcdPrefix?: string;
  /**
   * Where the lab's directory (etcd's data, logs) is made (default: the system's temp folder). Benchmarks pass
   * a tmpfs such as /dev/shm so that etcd's fsyncs cost nothing.
   */
  readonly parentDir?: string;
}

/** A running mini lab; dispose it to stop everything and delete every namespace. */
export interface MiniLab extends AsyncDisposable {
  readonly etcd: Etcd;
  readonly etcdNs: Netns;
  readonly nodes: readonly MiniNode[];
  readonly dir: string;
  readonly etcdPrefix: string;
  /** Starts our agent on a node with extra flags; its log goes to `<node dir>/agent.log`. */
  startAgent(node: MiniNode, flags?: readonly string[]): Promise<Process>;
}

const MOD = new URL("../mod.ts", import.meta.url);

/** Builds the lab: namespaces, links, addresses, etcd (and the network config, if given). */
export async function startMiniLab(options: MiniLabOptions): Promise<MiniLab> {
  const p = options.prefix;
  const mtu = options.mtu ?? 1500;
  const etcdPrefix = options.etcdPrefix ?? "/coreos.com/network";
  const dir = await Deno.makeTempDir({
    prefix: `flannel-lab-${p}-`,
    ...(options.parentDir ? { dir: options.parentDir } : {}),
  });
  const owned: Netns[] = [];
  const agents: Process[] = [];
  let etcd: Etcd | undefined;
  const cleanup = async () => {
    await Promise.allSettled(agents.map((a) => a.stop()));
    await etcd?.[Symbol.asyncDispose]();
    await Promise.allSettled(owned.map((ns) => ns.delete()));
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  };
  try {
    const ns = async (name: string) => {
      const n = await Netns.create(`${p}-${name}`);
      owned.push(n);
      return n;
    };
    // Switch A (and B with a router between them when split).
    const swA = await ns("swa");
    await addBridge(swA, "br0");
    const swB = options.split ? await ns("swb") : undefined;
    if (swB) {
      await addBridge(swB, "br0");
      const router = await ns("router");
      await addVeth({ ns: router, name: "eth1", addrs: ["192.168.77.254/24"] }, { ns: swA, name: "router" }, {
        mtu,
      });
      await addVeth({ ns: router, name: "eth2", addrs: ["192.168.78.254/24"] }, { ns: swB, name: "router" }, {
        mtu,
      });
      await setMaster(swA, "router", "br0");
      await setMaster(swB, "router", "br0");
      await router.exec(["sysctl", "-qw", "net.ipv4.ip_forward=1"]);
    }
    const etcdNs = await ns("etcd");
    await addVeth({ ns: etcdNs, name: "eth1", addrs: ["192.168.77.250/24"] }, { ns: swA, name: "etcd" }, {
      mtu,
    });
    await setMaster(swA, "etcd", "br0");
    if (swB) await etcdNs.ip(["route", "add", "192.168.78.0/24", "via", "192.168.77.254"]);
    const nodes: MiniNode[] = [];
    for (let i = 1; i <= options.nodes; i++) {
      const onB = swB !== undefined && i % 2 === 0;
      const sw = onB ? swB : swA;
      const ip = onB ? `192.168.78.${i}` : `192.168.77.${i}`;
      const node = await ns(`n${i}`);
      await addVeth({ ns: node, name: "eth1", addrs: [`${ip}/24`] }, { ns: sw, name: `n${i}` }, { mtu });
      await setMaster(sw, `n${i}`, "br0");
      if (swB) {
        const [net, via] = onB
          ? ["192.168.77.0/24", "192.168.78.254"]
          : ["192.168.78.0/24", "192.168.77.254"];
        await node.ip(["route", "add", net, "via", via]);
      }
      const nodeDir = `${dir}/n${i}`;
      await Deno.mkdir(nodeDir, { recursive: true });
      nodes.push({ name: `n${i}`, ns: node, ip, dir: nodeDir });
    }
    etcd = await startEtcd({ netns: etcdNs, host: "192.168.77.250", dir: `${dir}/etcd` });
    if (options.networkConfig !== undefined) {
      await etcd.ctl(["put", `${etcdPrefix}/config`, options.networkConfig]);
    }
    const lab: MiniLab = {
      etcd,
      etcdNs,
      nodes,
      dir,
      etcdPrefix,
      async startAgent(node, flags = []) {
        const agent = await node.ns.spawn([
          Deno.execPath(),
          "run",
          "--quiet",
          "--allow-all",
          "--unstable-net",
          agentV8FlagsArg(),
          MOD.pathname,
          "agent",
          `--etcd-endpoints=${etcd!.endpoint}`,
          `--etcd-prefix=${etcdPrefix}`,
          "--iface=eth1",
          `--subnet-file=${node.dir}/subnet.env`,
          ...flags,
        ], { logFile: `${node.dir}/agent.log` });
        agents.push(agent);
        return agent;
      },
      [Symbol.asyncDispose]: cleanup,
    };
    return lab;
  } catch (error) {
    await cleanup();
    throw error;
  }
}

/** Polls `check` every 50 ms until it returns a value other than `undefined`, or throws after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`, { cause: lastError });
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Reads a file, or `undefined` when it does not exist yet. */
export async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

/** Lists `<prefix>/subnets/` keys and values via etcdctl. */
export async function etcdLeases(lab: MiniLab): Promise<Map<string, string>> {
  const out = await lab.etcd.ctl(["get", "--prefix", `${lab.etcdPrefix}/subnets/`, "-w", "json"]);
  const parsed = JSON.parse(out) as { kvs?: { key: string; value: string }[] };
  const map = new Map<string, string>();
  for (const kv of parsed.kvs ?? []) map.set(atob(kv.key), atob(kv.value));
  return map;
}
