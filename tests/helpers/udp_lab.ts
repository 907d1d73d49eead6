/**
 * A two-node lab for the udp backend, shared by its integration tests and `bench/udp_bench.ts`:
 *
 *     pod1 (10.5.1.2) -- node1 [flannel0 10.5.1.0/32] eth1 192.168.60.1 ==== 192.168.60.2 eth1 [flannel0] node2 -- pod2 (10.5.2.2)
 *
 * Each node runs the standalone udp backend (`agent/backend/udp/proxy_main.ts`) with the other as its peer.
 * Pod links are 1500 bytes so that flannel0's MTU (underlay − 28) is what limits a DF ping. Everything lives in
 * namespaces the lab creates and deletes.
 *
 * {@linkcode startUpstreamUdpLab} builds the same topology around two upstream flanneld processes (udp backend,
 * etcd in node 1's namespace), for side-by-side benchmarks.
 *
 * @module
 */
import { addVeth, Netns } from "../../harness/netns.ts";
import type { Process } from "../../cli/process/mod.ts";
import { type Etcd, startEtcd } from "../../harness/etcd.ts";
import { uniqueName } from "./tmpdir.ts";

const MAIN = new URL("../../agent/backend/udp/proxy_main.ts", import.meta.url).pathname;

/** One node of the lab. */
export interface UdpLabNode {
  readonly ns: Netns;
  readonly pod: Netns;
  readonly underlay: string;
  readonly podIp: string;
  readonly subnet: string;
  readonly log: string;
  proxy: Process | undefined;
}

/** The running lab; dispose it to stop the proxies and delete the namespaces. */
export interface UdpLab extends AsyncDisposable {
  readonly nodes: readonly [UdpLabNode, UdpLabNode];
  readonly dir: string;
  /** Starts (or restarts) a node's proxy and waits for `ready`; `extraArgs` go to `udp/proxy_main.ts`. */
  startProxy(i: 0 | 1, extraPeers?: readonly string[], extraArgs?: readonly string[]): Promise<void>;
  /** Stops a node's proxy and returns its counters. */
  stopProxy(i: 0 | 1): Promise<Record<string, number>>;
}

/** Polls `fn` until it returns a value other than undefined, or throws after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  fn: () => Promise<T | undefined>,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Builds the lab and starts both proxies.
 *
 * @param options underlay MTU (default 1500), whether to start the proxies (default true), extra arguments of
 *   `udp/proxy_main.ts` (e.g. `--no-offload`)
 * @returns the lab
 */
export async function startUdpLab(
  options: { mtu?: number; start?: boolean; proxyArgs?: readonly string[] } = {},
): Promise<UdpLab> {
  const base = uniqueName("fltu");
  const owned: Netns[] = [];
  const dir = await Deno.makeTempDir({ prefix: "flannel-lab-udp-" });
  const nodes: UdpLabNode[] = [];
  const cleanup = async () => {
    await Promise.allSettled(nodes.map((n) => n.proxy?.stop()));
    await Promise.allSettled(owned.map((n) => n.delete()));
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  };
  try {
    const mk = async (n: string) => {
      const ns = await Netns.create(`${base}${n}`);
      owned.push(ns);
      return ns;
    };
    for (const i of [1, 2]) {
      const ns = await mk(`n${i}`);
      const pod = await mk(`p${i}`);
      await addVeth({ ns, name: "vpod", addrs: [`10.5.${i}.1/24`] }, {
        ns: pod,
        name: "eth0",
        addrs: [`10.5.${i}.2/24`],
      });
      await pod.ip(["route", "add", "default", "via", `10.5.${i}.1`]);
      await ns.exec(["sysctl", "-qw", "net.ipv4.ip_forward=1"]);
      nodes.push({
        ns,
        pod,
        underlay: `192.168.60.${i}`,
        podIp: `10.5.${i}.2`,
        subnet: `10.5.${i}.0/24`,
        log: `${dir}/proxy${i}.log`,
        proxy: undefined,
      });
    }
    const [a, b] = nodes as [UdpLabNode, UdpLabNode];
    await addVeth({ ns: a.ns, name: "eth1", addrs: ["192.168.60.1/24"] }, {
      ns: b.ns,
      name: "eth1",
      addrs: ["192.168.60.2/24"],
    }, { mtu: options.mtu ?? 1500 });
    const lab: UdpLab = {
      nodes: [a, b],
      dir,
      async startProxy(i, extraPeers = [], extraArgs = options.proxyArgs ?? []) {
        const me = nodes[i]!;
        const other = nodes[1 - i]!;
        await Deno.writeTextFile(me.log, "");
        let exited = false;
        me.proxy = await me.ns.spawn([
          Deno.execPath(),
          "run",
          "-A",
          "--unstable-net",
          MAIN,
          "--network",
          "10.5.0.0/16",
          "--subnet",
          me.subnet,
          "--iface",
          "eth1",
          "--peer",
          `${other.subnet}=${other.underlay}`,
          ...extraPeers.flatMap((p) => ["--peer", p]),
          ...extraArgs,
        ], { logFile: me.log });
        me.proxy.status.then(() => exited = true);
        await waitFor(`proxy ${i + 1} ready`, async () => {
          const text = await Deno.readTextFile(me.log);
          if (/^ready /m.test(text)) return true;
          if (exited) {
            throw new Error(`The udp proxy exited:\n${text}`);
          }
          return undefined;
        }, 60_000);
      },
      async stopProxy(i) {
        const me = nodes[i]!;
        await me.proxy?.stop();
        me.proxy = undefined;
        const m = /^stats (.*)$/m.exec(await Deno.readTextFile(me.log));
        return m ? JSON.parse(m[1]!) : {};
      },
      [Symbol.asyncDispose]: cleanup,
    };
    if (options.start ?? true) await Promise.all([lab.startProxy(0), lab.startProxy(1)]);
    return lab;
  } catch (e) {
    await cleanup();
    throw e;
  }
}

