/**
 * `link-mtu`: an interface's MTU changed (a pinch appearing on the path); reverted to the topology's MTU.
 *
 * @module
 */
import { type FaultKind, PROBE_EXPECT } from "./_kind.ts";

/** `link: node:iface, mtu: N`. */
export const linkMtu: FaultKind<"link-mtu"> = {
  trigger: "link",
  form: "mtu: N",
  selects: (o) => o["mtu"] !== undefined,
  keys: ["link", "mtu"],
  parse(r, o, path, win) {
    const l = r.link(o["link"], [...path, "link"]);
    if (!l) return undefined;
    if (!r.only(o, path, ["link", "mtu", "for"], "a link MTU change")) return undefined;
    const mtu = r.int(o["mtu"], [...path, "mtu"], 68);
    return mtu === undefined ? undefined : { kind: "link-mtu", ...l, mtu, ...win };
  },
  describe: (f) => `link ${f.node}:${f.iface} mtu ${f.mtu}`,
  what: () => "a link MTU change",
  expectKeys: PROBE_EXPECT,
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
