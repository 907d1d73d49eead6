/**
 * The vxlan device `flannel.<VNI>`: create it with upstream's attributes, or adopt an existing one when it is
 * compatible (so its MAC, which peers have in their ARP and FDB entries, survives agent restarts), fix MTU and
 * learning in place, and replace it — keeping its MAC — when an attribute that cannot change in place differs.
 *
 * @module
 */
import type { Logger } from "../../../cli/log.ts";
import { type IpNet, netContains, parseIp } from "../../ip.ts";
import {
  AF_INET,
  AF_INET6,
  type Link,
  linkAddRequest,
  type LinkSpec,
  type Netlink,
  NetlinkError,
} from "../../netlink/mod.ts";
import { KERNEL_VXLAN_PORT } from "../../config/mod.ts";

/** The device we want. */
export interface VxlanDeviceSpec {
  readonly name: string;
  readonly vni: number;
  readonly mtu: number;
  /** PublicIP: the tunnel's local address. */
  readonly local: string;
  /** ifindex of the external interface. */
  readonly link: number;
  /** 0: not sent (the kernel's 8472). */
  readonly port: number;
  readonly learning: boolean;
  readonly gbp: boolean;
}

/**
 * Why an existing device cannot be adopted, or `undefined` when it can. MTU and learning are not reasons: they
 * are fixed in place. Unlike upstream, the port is compared even when the config leaves it at the default, and
 * local address and underlying link must match exactly (a device bound elsewhere would tunnel from the wrong
 * address).
 *
 * @example
 * ```ts ignore
 * vxlanIncompatibility(await nl.link.get("flannel.1"), spec); // e.g. 'VNI is 2, want 1'
 * ```
 */
export function vxlanIncompatibility(link: Link, spec: VxlanDeviceSpec): string | undefined {
  if (link.kind !== "vxlan" || !link.vxlan) return `it is a ${link.kind ?? "non-vxlan"} device, want vxlan`;
  const v = link.vxlan;
  if (v.vni !== spec.vni) return `VNI is ${v.vni}, want ${spec.vni}`;
  if (v.local !== spec.local) return `local address is ${v.local ?? "unset"}, want ${spec.local}`;
  if (v.link !== spec.link) return `underlying device is ifindex ${v.link ?? "unset"}, want ${spec.link}`;
  const port = spec.port || KERNEL_VXLAN_PORT;
  if ((v.port ?? KERNEL_VXLAN_PORT) !== port) return `port is ${v.port}, want ${port}`;
  if (v.group !== undefined) return `it has the group/remote ${v.group}, want none`;
  if (v.l2miss || v.l3miss) return `it reports L2/L3 misses, want neither`;
  if (v.gbp !== spec.gbp) return `GBP is ${v.gbp ? "on" : "off"}, want ${spec.gbp ? "on" : "off"}`;
  return undefined;
}

/**
 * A random locally administered unicast MAC (first octet: multicast bit clear, local bit set), as upstream
 * generates for a new device.
 */
export function randomVtepMac(): string {
  const b = crypto.getRandomValues(new Uint8Array(6));
  b[0] = (b[0]! & 0xfe) | 0x02;
  return [...b].map((x) => x.toString(16).padStart(2, "0")).join(":");
}

/**
 * The RTM_NEWLINK spec that creates `flannel.<VNI>` with exactly the attributes upstream's vishvananda/netlink
 * call sends (), so the device reads the same in `ip -d link` on both kinds of node. That
 * includes `IFLA_TXQLEN` = 0: upstream builds its `netlink.Vxlan` with a zero `LinkAttrs` (not
 * `NewLinkAttrs()`, whose TxQLen is −1 = not sent), so the attribute goes out as 0 and its device has no
 * queue length, where the kernel's default for an Ethernet-like device would be 1000. (The device is
 * `noqueue` either way; this only keeps the kernel state identical.)
 *
 * @param spec the device we want
 * @param mac its MAC
 * @returns the link spec for {@linkcode linkAddRequest}
 * @example
 * ```ts
 * import { vxlanLinkSpec } from "./device.ts";
 * const spec = vxlanLinkSpec({
 *   name: "flannel.1", vni: 1, mtu: 1450, local: "192.168.77.1", link: 2, port: 0, learning: false, gbp: false,
 * }, "72:24:08:c1:71:25");
 * spec.txQueueLen; // 0
 * ```
 */
export function vxlanLinkSpec(spec: VxlanDeviceSpec, mac: string): LinkSpec {
  return {
    name: spec.name,
    kind: "vxlan",
    mtu: spec.mtu,
    // The MAC is set at creation (not after), so nothing (systemd's MACAddressPolicy, flannel issue #1155)
    // gets to pick another one first.
    mac,
    txQueueLen: 0,
    vxlan: {
      vni: spec.vni,
      link: spec.link,
      local: spec.local,
      ttl: 0,
      tos: 0,
      learning: spec.learning,
      proxy: false,
      l2miss: false,
      l3miss: false,
      udpZeroCsum6Tx: false,
      udpZeroCsum6Rx: false,
      ...(spec.gbp ? { gbp: true } : {}),
      ...(spec.port > 0 ? { port: spec.port } : {}),
    },
  };
}

