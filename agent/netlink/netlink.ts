/**
 * {@link Netlink}: a connection to rtnetlink with typed operations per family (`link`, `addr`, `route`, `neigh`,
 * `fdb`) and a batch path for many requests at once.
 *
 * @module
 */
import { AddrOps } from "./addr.ts";
import { LinkOps } from "./link.ts";
import { FdbOps, NeighOps } from "./neigh.ts";
import { RouteOps } from "./route.ts";
import type { BatchResult, NetlinkRequest } from "./request.ts";
import { type BatchOptions, NetlinkSocket } from "./socket.ts";
import type { NetlinkMessage } from "./codec.ts";

/** Options for {@link Netlink.open}. */
export interface NetlinkOptions {
  /**
   * Network namespace to talk to: a name under /run/netns or a path like /proc/PID/ns/net. Default: the
   * namespace the process runs in (the agent runs inside its node's namespace with `ip netns exec`).
   */
  readonly netns?: string;
  /** `NETLINK_GET_STRICT_CHK`. Default true. */
  readonly strict?: boolean;
  /** Receive buffer in bytes. Default 8 MiB. */
  readonly receiveBuffer?: number;
}

/**
 * A connection to the kernel's routing netlink. Requests on one connection run one after another; open several
 * connections for parallelism.
 *
 * @example Program flannel's vxlan entries for one peer in a namespace
 * ```ts ignore
 * import { Netlink, neighRequest, fdbRequest, routeRequest } from "./mod.ts";
 * await using nl = await Netlink.open({ netns: "lab-node1" });
 * const vx = await nl.link.add({
 *   name: "flannel.1", kind: "vxlan", mtu: 1450,
 *   vxlan: { vni: 1, local: "10.199.0.1", link: 2, port: 8472, learning: false },
 * });
 * await nl.link.setUp(vx.index, true);
 * const results = await nl.batch([
 *   neighRequest("replace", { index: vx.index, dst: "10.42.7.0", lladdr: "72:24:08:c1:71:25" }),
 *   fdbRequest("replace", { index: vx.index, lladdr: "72:24:08:c1:71:25", dst: "10.199.0.2" }),
 *   routeRequest("replace", { dst: "10.42.7.0/24", gateway: "10.42.7.0", oif: vx.index, onlink: true }),
 * ]);
 * ```
 */
export class Netlink implements Disposable, AsyncDisposable {
  /** The underlying socket, for raw requests and dumps. */
  readonly socket: NetlinkSocket;
  /** Links: list, get, add (vxlan, bridge, veth), set, delete. */
  readonly link: LinkOps;
  /** Addresses. */
  readonly addr: AddrOps;
  /** Routes, including `get(dst)` for the kernel's route lookup. */
  readonly route: RouteOps;
  /** ARP/NDP entries. */
  readonly neigh: NeighOps;
  /** Bridge FDB entries (vxlan remotes). */
  readonly fdb: FdbOps;

  private constructor(socket: NetlinkSocket) {
    this.socket = socket;
    this.link = new LinkOps(socket);
    this.addr = new AddrOps(socket);
    this.route = new RouteOps(socket);
    this.neigh = new NeighOps(socket);
    this.fdb = new FdbOps(socket);
  }

  /**
   * Opens a connection, optionally bound to another network namespace for its whole life.
   *
   * @param options namespace and socket settings
   * @returns the connection
   * @throws {OsError} when the socket cannot be opened (e.g. no such namespace)
   * @example
   * ```ts ignore
   * using nl = await Netlink.open({ netns: "lab1" });
   * const links = await nl.link.list();
   * ```
   */
  static open(options: NetlinkOptions = {}): Promise<Netlink> {
    try {
      return Promise.resolve(new Netlink(NetlinkSocket.open(options)));
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /**
   * Sends many requests (built with `linkAddRequest`, `routeRequest`, `neighRequest`, `fdbRequest`, …) in as
   * few sends as the buffers allow; one result per request, in order.
   *
   * @example
   * ```ts ignore
   * const res = await nl.batch(peers.map((p) => routeRequest("replace", p)));
   * for (const r of res) if (!r.ok) log(r.error.message);
   * ```
   */
  batch(requests: readonly NetlinkRequest[], options?: BatchOptions): Promise<BatchResult[]> {
    return this.socket.batch(requests, options);
  }

  /**
   * Sends one request and waits for its ACK (the one-request-per-ACK path). Returns the replies before the ACK.
   *
   * @throws {NetlinkError} when the kernel refuses it
   * @example
   * ```ts ignore
   * await nl.request(routeRequest("add", { dst: "10.1.0.0/24", oif: 2 }));
   * ```
   */
  request(request: NetlinkRequest): Promise<NetlinkMessage[]> {
    return this.socket.request(request);
  }

  /** Closes the socket. */
  close(): void {
    this.socket.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  [Symbol.asyncDispose](): Promise<void> {
    this.close();
    return Promise.resolve();
  }
}
