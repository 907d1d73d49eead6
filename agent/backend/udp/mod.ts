/**
 * The udp backend: a TUN device (`flannel0`) and a userspace forwarder that carries pod packets to peers as bare
 * UDP datagrams, upstream's wire format. The design note is at the top of `backend.ts`.
 *
 * - `backend.ts`: {@linkcode UdpBackend} / {@linkcode createUdpBackend}, the `Backend` the daemon drives
 * - `proxy.ts`: {@linkcode UdpProxy}, which runs the data path on its own thread (`worker.ts`)
 * - pure: `routes.ts` (peer subnet → PublicIP), `packet.ts` (IPv4 header work), `engine.ts` (one forwarding step)
 * - I/O: `socket.ts` (the UDP socket, `recvmmsg`/`sendmmsg`)
 * - entries: `worker.ts` (the Worker), `proxy_main.ts` (the backend on its own, for tests and benchmarks)
 *
 * @example Route table from a lease snapshot
 * ```ts ignore
 * import { routesFromLeases } from "./mod.ts";
 * const routes = routesFromLeases(snapshot, own); // [{ subnet: "10.5.2.0/24", publicIp: "192.168.60.2", … }]
 * ```
 *
 * @module
 */
export { createUdpBackend, UdpBackend, type UdpBackendOptions } from "./backend.ts";
export { UdpProxy, type UdpProxyOptions, type UdpProxyStats } from "./proxy.ts";
export { parsePeerRoute, routesFromLeases, type UdpPeerRoute } from "./routes.ts";
export { inetChecksum, ipv4ToU32, u32ToIpv4 } from "./packet.ts";