async function create(nl: Netlink, spec: VxlanDeviceSpec, mac: string): Promise<Link> {
  await nl.request(linkAddRequest(vxlanLinkSpec(spec, mac)));
  // Router advertisements on a tunnel device make no sense; upstream ignores failures here too.
  await Deno.writeTextFile(`/proc/sys/net/ipv6/conf/${spec.name}/accept_ra`, "0").catch(() => {});
  return await nl.link.get(spec.name);
}

/**
 * Creates, adopts, fixes or replaces `flannel.<VNI>`; returns the device as the kernel now reports it.
 *
 * @param nl the connection
 * @param spec the device we want
 * @param options `mac`: the MAC a new device gets (the one we published, when recreating); default: keep an
 *   existing device's MAC, else a random one
 * @example
 * ```ts ignore
 * const dev = await ensureVxlanDevice(nl, spec, log);
 * ```
 */
export async function ensureVxlanDevice(
  nl: Netlink,
  spec: VxlanDeviceSpec,
  log: Logger,
  options: { readonly mac?: string | undefined } = {},
): Promise<Link> {
  const existing = await nl.link.find(spec.name);
  if (existing) {
    const reason = vxlanIncompatibility(existing, spec);
    if (!reason) {
      if (existing.mtu !== spec.mtu) {
        log.info(`Adopting ${spec.name}: fixing its MTU in place`, { was: existing.mtu, now: spec.mtu });
        await nl.link.setMtu(existing.index, spec.mtu);
      }
      if (existing.vxlan!.learning !== spec.learning) {
        log.info(`Adopting ${spec.name}: turning learning ${spec.learning ? "on" : "off"} in place`);
        try {
          // RTM_NEWLINK without NLM_F_CREATE on an existing vxlan device is the kernel's changelink.
          const req = linkAddRequest({
            name: spec.name,
            kind: "vxlan",
            vxlan: { vni: spec.vni, learning: spec.learning },
          });
          await nl.request({ ...req, flags: 0, op: "change link" });
        } catch (error) {
          if (!(error instanceof NetlinkError)) throw error;
          return await replace(
            nl,
            spec,
            log,
            existing,
            `learning cannot be changed in place (${error.code})`,
          );
        }
      }
      const link = await nl.link.get(existing.index);
      if (options.mac && link.mac !== options.mac) {
        log.info(`Restoring ${spec.name}'s published MAC`, { was: link.mac, now: options.mac });
        await nl.link.setMac(link.index, options.mac);
        return await nl.link.get(link.index);
      }
      return link;
    }
    return await replace(nl, spec, log, existing, reason, options.mac);
  }
  return await create(nl, spec, options.mac ?? randomVtepMac());
}

async function replace(
  nl: Netlink,
  spec: VxlanDeviceSpec,
  log: Logger,
  existing: Link,
  reason: string,
  mac?: string,
): Promise<Link> {
  log.warn(`Replacing the existing ${spec.name}: ${reason}`, { mac: mac ?? existing.mac });
  await nl.link.delete(existing.index);
  return await create(nl, spec, mac ?? existing.mac ?? randomVtepMac());
}

/**
 * Gives the device exactly one address of our subnet and brings it up. IPv4: `<subnet address>/32`, and other
 * addresses inside the Network are removed (as upstream does). IPv6 (`address` contains `:`):
 * `<v6 subnet address>/128`, and every other non-link-local IPv6 address is removed (as upstream does).
 *
 * @example
 * ```ts ignore
 * await ensureDeviceAddress(nl, dev.index, "10.244.3.0", [parseCidr("10.244.0.0/16")]);
 * await ensureDeviceAddress(nl, dev6.index, "fc00:0:0:3::", []);
 * ```
 */
export async function ensureDeviceAddress(
  nl: Netlink,
  index: number,
  address: string,
  networks: readonly IpNet[],
): Promise<void> {
  const v6 = address.includes(":");
  const len = v6 ? 128 : 32;
  const addrs = await nl.addr.list({ index, family: v6 ? AF_INET6 : AF_INET });
  let present = false;
  for (const a of addrs) {
    if (a.address === address && a.prefixlen === len) {
      present = true;
      continue;
    }
    const foreign = v6
      ? !a.address.toLowerCase().startsWith("fe80:")
      : networks.some((n) => netContains(n, parseIp(a.address)));
    if (foreign) await nl.addr.delete({ index, cidr: a.cidr });
  }
  if (!present) await nl.addr.add({ index, cidr: `${address}/${len}` });
  const link = await nl.link.get(index);
  if (!link.up) await nl.link.setUp(index, true);
}
