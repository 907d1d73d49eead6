/**
 * Neighbours (`RTM_*NEIGH`): ARP/NDP entries and bridge FDB entries. Request builders and decoder (pure),
 * {@link NeighOps} (`nl.neigh`) and {@link FdbOps} (`nl.fdb`).
 *
 * An FDB entry on a vxlan device is a neighbour message of family `AF_BRIDGE` with `NTF_SELF` (the entry belongs
 * to the device itself, not to a bridge master), `NDA_LLADDR` = the remote VTEP's MAC and `NDA_DST` = its
 * underlay IP, which is what `bridge fdb add … dev flannel.1 dst … self permanent` sends.
 *
 * @module
 */
import { Attrs, AttrWriter } from "./attrs.ts";
import type { NetlinkMessage } from "./codec.ts";
import { decodeNdMsg, encodeNdMsg } from "./family_headers.ts";
import {
  AF_BRIDGE,
  AF_INET,
  AF_INET6,
  NDA_DST,
  NDA_LLADDR,
  NDA_MASTER,
  NDA_PORT,
  NDA_VLAN,
  NDA_VNI,
  NLM_F_APPEND,
  NLM_F_CREATE,
  NLM_F_EXCL,
  NLM_F_REPLACE,
  NTF_SELF,
  NUD_PERMANENT,
  RTM_DELNEIGH,
  RTM_GETNEIGH,
  RTM_NEWNEIGH,
} from "./consts.ts";
import { formatIp, formatMac, type IfIndex, type IpAddr, type MacAddr, parseIp, parseMac } from "./inet.ts";
import type { NetlinkRequest } from "./request.ts";
import type { NetlinkSocket } from "./socket.ts";

/** A neighbour or FDB entry as the kernel reports it. */
export interface Neigh {
  /** AF_INET / AF_INET6 for ARP/NDP, AF_BRIDGE for FDB. */
  readonly family: number;
  readonly index: IfIndex;
  /** NUD_* bits (`NUD_PERMANENT` = 0x80). */
  readonly state: number;
  /** NTF_* bits (`NTF_SELF` = 0x02). */
  readonly flags: number;
  readonly type: number;
  /** ARP/NDP: the IP; FDB: the remote VTEP (vxlan) if any. */
  readonly dst: IpAddr | undefined;
  readonly lladdr: MacAddr | undefined;
  readonly vlan: number | undefined;
  readonly vni: number | undefined;
  readonly port: number | undefined;
  readonly master: IfIndex | undefined;
}

/** An ARP/NDP entry to add, replace or delete. */
export interface NeighSpec {
  readonly index: IfIndex;
  readonly dst: IpAddr;
  /** Required to add/replace. */
  readonly lladdr?: MacAddr;
  /** Default `NUD_PERMANENT`. */
  readonly state?: number;
  /** NTF_* flags. Default 0. */
  readonly flags?: number;
}

/** A bridge FDB entry to add, append, replace or delete. */
export interface FdbSpec {
  /** The device (e.g. the vxlan device). */
  readonly index: IfIndex;
  readonly lladdr: MacAddr;
  /** Remote VTEP address (vxlan). */
  readonly dst?: IpAddr;
  /** Default `NUD_PERMANENT`. */
  readonly state?: number;
  /** Default `NTF_SELF`. */
  readonly flags?: number;
  readonly vni?: number;
  readonly port?: number;
  readonly vlan?: number;
}

/** add: create+exclusive; replace: create+replace; append: create+append (FDB: another remote for a MAC). */
export type NeighVerb = "add" | "replace" | "append" | "delete";

function nlFlags(verb: NeighVerb): number {
  switch (verb) {
    case "add":
      return NLM_F_CREATE | NLM_F_EXCL;
    case "replace":
      return NLM_F_CREATE | NLM_F_REPLACE;
    case "append":
      return NLM_F_CREATE | NLM_F_APPEND;
    case "delete":
      return 0;
  }
}

