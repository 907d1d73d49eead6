/**
 * Links (`RTM_*LINK`): request builders (pure), the decoder (pure), and {@link LinkOps}, the operations on a
 * socket. Kinds with attributes of their own (vxlan, bridge, veth) live in `link_kinds/`.
 *
 * @module
 */
import { Attrs, AttrWriter } from "./attrs.ts";
import type { NetlinkMessage } from "./codec.ts";
import { decodeIfInfoMsg, encodeIfInfoMsg } from "./family_headers.ts";
import {
  AF_UNSPEC,
  IFF_LOWER_UP,
  IFF_UP,
  IFLA_ADDRESS,
  IFLA_BROADCAST,
  IFLA_IFALIAS,
  IFLA_IFNAME,
  IFLA_INFO_DATA,
  IFLA_INFO_KIND,
  IFLA_INFO_SLAVE_KIND,
  IFLA_LINK,
  IFLA_LINK_NETNSID,
  IFLA_LINKINFO,
  IFLA_MASTER,
  IFLA_MAX_MTU,
  IFLA_MIN_MTU,
  IFLA_MTU,
  IFLA_OPERSTATE,
  IFLA_TXQLEN,
  NLM_F_CREATE,
  NLM_F_EXCL,
  RTM_DELLINK,
  RTM_GETLINK,
  RTM_NEWLINK,
} from "./consts.ts";
import { NetlinkError } from "./errors.ts";
import { formatMac, type IfIndex, type MacAddr, parseMac } from "./inet.ts";
import { type BridgeInfo, type BridgeSpec, decodeBridgeData, encodeBridgeData } from "./link_kinds/bridge.ts";
import { encodeVethData, type VethPeer } from "./link_kinds/veth.ts";
import { decodeVxlanData, encodeVxlanData, type VxlanInfo, type VxlanSpec } from "./link_kinds/vxlan.ts";
import type { NetlinkRequest } from "./request.ts";
import type { NetlinkSocket } from "./socket.ts";
import { closeQuietly, O_CLOEXEC, O_RDONLY, openRaw } from "../libc/mod.ts";

/** RFC 2863 operational states (`IFLA_OPERSTATE`), as `ip` names them. */
const OPER_STATES = ["UNKNOWN", "NOTPRESENT", "DOWN", "LOWERLAYERDOWN", "TESTING", "DORMANT", "UP"] as const;

/** A link as the kernel reports it. */
export interface Link {
  readonly index: IfIndex;
  readonly name: string;
  /** `ifi_type` (ARPHRD_*): 1 ether, 772 loopback, 65534 none (TUN). */
  readonly type: number;
  /** `ifi_flags` (IFF_*). */
  readonly flags: number;
  /** Administratively up (`IFF_UP`). */
  readonly up: boolean;
  /** Carrier present (`IFF_LOWER_UP`). */
  readonly lowerUp: boolean;
  readonly operState: string | undefined;
  readonly mtu: number | undefined;
  readonly minMtu: number | undefined;
  readonly maxMtu: number | undefined;
  readonly mac: MacAddr | undefined;
  readonly broadcast: MacAddr | undefined;
  /** ifindex of the bridge or bond this link is enslaved to. */
  readonly master: IfIndex | undefined;
  /** `IFLA_LINK`: the parent or peer ifindex (in the peer's namespace when `linkNetnsId` is set). */
  readonly parent: IfIndex | undefined;
  readonly linkNetnsId: number | undefined;
  readonly txQueueLen: number | undefined;
  readonly alias: string | undefined;
  /** `IFLA_INFO_KIND`: "vxlan", "bridge", "veth", "tun", … (undefined for physical and loopback devices). */
  readonly kind: string | undefined;
  /** `IFLA_INFO_SLAVE_KIND`, e.g. "bridge" for a bridge port. */
  readonly slaveKind: string | undefined;
  /** Present when `kind` is "vxlan". */
  readonly vxlan: VxlanInfo | undefined;
  /** Present when `kind` is "bridge". */
  readonly bridge: BridgeInfo | undefined;
}

