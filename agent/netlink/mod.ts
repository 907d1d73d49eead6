/**
 * rtnetlink for Deno: links (vxlan, bridge, veth), addresses, routes, neighbours (ARP/NDP), bridge FDB entries
 * and events, over FFI to libc, without spawning `ip`. Also TUN devices for userspace data planes.
 *
 * - Values are plain typed objects. IP addresses are text ("10.0.0.1", "fd00::1"), prefixes CIDR text
 *   ("10.42.7.0/24"), MACs lower-case "aa:bb:cc:dd:ee:ff", links ifindex numbers (or names where noted).
 * - Every request is pure data built by a family function (`linkAddRequest`, `addrAddRequest`, `routeRequest`,
 *   `neighRequest`, `fdbRequest`), run one by one (`nl.request`, or `nl.route.add` etc.) or many at once with
 *   `nl.batch` (one result per request; one failure never hides another).
 * - Refusals are {@link NetlinkError}s carrying the errno name (`code`, e.g. "EEXIST"), the operation, the
 *   sequence number, a one-line request summary and the kernel's extended-ACK text; malformed bytes are
 *   {@link NetlinkCodecError}s.
 * - `Netlink.open({ netns: "name" })` binds a connection to another network namespace for its whole life
 *   (the main thread enters it only while creating the socket). Without it, the current namespace is used.
 * - Waiting never blocks the event loop; big dumps yield to timers. `NLDEBUG=1` logs messages to stderr.
 *
 * This folder imports nothing else from the project but `agent/libc/`, the FFI bindings it shares with the udp
 * data path.
 *
 * @example Add a route and read it back
 * ```ts ignore
 * import { Netlink } from "./mod.ts";
 * await using nl = await Netlink.open({ netns: "lab1" });
 * const eth = await nl.link.get("eth0");
 * await nl.route.add({ dst: "10.44.16.0/24", gateway: "10.199.0.2", oif: eth.index });
 * const routes = await nl.route.list({ oif: eth.index });
 * ```
 *
 * @module
 */
export * from "./consts.ts";
export * from "./errors.ts";
export * from "./codec.ts";
export * from "./attrs.ts";
export * from "./family_headers.ts";
export * from "./inet.ts";
export * from "./request.ts";
export * from "./socket.ts";
export * from "./netlink.ts";
export * from "./link.ts";
export * from "./addr.ts";
export * from "./route.ts";
export * from "./neigh.ts";
export * from "./monitor.ts";
export * from "./tun.ts";
export type { VxlanInfo, VxlanSpec } from "./link_kinds/vxlan.ts";
export { decodeVxlanData, encodeVxlanData } from "./link_kinds/vxlan.ts";
export type { BridgeInfo, BridgeSpec } from "./link_kinds/bridge.ts";
export { decodeBridgeData, encodeBridgeData } from "./link_kinds/bridge.ts";
export type { VethPeer } from "./link_kinds/veth.ts";
export { encodeVethData } from "./link_kinds/veth.ts";
export { currentNetnsInode, OsError } from "../libc/mod.ts";
