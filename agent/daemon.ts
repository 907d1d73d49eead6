/**
 * The agent's life cycle, wiring only: healthz/metrics, etcd, the network config, the external interface, the
 * backend (set up before the lease, since vxlan publishes its device's MAC), the lease, the backend's
 * activation, the firewall, subnet.env, and then the watch, renew, reconcile and firewall-resync loops until a
 * signal. On SIGTERM everything stays in place, as upstream; `--teardown` ({@linkcode runTeardown}) removes it.
 *
 * @module
 */
import { UserError } from "../cli/errors.ts";
import { untilAborted } from "./abort.ts";
import type { Logger } from "../cli/log.ts";
import { type Clock, systemClock } from "./clock.ts";
import { ConfigError, type NetworkConfig, parseNetworkConfig } from "./config/mod.ts";
import type { AgentFlags } from "./flags/mod.ts";
import { serveHealth } from "./health.ts";
import { type ExternalInterface, type HostView, selectInterface } from "./iface.ts";
import { formatCidr, formatIp } from "./ip.ts";
import {
  type Backend,
  type BackendContext,
  backendLeaseFields,
  backendMtu,
  createBackend,
  type PeerState,
  teardownNode,
} from "./backend/mod.ts";
import { ReconcileLoop } from "./backend/reconcile/mod.ts";
import { Firewall, type FirewallNets } from "./firewall/mod.ts";
import { agentMetrics } from "./metrics.ts";
import type { IpNet } from "./ip.ts";
import { Monitor, type Netlink, type NetlinkEvent } from "./netlink/mod.ts";
import { EtcdRegistry } from "./subnet/etcd_registry.ts";
import type { Lease, LeaseAttrs } from "./subnet/lease.ts";
import { leaseKeyName } from "./subnet/lease_codec.ts";
import { describeSubnets } from "./subnet/lease_format.ts";
import { LeaseManager } from "./subnet/manager.ts";
import { ConfigNotFoundError, type Registry, RegistryUnavailableError } from "./subnet/registry.ts";
import { readPreviousSubnets, renderSubnetEnv, writeSubnetFile } from "./subnet_file.ts";

/** What the daemon needs from outside, injectable for tests. */
export interface DaemonDeps {
  readonly logger: Logger;
  readonly clock?: Clock;
  /** Reads the host's links and routes (and the route to `canReach`). */
  readonly readHostView: (canReach?: string) => Promise<HostView>;
  /** Opens the registry; by default etcd from the flags. */
  readonly openRegistry?: (flags: AgentFlags) => Promise<Registry>;
  /** The rtnetlink connection the backend programs through; without it the agent runs no data plane. */
  readonly nl?: Netlink;
  /** Sets up the backend; by default {@linkcode createBackend}. */
  readonly createBackend?: (ctx: BackendContext) => Promise<Backend>;
  /** Subscribes to netlink events (self-healing); by default a `Monitor` in the current namespace. */
  readonly openMonitor?: () => AsyncIterable<NetlinkEvent> & { close(): void };
  /** Data-plane resync period in ms (default 10 s, upstream's route check period). */
  readonly resyncMs?: number;
}

/** The state the daemon exposes on `/status`. */
interface DaemonState {
  config?: NetworkConfig;
  ext?: ExternalInterface;
  manager?: LeaseManager;
  backend?: Backend | undefined;
  loop?: ReconcileLoop | undefined;
  firewall?: Firewall | undefined;
  ready: boolean;
}

function peerStateJson(state: PeerState | undefined): Record<string, unknown> {
  if (!state) return { state: "pending" };
  switch (state.state) {
    case "programmed":
      return { state: state.state, via: state.via };
    default:
      return { state: state.state, reason: state.reason };
  }
}

function leaseJson(lease: Lease): Record<string, unknown> {
  return {
    key: leaseKeyName(lease),
    subnet: lease.subnet ? formatCidr(lease.subnet) : null,
    ipv6Subnet: lease.ipv6Subnet ? formatCidr(lease.ipv6Subnet) : null,
    publicIp: formatIp(lease.attrs.publicIp),
    publicIpv6: lease.attrs.publicIpv6 ? formatIp(lease.attrs.publicIpv6) : null,
    backendType: lease.attrs.backendType ?? null,
    backendData: lease.attrs.backendData ?? null,
    reservation: lease.etcdLeaseId === undefined,
  };
}