/** Attributes every new link may carry. */
export interface LinkCommon {
  readonly name: string;
  readonly mtu?: number;
  readonly mac?: MacAddr;
  /** Create it administratively up. */
  readonly up?: boolean;
  /** Enslave to this bridge. */
  readonly master?: IfIndex;
  readonly txQueueLen?: number;
}

/** A link to create: common attributes plus a kind with its own. */
export type LinkSpec =
  | LinkCommon & { readonly kind: "vxlan"; readonly vxlan: VxlanSpec }
  | LinkCommon & { readonly kind: "bridge"; readonly bridge?: BridgeSpec }
  | LinkCommon & { readonly kind: "veth"; readonly peer: VethPeer };

/** Changes to an existing link; absent fields are left alone. */
export interface LinkChange {
  readonly up?: boolean;
  readonly mtu?: number;
  readonly mac?: MacAddr;
  readonly name?: string;
  /** Enslave to this bridge; 0 releases. */
  readonly master?: IfIndex;
  readonly txQueueLen?: number;
}

/** A link named by ifindex or by name. */
export type LinkRef = IfIndex | string;

function refSummary(ref: LinkRef): string {
  return typeof ref === "number" ? `ifindex ${ref}` : `"${ref}"`;
}

function header(w: AttrWriter, ref: LinkRef | undefined, flags = 0, change = 0): void {
  w.raw(
    encodeIfInfoMsg({ family: AF_UNSPEC, type: 0, index: typeof ref === "number" ? ref : 0, flags, change }),
  );
  if (typeof ref === "string") w.str(IFLA_IFNAME, ref);
}

/**
 * RTM_NEWLINK creating a link (`NLM_F_CREATE | NLM_F_EXCL`: an existing name fails with EEXIST).
 *
 * @param spec the link
 * @returns the request
 * @example
 * ```ts
 * import { linkAddRequest } from "./link.ts";
 * linkAddRequest({ name: "flannel.1", kind: "vxlan", vxlan: { vni: 1, port: 8472, learning: false }, mtu: 1450 });
 * ```
 */
export function linkAddRequest(spec: LinkSpec): NetlinkRequest {
  const w = new AttrWriter(256);
  header(w, undefined, spec.up ? IFF_UP : 0, spec.up ? IFF_UP : 0);
  w.str(IFLA_IFNAME, spec.name);
  if (spec.mtu !== undefined) w.u32(IFLA_MTU, spec.mtu);
  if (spec.mac !== undefined) w.bytes(IFLA_ADDRESS, parseMac(spec.mac));
  if (spec.master !== undefined) w.u32(IFLA_MASTER, spec.master);
  if (spec.txQueueLen !== undefined) w.u32(IFLA_TXQLEN, spec.txQueueLen);
  w.nest(IFLA_LINKINFO, () => {
    w.str(IFLA_INFO_KIND, spec.kind);
    switch (spec.kind) {
      case "vxlan":
        w.nest(IFLA_INFO_DATA, () => encodeVxlanData(w, spec.vxlan));
        break;
      case "bridge":
        if (spec.bridge) {
          const b = spec.bridge;
          w.nest(IFLA_INFO_DATA, () => encodeBridgeData(w, b));
        }
        break;
      case "veth":
        w.nest(IFLA_INFO_DATA, () => encodeVethData(w, spec.peer));
        break;
    }
  });
  let summary = `${spec.name} type ${spec.kind}`;
  if (spec.kind === "vxlan") {
    const v = spec.vxlan;
    summary += ` id ${v.vni}` + (v.local ? ` local ${v.local}` : "") + (v.link ? ` dev ${v.link}` : "") +
      (v.port ? ` dstport ${v.port}` : "");
  } else if (spec.kind === "veth") summary += ` peer ${spec.peer.name}`;
  return {
    type: RTM_NEWLINK,
    flags: NLM_F_CREATE | NLM_F_EXCL,
    payload: w.finish(),
    op: "add link",
    summary,
  };
}

/**
 * RTM_NEWLINK changing an existing link (up/down, MTU, MAC, name, master).
 *
 * @param ref ifindex or name
 * @param change what to change
 * @example
 * ```ts
 * import { linkSetRequest } from "./link.ts";
 * linkSetRequest(5, { up: true, mtu: 1450 });
 * ```
 */