/**
 * RTM_NEWNEIGH / RTM_DELNEIGH for an ARP (IPv4) or NDP (IPv6) entry.
 *
 * @example flannel's per-peer ARP entry
 * ```ts
 * import { neighRequest } from "./neigh.ts";
 * neighRequest("replace", { index: 5, dst: "10.42.7.0", lladdr: "72:24:08:c1:71:25" });
 * ```
 */
export function neighRequest(verb: NeighVerb, s: NeighSpec): NetlinkRequest {
  const dst = parseIp(s.dst);
  const w = new AttrWriter(48);
  w.raw(encodeNdMsg({
    family: dst.length === 4 ? AF_INET : AF_INET6,
    index: s.index,
    state: s.state ?? NUD_PERMANENT,
    flags: s.flags ?? 0,
    type: 0,
  }));
  w.bytes(NDA_DST, dst);
  if (s.lladdr !== undefined) w.bytes(NDA_LLADDR, parseMac(s.lladdr));
  const summary = `${s.dst}${s.lladdr ? ` lladdr ${s.lladdr}` : ""} dev ${s.index}`;
  return {
    type: verb === "delete" ? RTM_DELNEIGH : RTM_NEWNEIGH,
    flags: nlFlags(verb),
    payload: w.finish(),
    op: `${verb} neighbour`,
    summary,
  };
}

/**
 * RTM_NEWNEIGH / RTM_DELNEIGH for a bridge FDB entry (family `AF_BRIDGE`).
 *
 * @example flannel's per-peer FDB entry
 * ```ts
 * import { fdbRequest } from "./neigh.ts";
 * fdbRequest("replace", { index: 5, lladdr: "72:24:08:c1:71:25", dst: "10.199.0.2" });
 * ```
 */
export function fdbRequest(verb: NeighVerb, s: FdbSpec): NetlinkRequest {
  const w = new AttrWriter(64);
  w.raw(
    encodeNdMsg({
      family: AF_BRIDGE,
      index: s.index,
      state: s.state ?? NUD_PERMANENT,
      flags: s.flags ?? NTF_SELF,
      type: 0,
    }),
  );
  w.bytes(NDA_LLADDR, parseMac(s.lladdr));
  if (s.dst !== undefined) w.bytes(NDA_DST, parseIp(s.dst));
  if (s.vlan !== undefined) w.u16(NDA_VLAN, s.vlan);
  if (s.port !== undefined) w.u16be(NDA_PORT, s.port);
  if (s.vni !== undefined) w.u32(NDA_VNI, s.vni);
  const summary = `${s.lladdr}${s.dst ? ` dst ${s.dst}` : ""} dev ${s.index}`;
  return {
    type: verb === "delete" ? RTM_DELNEIGH : RTM_NEWNEIGH,
    flags: nlFlags(verb),
    payload: w.finish(),
    op: `${verb} fdb entry`,
    summary,
  };
}

/**
 * RTM_GETNEIGH dump of one family (AF_INET, AF_INET6, AF_BRIDGE for the FDB; 0 for ARP and NDP together).
 *
 * @example
 * ```ts
 * import { neighDumpRequest } from "./neigh.ts";
 * neighDumpRequest(7);
 * ```
 */
export function neighDumpRequest(family: number): NetlinkRequest {
  const w = new AttrWriter(12);
  w.raw(encodeNdMsg({ family, index: 0, state: 0, flags: 0, type: 0 }));
  return {
    type: RTM_GETNEIGH,
    flags: 0,
    payload: w.finish(),
    op: family === AF_BRIDGE ? "list fdb" : "list neighbours",
    summary: `family ${family}`,
  };
}

/**
 * Decodes an RTM_NEWNEIGH / RTM_DELNEIGH message (neighbour or FDB entry).
 *
 * @throws {NetlinkCodecError} on malformed bytes
 * @example
 * ```ts
 * import { decodeNeigh, fdbRequest } from "./neigh.ts";
 * const req = fdbRequest("add", { index: 5, lladdr: "02:00:00:00:00:01", dst: "10.0.0.2" });
 * decodeNeigh({ header: { len: 0, type: 28, flags: 0, seq: 0, pid: 0 }, payload: req.payload }).dst; // "10.0.0.2"
 * ```
 */
