/**
 * Reads the host's links, addresses and default routes for interface selection, through rtnetlink.
 *
 * @module
 */
import type { HostAddr, HostLink, HostView } from "./iface.ts";
import { parseIp } from "./ip.ts";
import { AF_INET, AF_INET6, IFA_F_PERMANENT, type Netlink, NetlinkError } from "./netlink/mod.ts";

// IFA_F_* flags the netlink constants do not name (linux/if_addr.h).
const IFA_F_TEMPORARY = 0x01;
const IFA_F_DEPRECATED = 0x20;

/** Reads the namespace's view; `canReach` also asks the kernel for its route to that address. */
export async function readHostView(nl: Netlink, canReach?: string): Promise<HostView> {
  const [links, addrs] = await Promise.all([nl.link.list(), nl.addr.list()]);
  const byIndex = new Map<number, HostAddr[]>();
  for (const a of addrs) {
    if (a.family !== AF_INET && a.family !== AF_INET6) continue;
    const list = byIndex.get(a.index) ?? [];
    list.push({
      ip: parseIp(a.address),
      prefixLen: a.prefixlen,
      scope: a.scope,
      permanent: (a.flags & IFA_F_PERMANENT) !== 0,
      deprecated: (a.flags & IFA_F_DEPRECATED) !== 0,
      temporary: (a.flags & IFA_F_TEMPORARY) !== 0,
    });
    byIndex.set(a.index, list);
  }
  const hostLinks: HostLink[] = links.map((l) => ({
    index: l.index,
    name: l.name,
    mtu: l.mtu ?? 0,
    addrs: byIndex.get(l.index) ?? [],
  }));
  const defaultVia = async (family: 4 | 6) => {
    const routes = await nl.route.list({ family: family === 4 ? AF_INET : AF_INET6 });
    return routes.find((r) => r.dst === (family === 4 ? "0.0.0.0/0" : "::/0"))?.oif;
  };
  let reach: HostView["canReach"];
  if (canReach) {
    try {
      const route = await nl.route.get(canReach);
      if (route.oif !== undefined) {
        reach = { index: route.oif, src: route.prefsrc ? parseIp(route.prefsrc) : undefined };
      }
    } catch (error) {
      if (!(error instanceof NetlinkError)) throw error;
    }
  }
  return {
    links: hostLinks,
    defaultRoute4: await defaultVia(4),
    defaultRoute6: await defaultVia(6),
    canReach: reach,
  };
}