function statusOf(state: DaemonState): unknown {
  const m = state.manager;
  let own: Lease | undefined;
  try {
    own = m?.lease;
  } catch { /* not acquired yet */ }
  return {
    ready: state.ready,
    backend: state.config?.backend.type ?? null,
    interface: state.ext
      ? { name: state.ext.link.name, publicIp: formatIp(state.ext.publicIp), mtu: state.ext.mtu }
      : null,
    lease: own
      ? { ...leaseJson(own), expires: m?.expiresAt ? new Date(m.expiresAt).toISOString() : null }
      : null,
    peers: m && own
      ? [...m.snapshot.values()].filter((l) => leaseKeyName(l) !== leaseKeyName(own!)).map((l) => ({
        ...leaseJson(l),
        ...peerStateJson(state.loop?.peers.get(leaseKeyName(l))),
      }))
      : [],
    dataPlane: state.backend
      ? {
        backend: state.backend.type,
        mtu: state.backend.mtu,
        leaseFields: state.backend.leaseFields(),
        reconcileRuns: state.loop?.runs ?? 0,
        lastReconcile: state.loop?.last
          ? {
            at: state.loop.last.at,
            durationMs: Math.round(state.loop.last.durationMs * 100) / 100,
            added: state.loop.last.added,
            removed: state.loop.last.removed,
            errors: state.loop.last.errors,
          }
          : null,
      }
      : null,
    firewall: state.firewall ? { mode: state.firewall.mode } : null,
    watchRestarts: m?.watchRestarts ?? 0,
  };
}

/** How long, after the signal, the daemon waits for its loops to finish what they are doing. */
const STOP_GRACE_MS = 750;

/**
 * Waits for `work`; once `signal` has aborted, for at most {@linkcode STOP_GRACE_MS} more (calling `onLate`
 * when that runs out). `work`'s failure propagates.
 */
function withStopGrace(work: Promise<unknown>, signal: AbortSignal, onLate: () => void): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let onAbort: (() => void) | undefined;
  const late = new Promise<void>((resolve) => {
    onAbort = () => {
      timer = setTimeout(() => {
        onLate();
        resolve();
      }, STOP_GRACE_MS);
    };
    if (signal.aborted) onAbort();
    else signal.addEventListener("abort", onAbort, { once: true });
  });
  return Promise.race([work.then(() => {}), late]).finally(() => {
    clearTimeout(timer);
    if (onAbort) signal.removeEventListener("abort", onAbort);
  });
}

/** Fetches and parses the network config, waiting while it is absent or etcd is down. */
async function loadConfig(
  registry: Registry,
  logger: Logger,
  clock: Clock,
  signal: AbortSignal,
): Promise<NetworkConfig> {
  let lastProblem = "";
  for (;;) {
    signal.throwIfAborted();
    let problem: string;
    try {
      const config = parseNetworkConfig(await untilAborted(registry.getNetworkConfig(), signal));
      if (config.backendDefaulted) {
        logger.warn(
          "The network config has no Backend; using vxlan (upstream flanneld would use udp): set Backend.Type",
        );
      }
      return config;
    } catch (error) {
      if (error instanceof ConfigError) throw error;
      if (!(error instanceof ConfigNotFoundError) && !(error instanceof RegistryUnavailableError)) {
        throw error;
      }
      problem = error.message;
    }
    if (problem !== lastProblem) {
      logger.warn(`Waiting for the network config: ${problem}`);
      lastProblem = problem;
    }
    await clock.sleep(1000, signal);
  }
}

