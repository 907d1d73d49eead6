/**
 * The `veth` link kind: the peer is described by a whole nested `ifinfomsg` + attributes inside
 * `VETH_INFO_PEER` (not a plain attribute set), and may be created straight in another namespace with
 * `IFLA_NET_NS_FD`.
 *
 * @module
 */
import type { AttrWriter } from "../attrs.ts";
import { encodeIfInfoMsg } from "../family_headers.ts";
import {
  IFLA_ADDRESS,
  IFLA_IFNAME,
  IFLA_MTU,
  IFLA_NET_NS_FD,
  IFLA_NET_NS_PID,
  VETH_INFO_PEER,
} from "../consts.ts";
import { type MacAddr, parseMac } from "../inet.ts";

/** The other end of a veth pair. */
export interface VethPeer {
  readonly name: string;
  readonly mac?: MacAddr;
  readonly mtu?: number;
  /**
   * Where the peer goes: a namespace name (under /run/netns; resolved by the connection, which opens it),
   * an open namespace file descriptor, or a process id.
   */
  readonly netns?: string | { readonly fd: number } | { readonly pid: number };
}

/**
 * Writes the veth `IFLA_INFO_DATA` children. A namespace given by name must already be resolved to `{ fd }`.
 *
 * @throws {TypeError} when `peer.netns` is still a name
 * @example
 * ```ts
 * import { AttrWriter } from "../attrs.ts";
 * import { encodeVethData } from "./veth.ts";
 * encodeVethData(new AttrWriter(), { name: "veth1", mtu: 1500 });
 * ```
 */
export function encodeVethData(w: AttrWriter, peer: VethPeer): void {
  w.nest(VETH_INFO_PEER, () => {
    w.raw(encodeIfInfoMsg({ family: 0, type: 0, index: 0, flags: 0, change: 0 }));
    w.str(IFLA_IFNAME, peer.name);
    if (peer.mtu !== undefined) w.u32(IFLA_MTU, peer.mtu);
    if (peer.mac !== undefined) w.bytes(IFLA_ADDRESS, parseMac(peer.mac));
    if (typeof peer.netns === "string") {
      throw new TypeError(
        `Cannot encode veth peer "${peer.name}": namespace "${peer.netns}" must be opened first`,
      );
    }
    if (peer.netns !== undefined) {
      if ("fd" in peer.netns) w.u32(IFLA_NET_NS_FD, peer.netns.fd);
      else w.u32(IFLA_NET_NS_PID, peer.netns.pid);
    }
  });
}
