/**
 * Choosing the external interface and the public address, as flanneld does (pure; the host's links, addresses
 * and routes come in as a {@linkcode HostView}).
 *
 * Order: each `--iface` (a name, or an address the interface holds); else each `--iface-regex` (first against
 * addresses, then against names, in kernel index order); else `--iface-can-reach` (the kernel's route to that
 * address); else the interface holding `--public-ip`; else the default route's interface.
 *
 * @module
 */
import { UserError } from "../cli/errors.ts";
import { formatIp, type IpAddr, ipEqual, parseIp } from "./ip.ts";

/** An address on a link, with the flags that decide which one flannel prefers. */
export interface HostAddr {
  readonly ip: IpAddr;
  readonly prefixLen: number;
  /** Kernel scope: 0 global (universe), 253 link, 254 host. */
  readonly scope: number;
  readonly permanent: boolean;
  readonly deprecated: boolean;
  readonly temporary: boolean;
}

/** A link and its addresses. */
export interface HostLink {
  readonly index: number;
  readonly name: string;
  readonly mtu: number;
  readonly addrs: readonly HostAddr[];
}

/** What interface selection needs to know about the host. */
export interface HostView {
  readonly links: readonly HostLink[];
  /** Interface index of the IPv4 default route, if any. */
  readonly defaultRoute4?: number | undefined;
  /** Interface index of the IPv6 default route, if any. */
  readonly defaultRoute6?: number | undefined;
  /** The kernel's answer for `--iface-can-reach`: output interface and preferred source. */
  readonly canReach?: { readonly index: number; readonly src: IpAddr | undefined } | undefined;
}

/** Options, from flanneld's flags. */
export interface SelectOptions {
  readonly iface: readonly string[];
  readonly ifaceRegex: readonly string[];
  readonly ifaceCanReach: string;
  readonly publicIp: string;
  readonly publicIpv6: string;
  readonly ipv4: boolean;
  readonly ipv6: boolean;
}

/** The chosen interface and the addresses the lease publishes. */
export interface ExternalInterface {
  readonly link: HostLink;
  /** The interface's own IPv4 address (the vxlan local address, the host-gw next hop). */
  readonly ifaceAddr: IpAddr | undefined;
  readonly ifaceAddr6: IpAddr | undefined;
  /** `--public-ip`, else the interface address; `0.0.0.0` when IPv4 is off. */
  readonly publicIp: IpAddr;
  readonly publicIpv6: IpAddr | undefined;
  readonly mtu: number;
}

const ZERO4: IpAddr = { family: 4, value: 0n };

/** The usable addresses of a family, best first: global before link-local, permanent, non-temporary. */
export function usableAddrs(link: HostLink, family: 4 | 6): HostAddr[] {
  const rank = (a: HostAddr) => (a.scope === 253 ? 2 : 0) + (a.permanent ? 0 : 1) + (a.temporary ? 4 : 0);
  return link.addrs
    .filter((a) => a.ip.family === family && !a.deprecated)
    .filter((a) => family === 4 || a.scope !== 253)
    .map((a, i) => ({ a, i }))
    .sort((x, y) => rank(x.a) - rank(y.a) || x.i - y.i)
    .map(({ a }) => a);
}

function tryParseIp(text: string): IpAddr | undefined {
  try {
    return parseIp(text);
  } catch {
    return undefined;
  }
}

function compileRegex(pattern: string): RegExp {
  try {
    return new RegExp(pattern);
  } catch (error) {
    throw new UserError(`Invalid --iface-regex "${pattern}": ${(error as Error).message}`);
  }
}

interface Match {
  readonly link: HostLink;
  readonly addr?: IpAddr | undefined;
}

function matchIface(view: HostView, spec: string): Match | undefined {
  const ip = tryParseIp(spec);
  if (ip) {
    for (const link of view.links) {
      if (link.addrs.some((a) => ipEqual(a.ip, ip))) return { link, addr: ip };
    }
    return undefined;
  }
  const link = view.links.find((l) => l.name === spec);
  return link ? { link } : undefined;
}

