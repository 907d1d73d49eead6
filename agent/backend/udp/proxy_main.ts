/**
 * The udp backend on its own, without etcd or the daemon: for tests and benchmarks, run inside a node's
 * namespace. It sets up flannel0 exactly as the agent would (same `UdpBackend`), with a fixed set of peers.
 *
 *     ip netns exec node1 deno run -A --unstable-net agent/backend/udp/proxy_main.ts \
 *       --network 10.5.0.0/16 --subnet 10.5.1.0/24 --iface eth1 [--port 8285] \
 *       --peer 10.5.2.0/24=192.168.60.2 [--peer …] [--no-offload]
 *
 * Prints `ready <device>` on stdout once forwarding; on SIGTERM/SIGINT tears down and prints the proxy's
 * counters as one JSON line (`stats {...}`).
 *
 * @module
 */
import { parseArgs } from "node:util";
import { createLogger } from "../../../cli/log.ts";
import type { NetworkConfig } from "../../config/mod.ts";
import type { ExternalInterface } from "../../iface.ts";
import { lastAddr, parseCidr, parseIp } from "../../ip.ts";
import { AF_INET, Netlink } from "../../netlink/mod.ts";
import type { Lease } from "../../subnet/lease.ts";
import { UDP_DEFAULT_PORT } from "../../config/mod.ts";
import { createUdpBackend } from "./backend.ts";
import { parsePeerRoute } from "./routes.ts";

const out = (line: string) => Deno.stdout.writeSync(new TextEncoder().encode(line + "\n"));

function lease(subnet: string, publicIp: string): Lease {
  return {
    subnet: parseCidr(subnet),
    attrs: { publicIp: parseIp(publicIp) },
    etcdLeaseId: undefined,
    revision: 0n,
  };
}

/** Runs the standalone proxy until a signal. */
async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      network: { type: "string" },
      subnet: { type: "string" },
      iface: { type: "string", default: "eth1" },
      port: { type: "string", default: String(UDP_DEFAULT_PORT) },
      peer: { type: "string", multiple: true, default: [] },
      v: { type: "string", default: "0" },
      "no-offload": { type: "boolean", default: false },
    },
  });
  if (!values.network || !values.subnet) throw new TypeError("--network and --subnet are required");
  const logger = createLogger({ verbosity: Number(values.v), component: "udp-main" });
  const network = parseCidr(values.network);
  using nl = await Netlink.open();
  const link = await nl.link.get(values.iface);
  const addr = (await nl.addr.list({ index: link.index, family: AF_INET }))[0];
  if (!addr) throw new Error(`No IPv4 address on ${values.iface}`);
  const ifaceAddr = parseIp(addr.address);
  const mtu = link.mtu ?? 1500;
  const config: NetworkConfig = {
    ipv4: { network, subnetLen: 24, subnetMin: network.addr, subnetMax: lastAddr(network) },
    ipv6: undefined,
    enableNFTables: false,
    backend: { type: "udp", port: Number(values.port) },
    backendDefaulted: false,
  };
  const ext: ExternalInterface = {
    link: { index: link.index, name: link.name, mtu, addrs: [] },
    ifaceAddr,
    ifaceAddr6: undefined,
    publicIp: ifaceAddr,
    publicIpv6: undefined,
    mtu,
  };
  const own = lease(values.subnet, addr.address);
  const snapshot = new Map<string, Lease>([["own", own]]);
  for (const p of values.peer) {
    const r = parsePeerRoute(p);
    snapshot.set(r.subnet, lease(r.subnet, r.publicIp));
  }
  const backend = await createUdpBackend({ config, ext, nl, logger }, { offload: !values["no-offload"] });
  await backend.activate(own);
  await backend.reconcile(snapshot, own);
  out(`ready ${backend.deviceName}`);
  await new Promise<void>((resolve) => {
    Deno.addSignalListener("SIGTERM", resolve);
    Deno.addSignalListener("SIGINT", resolve);
  });
  const stats = { ...backend.proxy!.stats };
  await backend.teardown();
  out(`stats ${JSON.stringify(stats)}`);
  Deno.exit(0);
}

if (import.meta.main) await main(Deno.args);