export function decodeNeigh(msg: NetlinkMessage): Neigh {
  const n = decodeNdMsg(msg.payload);
  const a = new Attrs(msg.payload.subarray(12));
  const dst = a.bytes(NDA_DST);
  const ll = a.bytes(NDA_LLADDR);
  return {
    family: n.family,
    index: n.index,
    state: n.state,
    flags: n.flags,
    type: n.type,
    dst: dst && (dst.length === 4 || dst.length === 16) ? formatIp(dst) : undefined,
    lladdr: ll && ll.length > 0 ? formatMac(ll) : undefined,
    vlan: a.u16(NDA_VLAN),
    vni: a.u32(NDA_VNI),
    port: a.u16be(NDA_PORT),
    master: a.u32(NDA_MASTER),
  };
}

/** Filters for listing neighbours or FDB entries. */
export interface NeighFilter {
  readonly index?: IfIndex;
  /** For {@link NeighOps.list}: AF_INET or AF_INET6; default both. */
  readonly family?: number;
}

/**
 * ARP/NDP operations on a connection (`nl.neigh`).
 *
 * @example
 * ```ts ignore
 * await nl.neigh.replace({ index: vx.index, dst: "10.42.7.0", lladdr: "72:24:08:c1:71:25" });
 * ```
 */
export class NeighOps {
  readonly #sock: NetlinkSocket;

  /** @param sock the socket to use */
  constructor(sock: NetlinkSocket) {
    this.#sock = sock;
  }

  /** ARP and NDP entries, optionally of one link and family. */
  async list(filter: NeighFilter = {}): Promise<Neigh[]> {
    return await this.#sock.dump(neighDumpRequest(filter.family ?? 0), (m) => {
      if (m.header.type !== RTM_NEWNEIGH) return undefined;
      const n = decodeNeigh(m);
      const keep = (n.family === AF_INET || n.family === AF_INET6) &&
        (filter.index === undefined || n.index === filter.index);
      return keep ? n : undefined;
    });
  }

  /** Adds an entry; EEXIST when present. */
  async add(s: NeighSpec): Promise<void> {
    await this.#sock.request(neighRequest("add", s));
  }

  /** Adds or replaces an entry. */
  async replace(s: NeighSpec): Promise<void> {
    await this.#sock.request(neighRequest("replace", s));
  }

  /** Deletes an entry. @throws {NetlinkError} ENOENT when absent */
  async delete(s: NeighSpec): Promise<void> {
    await this.#sock.request(neighRequest("delete", s));
  }
}

/**
 * Bridge FDB operations on a connection (`nl.fdb`).
 *
 * @example
 * ```ts ignore
 * await nl.fdb.replace({ index: vx.index, lladdr: "72:24:08:c1:71:25", dst: "10.199.0.2" });
 * ```
 */
export class FdbOps {
  readonly #sock: NetlinkSocket;

  /** @param sock the socket to use */
  constructor(sock: NetlinkSocket) {
    this.#sock = sock;
  }

  /** FDB entries, optionally of one device. */
  async list(filter: NeighFilter = {}): Promise<Neigh[]> {
    return await this.#sock.dump(neighDumpRequest(AF_BRIDGE), (m) => {
      if (m.header.type !== RTM_NEWNEIGH) return undefined;
      const n = decodeNeigh(m);
      return n.family === AF_BRIDGE && (filter.index === undefined || n.index === filter.index)
        ? n
        : undefined;
    });
  }

  /** Adds an entry; EEXIST when present. */
  async add(s: FdbSpec): Promise<void> {
    await this.#sock.request(fdbRequest("add", s));
  }

  /** Adds another remote for a MAC (vxlan: head-end replication lists use the all-zero MAC). */
  async append(s: FdbSpec): Promise<void> {
    await this.#sock.request(fdbRequest("append", s));
  }

  /** Adds or replaces an entry. */
  async replace(s: FdbSpec): Promise<void> {
    await this.#sock.request(fdbRequest("replace", s));
  }

  /** Deletes an entry (with `dst`, only that remote). @throws {NetlinkError} ENOENT when absent */
  async delete(s: FdbSpec): Promise<void> {
    await this.#sock.request(fdbRequest("delete", s));
  }
}