function matchRegex(view: HostView, pattern: string, family: 4 | 6): Match | undefined {
  const re = compileRegex(pattern);
  const links = [...view.links].sort((a, b) => a.index - b.index);
  for (const link of links) {
    const addr = usableAddrs(link, family).find((a) => re.test(formatIp(a.ip)));
    if (addr) return { link, addr: addr.ip };
  }
  for (const link of links) {
    if (re.test(link.name)) return { link };
  }
  return undefined;
}

/** Chooses the external interface as flanneld does; throws a {@linkcode UserError} saying what to set. */
export function selectInterface(view: HostView, options: SelectOptions): ExternalInterface {
  const family: 4 | 6 = options.ipv4 ? 4 : 6;
  const publicIp = options.publicIp ? parsePublic(options.publicIp, "--public-ip", 4) : undefined;
  const publicIpv6 = options.publicIpv6 ? parsePublic(options.publicIpv6, "--public-ipv6", 6) : undefined;
  const names = () => view.links.map((l) => l.name).join(", ");

  let match: Match | undefined;
  const explicit = options.iface.length > 0 || options.ifaceRegex.length > 0 || options.ifaceCanReach !== "";
  for (const spec of options.iface) {
    match ??= matchIface(view, spec);
  }
  if (!match) {
    for (const pattern of options.ifaceRegex) match ??= matchRegex(view, pattern, family);
  }
  if (!match && options.ifaceCanReach) {
    if (!tryParseIp(options.ifaceCanReach)) {
      throw new UserError(`Invalid --iface-can-reach "${options.ifaceCanReach}": not an IP address`);
    }
    const reach = view.canReach;
    const link = reach && view.links.find((l) => l.index === reach.index);
    if (link) match = { link, addr: reach.src };
  }
  if (explicit && !match) {
    const given = [
      ...options.iface.map((i) => `--iface=${i}`),
      ...options.ifaceRegex.map((r) => `--iface-regex=${r}`),
      ...(options.ifaceCanReach ? [`--iface-can-reach=${options.ifaceCanReach}`] : []),
    ].join(" ");
    throw new UserError(`No interface matches ${given}`, { hint: `interfaces on this node: ${names()}` });
  }
  if (!match && publicIp) {
    const owner = view.links.find((l) => l.addrs.some((a) => ipEqual(a.ip, publicIp)));
    if (owner) match = { link: owner, addr: publicIp };
  }
  if (!match) {
    const index = family === 4 ? view.defaultRoute4 : view.defaultRoute6;
    const link = index === undefined ? undefined : view.links.find((l) => l.index === index);
    if (!link) {
      throw new UserError(`No default IPv${family} route to choose the external interface from`, {
        hint: `pass --iface=<name> (interfaces on this node: ${names()})`,
      });
    }
    match = { link };
  }

  const link = match.link;
  const ifaceAddr = options.ipv4
    ? (match.addr?.family === 4 ? match.addr : usableAddrs(link, 4)[0]?.ip)
    : undefined;
  const ifaceAddr6 = options.ipv6
    ? (match.addr?.family === 6 ? match.addr : usableAddrs(link, 6)[0]?.ip)
    : undefined;
  if (options.ipv4 && !ifaceAddr) {
    throw new UserError(`Interface "${link.name}" has no usable IPv4 address`, {
      hint: "give it an address, or choose another interface with --iface",
    });
  }
  if (options.ipv6 && !ifaceAddr6) {
    throw new UserError(`Interface "${link.name}" has no usable global IPv6 address`, {
      hint: "give it one, or choose another interface with --iface",
    });
  }
  if (link.mtu <= 0) throw new UserError(`Interface "${link.name}" reports MTU ${link.mtu}`);
  return {
    link,
    ifaceAddr,
    ifaceAddr6,
    publicIp: options.ipv4 ? (publicIp ?? ifaceAddr!) : ZERO4,
    publicIpv6: options.ipv6 ? (publicIpv6 ?? ifaceAddr6) : undefined,
    mtu: link.mtu,
  };
}

function parsePublic(text: string, flag: string, family: 4 | 6): IpAddr {
  const ip = tryParseIp(text);
  if (!ip || ip.family !== family) {
    throw new UserError(`Invalid ${flag} "${text}": not an IPv${family} address`);
  }
  return ip;
}
