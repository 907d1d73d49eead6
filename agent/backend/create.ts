/**
 * Chooses and sets up the backend named by the network config.
 *
 * @module
 */
import type { Backend, BackendContext } from "./backend.ts";
import { HostGwBackend } from "./hostgw/mod.ts";
import { createUdpBackend } from "./udp/mod.ts";
import { VxlanBackend } from "./vxlan/mod.ts";

/**
 * Sets up the configured backend (vxlan creates or adopts its device here, before the lease is acquired,
 * because the lease publishes the device's MAC).
 *
 * @param ctx config, external interface, netlink connection, logger
 * @param extra stand-ins by backend type (tests)
 * @example
 * ```ts ignore
 * const backend = await createBackend({ config, ext, nl, logger });
 * ```
 */
export async function createBackend(
  ctx: BackendContext,
  extra: Readonly<Record<string, (ctx: BackendContext) => Promise<Backend>>> = {},
): Promise<Backend> {
  const type = ctx.config.backend.type;
  const make = extra[type];
  if (make) return await make(ctx);
  switch (type) {
    case "vxlan":
      return await VxlanBackend.create(ctx);
    case "host-gw":
      return new HostGwBackend(ctx);
    case "udp":
      return await createUdpBackend(ctx);
  }
}
