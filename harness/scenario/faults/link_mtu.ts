/**
 * `link-mtu`: an interface's MTU changed (a pinch appearing on the path); reverted to the topology's MTU.
 *
 * @module
 */
import type { FaultKind } from "./_kind.ts";

export const linkMtu: FaultKind<"link-mtu"> = {
  async inject({ cluster: c }, f, mark) {
    await c.runtime.impair(c.topo, f.node, f.iface, { kind: "mtu", mtu: f.mtu });
    mark(`${f.node}:${f.iface} mtu ${f.mtu}`);
    return `${f.node}:${f.iface} mtu ${f.mtu}`;
  },
  async revert({ cluster: c }, f, mark) {
    const link = c.topo.links.find((l) =>
      (l.a.node === f.node && l.a.iface === f.iface) || (l.b.node === f.node && l.b.iface === f.iface)
    );
    const mtu = link?.mtu ?? 1500;
    await c.runtime.impair(c.topo, f.node, f.iface, { kind: "mtu", mtu });
    mark(`${f.node}:${f.iface} mtu ${mtu} again`);
    return `mtu ${mtu} restored`;
  },
};
