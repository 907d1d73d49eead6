/**
 * Addresses (`RTM_*ADDR`): request builders and decoder (pure) and {@link AddrOps}.
 *
 * Quirk: for IPv4 the kernel keys an address by `IFA_LOCAL` and treats `IFA_ADDRESS` as the peer; iproute2
 * sends both with the same value unless a peer is given, and so do we.
 *
 * @module
 */
import { Attrs, AttrWriter } from "./attrs.ts";
import type { NetlinkMessage } from "./codec.ts";
import { decodeIfAddrMsg, encodeIfAddrMsg } from "./family_headers.ts";
import {
  AF_INET,
  AF_INET6,
  AF_UNSPEC,
  IFA_ADDRESS,
  IFA_BROADCAST,
  IFA_F_NODAD,
  IFA_F_NOPREFIXROUTE,
  IFA_FLAGS,
  IFA_LABEL,
  IFA_LOCAL,
  NLM_F_CREATE,
  NLM_F_EXCL,
  NLM_F_REPLACE,
  RT_SCOPE_UNIVERSE,
  RTM_DELADDR,
  RTM_GETADDR,
  RTM_NEWADDR,
} from "./consts.ts";
import { formatIp, type IfIndex, type IpAddr, parseIp, parsePrefix } from "./inet.ts";
import type { NetlinkRequest } from "./request.ts";
import type { NetlinkSocket } from "./socket.ts";

/** An address as the kernel reports it. */
export interface Addr {
  readonly family: number;
  readonly index: IfIndex;
  /** The address (`IFA_LOCAL` for IPv4, `IFA_ADDRESS` for IPv6). */
  readonly address: IpAddr;
  readonly prefixlen: number;
  /** `address/prefixlen`, as `ip` prints it. */
  readonly cidr: string;
  /** `IFA_ADDRESS` when it differs from the local address (point-to-point peer). */
  readonly peer: IpAddr | undefined;
  readonly scope: number;
  /** IFA_F_* flags (the 32-bit `IFA_FLAGS` when present). */
  readonly flags: number;
  readonly label: string | undefined;
  readonly broadcast: IpAddr | undefined;
}

/** An address to add or delete. */
export interface AddrSpec {
  readonly index: IfIndex;
  /** "10.42.10.0/32", "fd00::1/64"; a bare address means a host prefix. */
  readonly cidr: string;
  /** Default `RT_SCOPE_UNIVERSE` ("global"). */
  readonly scope?: number;
  readonly broadcast?: IpAddr;
  /** IPv4 label, e.g. "eth0:1". */
  readonly label?: string;
  /** IPv6: skip duplicate address detection (usable at once). */
  readonly noDad?: boolean;
  /** Do not add the prefix route for the address's subnet. */
  readonly noPrefixRoute?: boolean;
}

function build(type: number, flags: number, s: AddrSpec, op: string): NetlinkRequest {
  const p = parsePrefix(s.cidr);
  const bytes = parseIp(p.addr);
  const family = bytes.length === 4 ? AF_INET : AF_INET6;
  const ifaFlags = (s.noDad ? IFA_F_NODAD : 0) | (s.noPrefixRoute ? IFA_F_NOPREFIXROUTE : 0);
  const w = new AttrWriter(64);
  w.raw(
    encodeIfAddrMsg({
      family,
      prefixlen: p.len,
      flags: ifaFlags & 0xff,
      scope: s.scope ?? RT_SCOPE_UNIVERSE,
      index: s.index,
    }),
  );
  w.bytes(IFA_LOCAL, bytes);
  w.bytes(IFA_ADDRESS, bytes);
  if (s.broadcast !== undefined) w.bytes(IFA_BROADCAST, parseIp(s.broadcast));
  if (s.label !== undefined) w.str(IFA_LABEL, s.label);
  if (ifaFlags !== 0) w.u32(IFA_FLAGS, ifaFlags);
  return { type, flags, payload: w.finish(), op, summary: `${p.addr}/${p.len} dev ${s.index}` };
}

/**
 * RTM_NEWADDR, exclusive (EEXIST if present) or, with `replace`, create-or-update.
 *
 * @example
 * ```ts
 * import { addrAddRequest } from "./addr.ts";
 * addrAddRequest({ index: 4, cidr: "10.42.10.0/32" });
 * ```
 */
