/**
 * The one-node lab the control, heal and steady benchmarks share: a mini lab with etcd on tmpfs, the node
 * routed towards the synthetic peers' public IPs, a netlink handle in the node's namespace, the lease writer
 * (`control_writer.ts`, run inside the etcd namespace) and a count of the synthetic peers' kernel entries.
 *
 * @module
 */
import { Netlink, NUD_PERMANENT } from "../agent/netlink/mod.ts";
import { type MiniLab, type MiniNode, startMiniLab } from "../tests/helpers/mini_lab.ts";
import { uniqueName } from "../tests/helpers/tmpdir.ts";
import { benchNetworkConfig, isSynthetic, type SyntheticBackend, syntheticMac } from "./synthetic.ts";

const WRITER = new URL("./control_writer.ts", import.meta.url).pathname;

/** A running bench lab; dispose it to close netlink and remove the lab. */
export interface BenchLab extends AsyncDisposable {
  readonly lab: MiniLab;
  readonly node: MiniNode;
  readonly nl: Netlink;
  /** Runs the writer; returns its JSON lines. */
  write(
    backend: SyntheticBackend,
    mode: "pace-put" | "pace-del" | "burst-put" | "burst-del",
    from: number,
    count: number,
    gapMs?: number,
  ): Promise<Record<string, number>[]>;
  /** The synthetic peers' routes, permanent ARP entries and FDB entries on flannel.1 (zeros without it). */
  counts(): Promise<{ routes: number; neighs: number; fdbs: number }>;
}

/**
 * Starts the lab. `backend` writes its network config at once; without it each run writes its own.
 *
 * @param prefix namespace prefix (made unique)
 * @param options the backend, and how many synthetic MACs `counts` must recognise
 */
export async function openBenchLab(
  prefix: string,
  options: { readonly backend?: SyntheticBackend; readonly peers: number },
): Promise<BenchLab> {
  const lab = await startMiniLab({
    prefix: uniqueName(prefix),
    nodes: 1,
    ...(options.backend ? { networkConfig: benchNetworkConfig(options.backend) } : {}),
    parentDir: "/dev/shm",
  });
  try {
    const node = lab.nodes[0]!;
    // The vxlan peers' public IPs (100.64.0.0/10) must be routable from the node, as in a cluster.
    await node.ns.ip(["route", "add", "default", "via", "192.168.77.254", "dev", "eth1", "onlink"]);
    const nl = await Netlink.open({ netns: node.ns.name });
    const macs = new Set(Array.from({ length: options.peers }, (_, i) => syntheticMac(i)));
    return {
      lab,
      node,
      nl,
      async write(backend, mode, from, count, gapMs = 20) {
        const out = await lab.etcdNs.exec([
          Deno.execPath(),
          "run",
          "-A",
          "--quiet",
          "--no-lock",
          WRITER,
          lab.etcd.endpoint,
          lab.etcdPrefix,
          backend,
          mode,
          String(from),
          String(count),
          String(gapMs),
        ], { timeoutMs: 120_000 });
        return out.stdout.trim().split("\n").filter(Boolean).map((l) =>
          JSON.parse(l) as Record<string, number>
        );
      },
      async counts() {
        const dev = await nl.link.find("flannel.1");
        if (!dev) return { routes: 0, neighs: 0, fdbs: 0 };
        const routes = (await nl.route.list({ oif: dev.index })).filter((r) => isSynthetic(r.dst)).length;
        const neighs = (await nl.neigh.list({ index: dev.index }))
          .filter((n) => (n.state & NUD_PERMANENT) !== 0 && isSynthetic(n.dst)).length;
        const fdbs = (await nl.fdb.list({ index: dev.index }))
          .filter((f) => f.lladdr !== undefined && macs.has(f.lladdr)).length;
        return { routes, neighs, fdbs };
      },
      async [Symbol.asyncDispose]() {
        await nl[Symbol.asyncDispose]();
        await lab[Symbol.asyncDispose]();
      },
    };
  } catch (error) {
    await lab[Symbol.asyncDispose]();
    throw error;
  }
}