/** The same two-node topology run by upstream flanneld's udp backend (its C proxy). */
export interface UpstreamUdpLab extends AsyncDisposable {
  readonly nodes: readonly [UdpLabNode, UdpLabNode];
  readonly dir: string;
  /** The flanneld processes (node 1, node 2). */
  readonly flanneld: readonly [Process, Process];
}

/**
 * Builds the lab around upstream flanneld: etcd in node 1's namespace on the underlay, network config
 * `{"Network":"10.5.0.0/16","Backend":{"Type":"udp"}}`, one `flanneld --iface=eth1` per node. Each pod is put
 * in the subnet its node leased (read from flanneld's subnet file), so pod addresses are not fixed.
 *
 * @param flanneld path of the flanneld binary (`ensureFlanneld()` from harness/upstream)
 * @param options underlay MTU (default 1500)
 * @returns the lab; dispose it to stop flanneld and etcd and delete the namespaces
 */
export async function startUpstreamUdpLab(
  flanneld: string,
  options: { mtu?: number } = {},
): Promise<UpstreamUdpLab> {
  const base = uniqueName("fltf");
  const owned: Netns[] = [];
  const procs: Process[] = [];
  let etcd: Etcd | undefined;
  const dir = await Deno.makeTempDir({ prefix: "flannel-lab-udp-upstream-" });
  const cleanup = async () => {
    await Promise.allSettled(procs.map((p) => p.stop()));
    await Promise.resolve(etcd?.[Symbol.asyncDispose]()).catch(() => {});
    await Promise.allSettled(owned.map((n) => n.delete()));
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  };
  try {
    const mk = async (n: string) => {
      const ns = await Netns.create(`${base}${n}`);
      owned.push(ns);
      return ns;
    };
    const n1 = await mk("n1");
    const n2 = await mk("n2");
    await addVeth({ ns: n1, name: "eth1", addrs: ["192.168.60.1/24"] }, {
      ns: n2,
      name: "eth1",
      addrs: ["192.168.60.2/24"],
    }, { mtu: options.mtu ?? 1500 });
    etcd = await startEtcd({ netns: n1, host: "192.168.60.1", dir: `${dir}/etcd` });
    await etcd.ctl([
      "put",
      "/coreos.com/network/config",
      '{"Network":"10.5.0.0/16","Backend":{"Type":"udp"}}',
    ]);
    const nodes: UdpLabNode[] = [];
    for (const [i, ns] of [[1, n1], [2, n2]] as const) {
      await ns.exec(["sysctl", "-qw", "net.ipv4.ip_forward=1"]);
      const log = `${dir}/flanneld${i}.log`;
      const subnetFile = `${dir}/subnet${i}.env`;
      const p = await ns.spawn([
        flanneld,
        `--etcd-endpoints=${etcd.endpoint}`,
        "--iface=eth1",
        `--subnet-file=${subnetFile}`,
        "--ip-masq=false",
        "--healthz-port=0",
      ], { logFile: log });
      procs.push(p);
      let exited = false;
      p.status.then(() => exited = true);
      const env = await waitFor(`flanneld ${i} subnet file`, async () => {
        const text = await Deno.readTextFile(subnetFile).catch(() => "");
        if (/FLANNEL_SUBNET=/.test(text)) return text;
        if (exited) throw new Error(`flanneld exited:\n${await Deno.readTextFile(log)}`);
        return undefined;
      }, 60_000);
      // FLANNEL_SUBNET=10.5.37.1/24: the node side of the pod link gets .1, the pod .2.
      const m = /FLANNEL_SUBNET=(\d+\.\d+\.\d+)\.\d+\/(\d+)/.exec(env);
      if (!m) throw new Error(`Cannot read FLANNEL_SUBNET from ${subnetFile}:\n${env}`);
      const pod = await mk(`p${i}`);
      await addVeth({ ns, name: "vpod", addrs: [`${m[1]}.1/${m[2]}`] }, {
        ns: pod,
        name: "eth0",
        addrs: [`${m[1]}.2/${m[2]}`],
      });
      await pod.ip(["route", "add", "default", "via", `${m[1]}.1`]);
      nodes.push({
        ns,
        pod,
        underlay: `192.168.60.${i}`,
        podIp: `${m[1]}.2`,
        subnet: `${m[1]}.0/${m[2]}`,
        log,
        proxy: p,
      });
    }
    // Each flanneld learns the other's lease from its etcd watch: wait until the pods reach each other.
    const [a, b] = nodes as [UdpLabNode, UdpLabNode];
    await waitFor("pod-to-pod through upstream flanneld", async () => {
      const r = await a.pod.exec(["ping", "-c", "1", "-W", "1", b.podIp], { check: false });
      return r.code === 0 || undefined;
    }, 60_000);
    return {
      nodes: [a, b],
      dir,
      flanneld: [procs[0]!, procs[1]!],
      [Symbol.asyncDispose]: cleanup,
    };
  } catch (e) {
    await cleanup();
    throw e;
  }
}
