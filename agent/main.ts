/**
 * `flannel-lab agent`: flanneld's command line (flags and FLANNELD_* variables) around the daemon.
 *
 * @module
 */
import { UserError } from "../cli/errors.ts";
import { createLogger } from "../cli/log.ts";
import { eprintln } from "../cli/output.ts";
import { VERSION } from "../cli/version.ts";
import { runDaemon, runTeardown } from "./daemon.ts";
import { agentUsage, parseAgentFlags } from "./flags/mod.ts";
import { readHostView } from "./host_view.ts";
import { Netlink } from "./netlink/mod.ts";

/**
 * How long a SIGTERM/SIGINT shutdown may take before the process exits regardless (a second signal exits at
 * once). Below the 2 s an orchestrator is promised, with room for the runtime to exit.
 */
export const SHUTDOWN_GRACE_MS = 1500;

/** Runs the agent; resolves with the exit code. */
export async function main(args: string[]): Promise<number> {
  const flags = parseAgentFlags(args, Deno.env.toObject());
  if (flags.help) {
    eprintln(agentUsage());
    return 0;
  }
  if (flags.version) {
    // flanneld prints its version to stderr.
    eprintln(VERSION);
    return 0;
  }
  if (Deno.uid() !== 0) {
    throw new UserError("The agent programs the kernel (devices, routes, firewall) and needs root", {
      hint: "run it as root, as flanneld runs",
    });
  }
  const logger = createLogger({ verbosity: flags.v, component: "agent" });
  if (flags.teardown) {
    await using nl = await Netlink.open();
    return await runTeardown(flags, { logger, nl });
  }
  logger.info("Starting flannel-lab agent", {
    version: VERSION,
    etcdEndpoints: flags.etcdEndpoints.join(","),
    etcdPrefix: flags.etcdPrefix,
    iface: flags.iface.join(",") || undefined,
    subnetFile: flags.subnetFile,
    ipMasq: flags.ipMasq,
    // Unlike flanneld, never log the etcd password.
    etcdPassword: flags.etcdPassword ? "<set>" : undefined,
  });

  const controller = new AbortController();
  let watchdog: ReturnType<typeof setTimeout> | undefined;
  const onSignal = (signal: Deno.Signal) => () => {
    if (controller.signal.aborted) {
      logger.warn(`Received ${signal} again; exiting now`);
      Deno.exit(0);
    }
    logger.info(`Received ${signal}; shutting down`);
    controller.abort(new Error(signal));
    // The last resort: whatever still holds the shutdown up (a call to an unreachable etcd, a slow kernel),
    // the process ends within SHUTDOWN_GRACE_MS of the signal. Nothing is left half-done by exiting here: on
    // a signal the data plane, the firewall and the lease stay in place anyway (as upstream).
    const timer = setTimeout(() => {
      logger.warn(`The shutdown took longer than ${SHUTDOWN_GRACE_MS} ms; exiting anyway`);
      Deno.exit(0);
    }, SHUTDOWN_GRACE_MS);
    Deno.unrefTimer(timer);
    watchdog = timer;
  };
  const handlers = (["SIGINT", "SIGTERM"] as const).map((s) => [s, onSignal(s)] as const);
  for (const [s, h] of handlers) Deno.addSignalListener(s, h);
  try {
    await using nl = await Netlink.open();
    return await runDaemon(
      flags,
      { logger, nl, readHostView: (canReach) => readHostView(nl, canReach) },
      controller.signal,
    );
  } catch (error) {
    if (controller.signal.aborted) {
      logger.info("Exiting cleanly");
      return 0;
    }
    throw error;
  } finally {
    clearTimeout(watchdog);
    for (const [s, h] of handlers) Deno.removeSignalListener(s, h);
  }
}
