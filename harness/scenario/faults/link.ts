/**
 * `link`: an interface set down (or up), as a cable pull or a switch port failure would.
 *
 * @module
 */
import type { FaultKind } from "./_kind.ts";

export const link: FaultKind<"link"> = {
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
