/**
 * Events: a socket bound to rtnetlink multicast groups, read as an async iterator of decoded events.
 *
 * When the kernel cannot queue an event (the receive buffer is full, typical under bulk changes) it drops it and
 * the next read fails with ENOBUFS; the iterator then yields `{ kind: "overrun" }` and the caller must resync
 * from a dump — level-triggered consumers simply reconcile.
 *
 * @module
 */
import type { NetlinkMessage } from "./codec.ts";
import {
  RTM_DELADDR,
  RTM_DELLINK,
  RTM_DELNEIGH,
  RTM_DELROUTE,
  RTM_NEWADDR,
  RTM_NEWLINK,
  RTM_NEWNEIGH,
  RTM_NEWROUTE,
  RTMGRP_IPV4_IFADDR,
  RTMGRP_IPV4_ROUTE,
  RTMGRP_IPV6_IFADDR,
  RTMGRP_IPV6_ROUTE,
  RTMGRP_LINK,
  RTMGRP_NEIGH,
} from "./consts.ts";
import { type Addr, decodeAddr } from "./addr.ts";
import { decodeLink, type Link } from "./link.ts";
import { decodeNeigh, type Neigh } from "./neigh.ts";
import { decodeRoute, type Route } from "./route.ts";
import { NetlinkSocket } from "./socket.ts";

/** Whether an object appeared/changed ("new") or went away ("del"). */
export type EventAction = "new" | "del";

/** A decoded rtnetlink event. */
export type NetlinkEvent =
  | { readonly kind: "link"; readonly action: EventAction; readonly link: Link }
  | { readonly kind: "addr"; readonly action: EventAction; readonly addr: Addr }
  | { readonly kind: "route"; readonly action: EventAction; readonly route: Route }
  | { readonly kind: "neigh"; readonly action: EventAction; readonly neigh: Neigh }
  /** Events were lost: resync from a dump. */
  | { readonly kind: "overrun" };

/** Event groups to subscribe to. */
export type EventGroup = "link" | "addr" | "route" | "neigh";

const GROUP_BITS: Record<EventGroup, number> = {
  link: RTMGRP_LINK,
  addr: RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR,
  route: RTMGRP_IPV4_ROUTE | RTMGRP_IPV6_ROUTE,
  neigh: RTMGRP_NEIGH,
};

/**
 * Decodes one multicast message into an event, or `undefined` for types this library does not decode.
 *
 * @throws {NetlinkCodecError} on malformed bytes
 * @example
 * ```ts
 * import { decodeEvent } from "./monitor.ts";
 * import { routeRequest } from "./route.ts";
 * const req = routeRequest("add", { dst: "10.1.0.0/24", oif: 2 });
 * decodeEvent({ header: { len: 0, type: 24, flags: 0, seq: 0, pid: 0 }, payload: req.payload })?.kind; // "route"
 * ```
 */
export function decodeEvent(msg: NetlinkMessage): NetlinkEvent | undefined {
  switch (msg.header.type) {
    case RTM_NEWLINK:
    case RTM_DELLINK:
      return { kind: "link", action: msg.header.type === RTM_NEWLINK ? "new" : "del", link: decodeLink(msg) };
    case RTM_NEWADDR:
    case RTM_DELADDR:
      return { kind: "addr", action: msg.header.type === RTM_NEWADDR ? "new" : "del", addr: decodeAddr(msg) };
    case RTM_NEWROUTE:
    case RTM_DELROUTE:
      return {
        kind: "route",
        action: msg.header.type === RTM_NEWROUTE ? "new" : "del",
        route: decodeRoute(msg),
      };
    case RTM_NEWNEIGH:
    case RTM_DELNEIGH:
      return {
        kind: "neigh",
        action: msg.header.type === RTM_NEWNEIGH ? "new" : "del",
        neigh: decodeNeigh(msg),
      };
    default:
      return undefined;
  }
}

/** Options for {@link Monitor.open}. */
export interface MonitorOptions {
  /** Namespace to watch (name under /run/netns or a path). Default: the current one. */
  readonly netns?: string;
  /** Groups to subscribe to. Default all four. */
  readonly groups?: readonly EventGroup[];
  /** Receive buffer in bytes; larger means fewer overruns under bursts. Default 8 MiB. */
  readonly receiveBuffer?: number;
}

/**
 * A subscription to rtnetlink events. Iterate it with `for await`; `close()` ends the iteration.
 *
 * @example Recreate flannel.1 when it is deleted
 * ```ts ignore
 * using mon = Monitor.open({ groups: ["link"] });
 * for await (const ev of mon) {
 *   if (ev.kind === "overrun") await resync();
 *   else if (ev.kind === "link" && ev.action === "del" && ev.link.name === "flannel.1") await recreate();
 * }
 * ```
 */
export class Monitor implements AsyncIterable<NetlinkEvent>, Disposable {
  readonly #sock: NetlinkSocket;

  private constructor(sock: NetlinkSocket) {
    this.#sock = sock;
  }

  /**
   * Subscribes. Events that happen after this returns are delivered.
   *
   * @param options namespace, groups, buffer
   * @returns the monitor
   * @example
   * ```ts ignore
   * using mon = Monitor.open({ netns: "lab1", groups: ["route", "neigh"] });
   * ```
   */
  static open(options: MonitorOptions = {}): Monitor {
    const groups = (options.groups ?? ["link", "addr", "route", "neigh"]).reduce(
      (m, g) => m | GROUP_BITS[g],
      0,
    );
    return new Monitor(NetlinkSocket.open({
      groups,
      ...(options.netns === undefined ? {} : { netns: options.netns }),
      ...(options.receiveBuffer === undefined ? {} : { receiveBuffer: options.receiveBuffer }),
    }));
  }

  async *[Symbol.asyncIterator](): AsyncIterator<NetlinkEvent> {
    while (!this.#sock.closed) {
      let got: NetlinkMessage[] | "overrun";
      try {
        got = await this.#sock.receive();
      } catch (e) {
        if (this.#sock.closed) return;
        throw e;
      }
      if (got === "overrun") {
        yield { kind: "overrun" };
        continue;
      }
      for (const m of got) {
        const ev = decodeEvent(m);
        if (ev) yield ev;
      }
    }
  }

  /** Ends the subscription; a pending iteration finishes. */
  close(): void {
    this.#sock.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
