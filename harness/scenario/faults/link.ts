/**
 * `link`: an interface set down (or up), as a cable pull or a switch port failure would.
 *
 * @module
 */
import { type FaultKind, PROBE_EXPECT } from "./_kind.ts";

/** `link: node:iface, set: down|up`. */
export const link: FaultKind<"link"> = {
  trigger: "link",
  form: "set: down|up",
  selects: (o) => o["set"] !== undefined,
  keys: ["link", "set"],
  parse(r, o, path, win) {
    const l = r.link(o["link"], [...path, "link"]);
    if (!l) return undefined;
    if (!r.only(o, path, ["link", "set", "for"], "a link set down/up")) return undefined;
    if (o["set"] === "down" || o["set"] === "up") return { kind: "link", ...l, set: o["set"], ...win };
    return r.fail([...path, "set"], "must be down or up");
  },
  describe: (f) => `link ${f.node}:${f.iface} ${f.set}`,
  what: (f) => `a link set ${f.set}`,
  expectKeys: PROBE_EXPECT,
  async inject({ cluster: c }, f, mark) {
    await c.runtime.impair(c.topo, f.node, f.iface, { kind: f.set });
    mark(`${f.node}:${f.iface} ${f.set}`);
    return `${f.node}:${f.iface} set ${f.set}`;
  },
  async revert({ cluster: c }, f, mark) {
    const back = f.set === "down" ? "up" : "down";
    await c.runtime.impair(c.topo, f.node, f.iface, { kind: back });
    mark(`${f.node}:${f.iface} ${back} again`);
    return `${f.node}:${f.iface} set ${back} again`;
  },
};
