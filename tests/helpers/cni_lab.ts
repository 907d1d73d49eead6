/**
 * The setup shared by the CNI plugin's integration tests (`tests/integration/cni_plugin_*_test.ts`): a CNI bin
 * dir with our `flannel` launcher and the real reference plugins (`bridge`, `host-local`, `loopback` from
 * /usr/lib/cni), throwaway node and pod namespaces, a runner that invokes the plugin inside a node namespace the
 * way a runtime would (so cni0 and the veths are never created in the main namespace), and readers of what the
 * plugin left behind (saved files, host-local's reservations, addresses, veths).
 *
 * @module
 */
import { installPlugin } from "../../agent/cni/install.ts";
import { Netns } from "../../harness/netns.ts";
import { run } from "../../cli/process/mod.ts";
import { tempDir, uniqueName } from "./tmpdir.ts";

/** Where Debian's containernetworking-plugins installs the reference plugins. */
const REFERENCE = "/usr/lib/cni";

/** One plugin invocation, as a runtime makes it. */
export interface Invocation {
  readonly command: string;
  readonly containerId?: string | undefined;
  readonly netns?: string | undefined;
  readonly ifname?: string | undefined;
  readonly stdin: string | Record<string, unknown>;
  /** Extra or overriding variables; `undefined` removes a variable. */
  readonly env?: Record<string, string | undefined>;
  readonly cniPath?: string;
}

/** What the plugin printed and exited with; `json` is stdout parsed, when it is JSON. */
export interface Reply {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly json: Record<string, unknown> | undefined;
}

/** A CNI lab: a temp dir, throwaway namespaces and the plugin runner; disposing it removes them all. */
export interface CniLab extends AsyncDisposable {
  /** The temp dir: subnet.env files, dataDirs and host-local's state go here. */
  readonly dir: string;
  /** The CNI bin dir (CNI_PATH by default). */
  readonly bin: string;
  /** A namespace named `<prefix>…`, deleted with the lab. */
  netns(prefix: string): Promise<Netns>;
  /** Writes `<dir>/<name>` and returns its path. */
  subnetEnv(name: string, text: string): Promise<string>;
  /** Runs the plugin (or `program`) inside `node` the way a runtime would. */
  invoke(node: Netns, inv: Invocation, program?: string): Promise<Reply>;
}

/**
 * Makes a {@linkcode CniLab}: a temp dir with a CNI bin dir (our `flannel` launcher plus links to
 * bridge/host-local/loopback from /usr/lib/cni).
 */
export async function cniLab(): Promise<CniLab> {
  const dir = await tempDir("flannel-cni-test-");
  const bin = `${dir.path}/bin`;
  await installPlugin({ dir: bin });
  for (const p of ["bridge", "host-local", "loopback"]) {
    await Deno.symlink(`${REFERENCE}/${p}`, `${bin}/${p}`);
  }
  const namespaces: Netns[] = [];
  const lab: CniLab = {
    dir: dir.path,
    bin,
    async netns(prefix: string): Promise<Netns> {
      const ns = await Netns.create(uniqueName(prefix));
      namespaces.push(ns);
      return ns;
    },
    async subnetEnv(name: string, text: string): Promise<string> {
      const path = `${dir.path}/${name}`;
      await Deno.writeTextFile(path, text);
      return path;
    },
    /** Runs the plugin inside `node` the way a runtime would. */
    async invoke(node: Netns, inv: Invocation, program = `${bin}/flannel`): Promise<Reply> {
      const vars: Record<string, string | undefined> = {
        CNI_COMMAND: inv.command,
        CNI_CONTAINERID: inv.containerId,
        CNI_NETNS: inv.netns,
        CNI_IFNAME: inv.ifname ?? "eth0",
        CNI_PATH: inv.cniPath ?? bin,
        ...inv.env,
      };
      const set = Object.entries(vars).filter(([, v]) => v !== undefined).map(([k, v]) => `${k}=${v}`);
      const unset = Object.entries(vars).filter(([, v]) => v === undefined).flatMap(([k]) => ["-u", k]);
      const stdin = typeof inv.stdin === "string" ? inv.stdin : JSON.stringify(inv.stdin);
      // `env -u` so that the test's own environment cannot leak CNI_* variables in.
      const res = await run(["ip", "netns", "exec", node.name, "env", ...unset, ...set, program], {
        stdin,
        check: false,
        timeoutMs: 30_000,
      });
      let json: Record<string, unknown> | undefined;
      try {
        json = res.stdout.trim() ? JSON.parse(res.stdout) : undefined;
      } catch { /* left undefined: the assertion shows stdout */ }
      return { code: res.code, stdout: res.stdout, stderr: res.stderr, json };
    },
    async [Symbol.asyncDispose]() {
      for (const ns of namespaces.reverse()) await ns.delete();
      await dir[Symbol.asyncDispose]();
    },
  };
  return lab;
}

/** A complete subnet.env: network 10.244.0.0/16, node subnet 10.244.1.0/24, MTU 1400, ip-masq on. */
export const SUBNET_ENV =
  "FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.1.1/24\nFLANNEL_MTU=1400\nFLANNEL_IPMASQ=true\n";

/** Whether a path exists (a dangling symlink counts). */
export async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch {
    return false;
  }
}

/** The sorted names in a directory; none when it does not exist. */
export async function listDir(path: string): Promise<string[]> {
  const names: string[] = [];
  try {
    for await (const e of Deno.readDir(path)) names.push(e.name);
  } catch { /* missing */ }
  return names.sort();
}

/** The addresses host-local holds (its state files named after IPs). */
export async function heldAddresses(ipamDir: string, network: string): Promise<string[]> {
  return (await listDir(`${ipamDir}/${network}`)).filter((n) => /^\d+\.\d+\.\d+\.\d+$|:/.test(n));
}

/** The part of `ip -j addr` the helpers read. */
interface IpAddrJson {
  ifname: string;
  mtu: number;
  addr_info: { family: string; local: string; prefixlen: number }[];
}

/** A device's IPv4 addresses (CIDR) and MTU in a namespace; `undefined` when the device does not exist. */
export async function ipv4Of(ns: Netns, dev: string): Promise<{ addrs: string[]; mtu: number } | undefined> {
  const res = await ns.ip(["-j", "addr", "show", "dev", dev], { check: false });
  if (res.code !== 0) return undefined;
  const [link] = JSON.parse(res.stdout) as IpAddrJson[];
  if (!link) return undefined;
  return {
    addrs: link.addr_info.filter((a) => a.family === "inet").map((a) => `${a.local}/${a.prefixlen}`),
    mtu: link.mtu,
  };
}

/** How many veth devices a namespace holds. */
export async function vethCount(ns: Netns): Promise<number> {
  const links = await ns.ipJson<{ ifname: string; link_type?: string; linkinfo?: { info_kind?: string } }[]>(
    ["-d", "link", "show", "type", "veth"],
  );
  return links.length;
}