/** Runs the agent until `signal` aborts. Returns the exit code. */
export async function runDaemon(flags: AgentFlags, deps: DaemonDeps, signal: AbortSignal): Promise<number> {
  const log = deps.logger;
  const clock = deps.clock ?? systemClock;
  const state: DaemonState = { ready: false };
  const metrics = agentMetrics();
  metrics.collect(() => {
    metrics.set("flannel_leases_known", {}, state.manager?.snapshot.size ?? 0);
    metrics.set("flannel_etcd_watch_restarts_total", {}, state.manager?.watchRestarts ?? 0);
    metrics.set("flannel_public_ip_clashes_total", {}, state.manager?.addressClashes ?? 0);
  });
  await using _health = flags.healthzPort > 0
    ? serveHealth(flags.healthzIp, flags.healthzPort, {
      ready: () => state.ready,
      status: () => statusOf(state),
      metrics: () => metrics.render(),
    }, log)
    : undefined;

  const open = deps.openRegistry ?? ((f: AgentFlags) =>
    EtcdRegistry.connect({
      endpoints: f.etcdEndpoints,
      prefix: f.etcdPrefix,
      keyFile: f.etcdKeyfile,
      certFile: f.etcdCertfile,
      caFile: f.etcdCafile,
      username: f.etcdUsername,
      password: f.etcdPassword,
    }));
  await using registry = await open(flags);
  log.info("Using etcd", { endpoints: flags.etcdEndpoints.join(","), prefix: flags.etcdPrefix });

  if (flags.netConfig) {
    const text = await Deno.readTextFile(flags.netConfig).catch((error) => {
      throw new UserError(`Cannot read --net-config "${flags.netConfig}": ${error.message}`);
    });
    parseNetworkConfig(text); // refuse to publish an invalid config
    for (;;) {
      try {
        if (await untilAborted(registry.putNetworkConfigIfAbsent(text), signal)) {
          log.info("Wrote the network config to etcd");
        }
        break;
      } catch (error) {
        if (!(error instanceof RegistryUnavailableError)) throw error;
        log.warn("Cannot reach etcd to write the network config; retrying", { error: error.message });
        await clock.sleep(1000, signal);
      }
    }
  }

  const config = await loadConfig(registry, log, clock, signal);
  state.config = config;
  const view = await deps.readHostView(flags.ifaceCanReach || undefined);
  const ext = selectInterface(view, {
    ...flags,
    ipv4: config.ipv4 !== undefined,
    ipv6: config.ipv6 !== undefined,
  });
  state.ext = ext;
  log.info("Using interface", {
    iface: ext.link.name,
    publicIp: formatIp(ext.publicIp),
    publicIpv6: ext.publicIpv6 ? formatIp(ext.publicIpv6) : undefined,
    mtu: ext.mtu,
  });
  if (
    config.backend.type === "host-gw" && ext.ifaceAddr && formatIp(ext.ifaceAddr) !== formatIp(ext.publicIp)
  ) {
    throw new UserError(
      `host-gw cannot work behind NAT: --public-ip ${formatIp(ext.publicIp)} is not the address of ` +
        `${ext.link.name} (${formatIp(ext.ifaceAddr)})`,
      { hint: "drop --public-ip, or use the vxlan backend" },
    );
  }

  const backend = deps.nl || deps.createBackend
    ? await (deps.createBackend ?? createBackend)({
      config,
      ext,
      nl: deps.nl!,
      logger: log.child(config.backend.type),
    })
    : undefined;
  state.backend = backend;
  const attrs = (): LeaseAttrs => ({
    publicIp: ext.publicIp,
    ...(ext.publicIpv6 ? { publicIpv6: ext.publicIpv6 } : {}),
    ...(backend ? backend.leaseFields() : backendLeaseFields(config.backend, undefined)),
  });
  const previous = await readPreviousSubnets(flags.subnetFile);
  const manager = new LeaseManager({
    registry,
    config,
    logger: log.child("lease"),
    attrs,
    previous,
    renewMarginMs: flags.subnetLeaseRenewMargin * 60_000,
    clock,
  });
  state.manager = manager;
  const lease = await untilAborted(manager.acquire(signal), signal);
  log.info("Acquired lease", { subnet: describeSubnets(lease) });
  if (backend) await backend.activate(lease);
  // A signal during start-up stops here: neither program every peer nor write subnet.env first.
  const stopEarly = async () => {
    await backend?.[Symbol.asyncDispose]();
    log.info("Exiting cleanly");
    return 0;
  };
  if (signal.aborted) return await stopEarly();

  state.firewall = await setUpFirewall(flags, config, lease, previous, log);

  const mtu = backend?.mtu ?? backendMtu(config.backend, ext.mtu);
  const writeEnv = async (l: Lease) => {
    await writeSubnetFile(
      flags.subnetFile,
      renderSubnetEnv({
        ...(config.ipv4 ? { network: config.ipv4.network } : {}),
        ...(l.subnet ? { subnet: l.subnet } : {}),
        ...(config.ipv6 ? { ipv6Network: config.ipv6.network } : {}),
        ...(l.ipv6Subnet ? { ipv6Subnet: l.ipv6Subnet } : {}),
        mtu,
        ipMasq: flags.ipMasq,
      }),
    );
    log.info("Wrote subnet file", { path: flags.subnetFile });
  };

  const loop = backend
    ? new ReconcileLoop({
      backend,
      source: manager,
      logger: log.child("reconcile"),
      metrics,
      resyncMs: deps.resyncMs ?? 10_000,
      openMonitor: deps.openMonitor ??
        (() => Monitor.open({ groups: ["link", "addr", "route", "neigh"], receiveBuffer: 16 << 20 })),
      onFieldsChanged: () => manager.publish(),
      scope: config,
    })
    : undefined;
  state.loop = loop;
  // Program the peers already known before saying we are ready; the loop takes over from here.
  await loop?.runOnce(signal);
  if (signal.aborted) return await stopEarly();
  await writeEnv(lease);
  manager.onChange(() => loop?.trigger("leases"));
  manager.onOwnLeaseChange(({ current }) => {
    (async () => {
      await backend?.activate(current);
      loop?.trigger();
      // Retarget the running firewall rather than replace it: its resync loop must check the new rule set.
      if (state.firewall) {
        state.firewall.retarget(firewallNets(config, current));
        await state.firewall.apply().catch((error) =>
          log.error("Moving the firewall rules to our new subnet failed; the resync retries", { error })
        );
      } else {
        state.firewall = await setUpFirewall(flags, config, current, previous, log);
        if (state.firewall) startFirewallResync(state.firewall);
      }
      await writeEnv(current);
    })().catch((error) => log.error("Following our lease to its new subnet failed", { error }));
  });
  state.ready = true;

  const resyncs: Promise<void>[] = [];
  function startFirewallResync(fw: Firewall): void {
    resyncs.push(fw.startResync(flags.iptablesResync, signal));
  }
  if (state.firewall) startFirewallResync(state.firewall);
  // The loops end promptly on the signal, except for a call to etcd in flight (a re-list of thousands of
  // leases, a renewal, or a call to an unreachable etcd that only its 5 s deadline ends): give those a short
  // grace, then leave them to the client's close.
  await withStopGrace(
    Promise.all([manager.run(signal), loop?.run(signal)]),
    signal,
    () =>
      log.warn(`The loops did not stop within ${STOP_GRACE_MS} ms of the signal (etcd slow or unreachable?)`),
  );
  await Promise.all(resyncs);
  // vxlan and host-gw leave everything in place; udp's proxy stops (its TUN goes with the process anyway).
  await backend?.[Symbol.asyncDispose]();
  log.info("Exiting cleanly");
  return 0;
}

