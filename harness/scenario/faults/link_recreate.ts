/**
 * `link-recreate`: a link deleted and made again, with the addresses and routes its nodes' exec lines give it,
 * as a network restart or a NIC reset does. A VXLAN device stacked on the interface is deleted with it, so
 * this is what tells an agent that notices from one that keeps a device that no longer exists.
 *
 * @module
 */
import { type FaultKind, PROBE_EXPECT } from "./_kind.ts";

/** `link: node:iface, recreate: true`. */
export const linkRecreate: FaultKind<"link-recreate"> = {
  trigger: "link",
  form: "recreate: true",
  selects: (o) => o["recreate"] !== undefined,
  keys: ["link", "recreate"],
  parse(r, o, path) {
    const l = r.link(o["link"], [...path, "link"]);
    if (!l) return undefined;
    if (!r.only(o, path, ["link", "recreate"], "a link recreated")) return undefined;
    if (o["recreate"] !== true) return r.fail([...path, "recreate"], "must be true");
    return { kind: "link-recreate", ...l };
  },
  describe: (f) => `recreate link ${f.node}:${f.iface}`,
  what: () => "a link recreated",
  expectKeys: PROBE_EXPECT,
  async inject({ cluster: c }, f, mark) {
    await c.runtime.impair(c.topo, f.node, f.iface, { kind: "recreate" });
    mark(`${f.node}:${f.iface} deleted and made again`);
    return `${f.node}:${f.iface} deleted and made again, with its addresses and routes`;
  },
  revert: () => Promise.resolve(""),
};