export function linkSetRequest(ref: LinkRef, change: LinkChange): NetlinkRequest {
  const w = new AttrWriter(64);
  const flags = change.up ? IFF_UP : 0;
  header(w, ref, flags, change.up === undefined ? 0 : IFF_UP);
  if (change.name !== undefined) {
    if (typeof ref === "string") throw new TypeError(`Cannot rename link "${ref}" by name: give its ifindex`);
    w.str(IFLA_IFNAME, change.name);
  }
  if (change.mtu !== undefined) w.u32(IFLA_MTU, change.mtu);
  if (change.mac !== undefined) w.bytes(IFLA_ADDRESS, parseMac(change.mac));
  if (change.master !== undefined) w.u32(IFLA_MASTER, change.master);
  if (change.txQueueLen !== undefined) w.u32(IFLA_TXQLEN, change.txQueueLen);
  const parts = Object.entries(change).map(([k, v]) => `${k} ${v}`).join(" ");
  return {
    type: RTM_NEWLINK,
    flags: 0,
    payload: w.finish(),
    op: "set link",
    summary: `${refSummary(ref)} ${parts}`,
  };
}

/**
 * RTM_DELLINK.
 *
 * @example
 * ```ts
 * import { linkDeleteRequest } from "./link.ts";
 * linkDeleteRequest("flannel.1");
 * ```
 */
export function linkDeleteRequest(ref: LinkRef): NetlinkRequest {
  const w = new AttrWriter(32);
  header(w, ref);
  return { type: RTM_DELLINK, flags: 0, payload: w.finish(), op: "delete link", summary: refSummary(ref) };
}

/**
 * RTM_GETLINK for one link.
 *
 * @example
 * ```ts
 * import { linkGetRequest } from "./link.ts";
 * linkGetRequest("eth0");
 * ```
 */
export function linkGetRequest(ref: LinkRef): NetlinkRequest {
  const w = new AttrWriter(32);
  header(w, ref);
  return { type: RTM_GETLINK, flags: 0, payload: w.finish(), op: "get link", summary: refSummary(ref) };
}

/**
 * RTM_GETLINK dump of every link (strict checking wants a zeroed `ifinfomsg`).
 *
 * @example
 * ```ts
 * import { linkDumpRequest } from "./link.ts";
 * linkDumpRequest().type; // 18
 * ```
 */
export function linkDumpRequest(): NetlinkRequest {
  const w = new AttrWriter(16);
  header(w, undefined);
  return { type: RTM_GETLINK, flags: 0, payload: w.finish(), op: "list links", summary: "all" };
}

/**
 * Decodes an RTM_NEWLINK / RTM_DELLINK message.
 *
 * @param msg the message
 * @returns the link
 * @throws {NetlinkCodecError} on malformed bytes
 * @example
 * ```ts
 * import { decodeLink, linkAddRequest } from "./link.ts";
 * const req = linkAddRequest({ name: "br0", kind: "bridge" });
 * decodeLink({ header: { len: 0, type: 16, flags: 0, seq: 0, pid: 0 }, payload: req.payload }).kind; // "bridge"
 * ```
 */