/** The firewall's prefixes for our lease: each enabled family's Network and our subnet in it. */
export function firewallNets(
  config: NetworkConfig,
  lease: Lease,
): { ipv4: FirewallNets | undefined; ipv6: FirewallNets | undefined } {
  return {
    ipv4: config.ipv4 && lease.subnet ? { network: config.ipv4.network, subnet: lease.subnet } : undefined,
    ipv6: config.ipv6 && lease.ipv6Subnet
      ? { network: config.ipv6.network, subnet: lease.ipv6Subnet }
      : undefined,
  };
}

/**
 * Creates and applies the ip-masq and forward rules (iptables, or nftables with `EnableNFTables`). A failure is
 * logged, not fatal: the data plane works without them, and the resync retries.
 */
async function setUpFirewall(
  flags: AgentFlags,
  config: NetworkConfig,
  lease: Lease,
  previous: Awaited<ReturnType<typeof readPreviousSubnets>>,
  log: Logger,
): Promise<Firewall | undefined> {
  try {
    const fw = await Firewall.create({
      mode: config.enableNFTables ? "nftables" : "iptables",
      ...firewallNets(config, lease),
      ipMasq: flags.ipMasq,
      fullyRandomDisable: flags.ipMasqFullyRandomDisable,
      forwardRules: flags.iptablesForwardRules,
      previous,
      logger: log.child("firewall"),
    });
    await fw.apply();
    return fw;
  } catch (error) {
    log.error("Setting up the firewall rules failed; continuing without them", { error });
    return undefined;
  }
}