export function addrAddRequest(s: AddrSpec, options: { replace?: boolean } = {}): NetlinkRequest {
  return build(
    RTM_NEWADDR,
    NLM_F_CREATE | (options.replace ? NLM_F_REPLACE : NLM_F_EXCL),
    s,
    options.replace ? "replace address" : "add address",
  );
}

/**
 * RTM_DELADDR.
 *
 * @example
 * ```ts
 * import { addrDeleteRequest } from "./addr.ts";
 * addrDeleteRequest({ index: 4, cidr: "10.42.10.0/32" });
 * ```
 */
export function addrDeleteRequest(s: AddrSpec): NetlinkRequest {
  return build(RTM_DELADDR, 0, s, "delete address");
}

/**
 * RTM_GETADDR dump (optionally one family).
 *
 * @example
 * ```ts
 * import { addrDumpRequest } from "./addr.ts";
 * addrDumpRequest(2);
 * ```
 */
export function addrDumpRequest(family: number = AF_UNSPEC): NetlinkRequest {
  const w = new AttrWriter(8);
  w.raw(encodeIfAddrMsg({ family, prefixlen: 0, flags: 0, scope: 0, index: 0 }));
  return {
    type: RTM_GETADDR,
    flags: 0,
    payload: w.finish(),
    op: "list addresses",
    summary: `family ${family}`,
  };
}

/**
 * Decodes an RTM_NEWADDR / RTM_DELADDR message.
 *
 * @throws {NetlinkCodecError} on malformed bytes
 * @example
 * ```ts
 * import { addrAddRequest, decodeAddr } from "./addr.ts";
 * const req = addrAddRequest({ index: 4, cidr: "10.0.0.1/24" });
 * decodeAddr({ header: { len: 0, type: 20, flags: 0, seq: 0, pid: 0 }, payload: req.payload }).cidr; // "10.0.0.1/24"
 * ```
 */
export function decodeAddr(msg: NetlinkMessage): Addr {
  const h = decodeIfAddrMsg(msg.payload);
  const a = new Attrs(msg.payload.subarray(8));
  const ip = (t: number) => {
    const b = a.bytes(t);
    return b && (b.length === 4 || b.length === 16) ? formatIp(b) : undefined;
  };
  const local = ip(IFA_LOCAL);
  const address = ip(IFA_ADDRESS);
  const addr = local ?? address ?? "";
  return {
    family: h.family,
    index: h.index,
    address: addr,
    prefixlen: h.prefixlen,
    cidr: `${addr}/${h.prefixlen}`,
    peer: local !== undefined && address !== undefined && address !== local ? address : undefined,
    scope: h.scope,
    flags: a.u32(IFA_FLAGS) ?? h.flags,
    label: a.str(IFA_LABEL),
    broadcast: ip(IFA_BROADCAST),
  };
}

/** Filters for {@link AddrOps.list}. */
export interface AddrFilter {
  readonly index?: IfIndex;
  readonly family?: number;
}

/**
 * Address operations on a connection (`nl.addr`).
 *
 * @example
 * ```ts ignore
 * await nl.addr.add({ index: vx.index, cidr: "10.42.10.0/32" });
 * const mine = await nl.addr.list({ index: vx.index, family: AF_INET });
 * ```
 */
export class AddrOps {
  readonly #sock: NetlinkSocket;

  /** @param sock the socket to use */
  constructor(sock: NetlinkSocket) {
    this.#sock = sock;
  }

  /** Addresses, optionally of one link and/or family. */
  async list(filter: AddrFilter = {}): Promise<Addr[]> {
    return await this.#sock.dump(addrDumpRequest(filter.family ?? AF_UNSPEC), (m) => {
      if (m.header.type !== RTM_NEWADDR) return undefined;
      const a = decodeAddr(m);
      return filter.index === undefined || a.index === filter.index ? a : undefined;
    });
  }

  /** Adds an address. @throws {NetlinkError} EEXIST when present */
  async add(s: AddrSpec): Promise<void> {
    await this.#sock.request(addrAddRequest(s));
  }

  /** Adds or updates an address. */
  async replace(s: AddrSpec): Promise<void> {
    await this.#sock.request(addrAddRequest(s, { replace: true }));
  }

  /** Deletes an address. @throws {NetlinkError} EADDRNOTAVAIL when absent */
  async delete(s: AddrSpec): Promise<void> {
    await this.#sock.request(addrDeleteRequest(s));
  }
}