export function decodeLink(msg: NetlinkMessage): Link {
  const ifi = decodeIfInfoMsg(msg.payload);
  const a = new Attrs(msg.payload.subarray(16));
  const info = a.nest(IFLA_LINKINFO);
  const kind = info?.str(IFLA_INFO_KIND);
  const data = info?.nest(IFLA_INFO_DATA);
  const mac = a.bytes(IFLA_ADDRESS);
  const brd = a.bytes(IFLA_BROADCAST);
  const oper = a.u8(IFLA_OPERSTATE);
  return {
    index: ifi.index,
    name: a.str(IFLA_IFNAME) ?? "",
    type: ifi.type,
    flags: ifi.flags,
    up: (ifi.flags & IFF_UP) !== 0,
    lowerUp: (ifi.flags & IFF_LOWER_UP) !== 0,
    operState: oper === undefined ? undefined : OPER_STATES[oper] ?? String(oper),
    mtu: a.u32(IFLA_MTU),
    minMtu: a.u32(IFLA_MIN_MTU),
    maxMtu: a.u32(IFLA_MAX_MTU),
    mac: mac && mac.length > 0 ? formatMac(mac) : undefined,
    broadcast: brd && brd.length > 0 ? formatMac(brd) : undefined,
    master: a.u32(IFLA_MASTER) || undefined,
    parent: a.u32(IFLA_LINK),
    linkNetnsId: a.i32(IFLA_LINK_NETNSID),
    txQueueLen: a.u32(IFLA_TXQLEN),
    alias: a.str(IFLA_IFALIAS),
    kind,
    slaveKind: info?.str(IFLA_INFO_SLAVE_KIND),
    vxlan: kind === "vxlan" && data ? decodeVxlanData(data) : undefined,
    bridge: kind === "bridge" && data ? decodeBridgeData(data) : undefined,
  };
}

/**
 * Link operations on a connection (`nl.link`).
 *
 * @example
 * ```ts ignore
 * const nl = await Netlink.open({ netns: "lab1" });
 * await nl.link.add({ name: "br0", kind: "bridge", up: true });
 * const br = await nl.link.get("br0");
 * await nl.link.set(br.index, { mtu: 1400 });
 * ```
 */
export class LinkOps {
  readonly #sock: NetlinkSocket;

  /** @param sock the socket to use */
  constructor(sock: NetlinkSocket) {
    this.#sock = sock;
  }

  /** Every link in the namespace. */
  async list(): Promise<Link[]> {
    return await this.#sock.dump(
      linkDumpRequest(),
      (m) => m.header.type === RTM_NEWLINK ? decodeLink(m) : undefined,
    );
  }

  /** One link by ifindex or name. @throws {NetlinkError} ENODEV when absent */
  async get(ref: LinkRef): Promise<Link> {
    const [m] = await this.#sock.request(linkGetRequest(ref));
    if (!m) throw new NetlinkError({ errno: 19, op: "get link", seq: 0, request: refSummary(ref) });
    return decodeLink(m);
  }

  /** One link by ifindex or name, or `undefined` when there is none. */
  async find(ref: LinkRef): Promise<Link | undefined> {
    try {
      return await this.get(ref);
    } catch (e) {
      if (e instanceof NetlinkError && e.code === "ENODEV") return undefined;
      throw e;
    }
  }

  /**
   * Creates a link and returns it as read back. A veth peer namespace given by name is opened for the request.
   *
   * @throws {NetlinkError} EEXIST when the name is taken
   */
  async add(spec: LinkSpec): Promise<Link> {
    let fd = -1;
    try {
      let s = spec;
      if (spec.kind === "veth" && typeof spec.peer.netns === "string") {
        const ns = spec.peer.netns;
        fd = openRaw(ns.includes("/") ? ns : `/run/netns/${ns}`, O_RDONLY | O_CLOEXEC);
        s = { ...spec, peer: { ...spec.peer, netns: { fd } } };
      }
      await this.#sock.request(linkAddRequest(s));
    } finally {
      closeQuietly(fd);
    }
    return await this.get(spec.name);
  }

  /** Changes a link. */
  async set(ref: LinkRef, change: LinkChange): Promise<void> {
    await this.#sock.request(linkSetRequest(ref, change));
  }

  /** Sets a link administratively up or down. */
  setUp(ref: LinkRef, up: boolean): Promise<void> {
    return this.set(ref, { up });
  }

  /** Sets the MTU. */
  setMtu(ref: LinkRef, mtu: number): Promise<void> {
    return this.set(ref, { mtu });
  }

  /** Sets the hardware (MAC) address. */
  setMac(ref: LinkRef, mac: MacAddr): Promise<void> {
    return this.set(ref, { mac });
  }

  /** Deletes a link (a veth's peer goes with it). @throws {NetlinkError} ENODEV when absent */
  async delete(ref: LinkRef): Promise<void> {
    await this.#sock.request(linkDeleteRequest(ref));
  }
}