/**
 * `flannel-lab agent --teardown`: removes everything the agent owns on this node — the flannel devices (with
 * their routes, ARP and FDB entries), host-gw/DirectRouting and blackhole routes inside the flannel Network,
 * the firewall rules of both modes, and subnet.env. The lease in etcd is left to expire (the node may come
 * back and reuse it).
 *
 * The Network comes from `--net-config`, else from etcd (given 5 s), and in any case from subnet.env, so the
 * teardown still works when etcd is unreachable.
 *
 * @returns the exit code
 */
export async function runTeardown(flags: AgentFlags, deps: { logger: Logger; nl: Netlink }): Promise<number> {
  const log = deps.logger;
  const networks: IpNet[] = [];
  let config: NetworkConfig | undefined;
  try {
    if (flags.netConfig) {
      config = parseNetworkConfig(await Deno.readTextFile(flags.netConfig));
    } else {
      const registry = await EtcdRegistry.connect({
        endpoints: flags.etcdEndpoints,
        prefix: flags.etcdPrefix,
        keyFile: flags.etcdKeyfile,
        certFile: flags.etcdCertfile,
        caFile: flags.etcdCafile,
        username: flags.etcdUsername,
        password: flags.etcdPassword,
      });
      try {
        let timer: ReturnType<typeof setTimeout> | undefined;
        const text = await Promise.race([
          registry.getNetworkConfig(),
          new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(new Error("etcd did not answer within 5 s")), 5000);
          }),
        ]).finally(() => clearTimeout(timer));
        config = parseNetworkConfig(text);
      } finally {
        // Do not wait for a connection that may never have been made.
        registry[Symbol.asyncDispose]().catch(() => {});
      }
    }
  } catch (error) {
    log.warn("No network config (etcd unreachable?); tearing down from subnet.env and device names", {
      error: (error as Error).message,
    });
  }
  if (config?.ipv4) networks.push(config.ipv4.network);
  if (config?.ipv6) networks.push(config.ipv6.network);
  const previous = await readPreviousSubnets(flags.subnetFile).catch(
    () => ({} as { network?: IpNet; ipv6Network?: IpNet }),
  );
  for (const net of [previous.network, previous.ipv6Network]) {
    if (net && !networks.some((n) => formatCidr(n) === formatCidr(net))) networks.push(net);
  }
  const summary = await teardownNode(deps.nl, networks);
  log.info("Removed the data plane", {
    networks: networks.map(formatCidr).join(",") || "unknown",
    devices: summary.devices.join(",") || "none",
    routes: summary.routes.length,
  });
  try {
    const fw = await Firewall.create({
      mode: config?.enableNFTables ? "nftables" : "iptables",
      ipMasq: false,
      forwardRules: false,
      logger: log.child("firewall"),
    });
    await fw.teardown();
    log.info("Removed the firewall rules");
  } catch (error) {
    log.warn("Removing the firewall rules failed", { error: (error as Error).message });
  }
  await Deno.remove(flags.subnetFile).then(
    () => log.info("Removed the subnet file", { path: flags.subnetFile }),
    () => {},
  );
  return 0;
}
