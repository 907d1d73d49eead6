/**
 * `netem`: loss, rate, delay or jitter on an interface (`reset: true` removes them). Loss is a random-drop
 * iptables rule and rate a tbf qdisc; delay and jitter need the kernel's netem, which a scenario is refused for
 * before anything is deployed when the kernel lacks it (`runtime/kernel_features.ts`).
 *
 * @module
 */
import { Failed } from "../failed.ts";
import type { FaultKind } from "./_kind.ts";

export const netem: FaultKind<"netem"> = {
  async inject({ cluster: c }, f, mark) {
    if (f.reset) {
      await c.runtime.impair(c.topo, f.node, f.iface, { kind: "reset" });
      mark(`${f.node}:${f.iface} impairments removed`);
      return `impairments removed from ${f.node}:${f.iface}`;
    }
    try {
      await c.runtime.impair(c.topo, f.node, f.iface, {
        kind: "netem",
        ...(f.delayMs !== undefined ? { delayMs: f.delayMs } : {}),
        ...(f.jitterMs !== undefined ? { jitterMs: f.jitterMs } : {}),
        ...(f.lossPct !== undefined ? { lossPct: f.lossPct } : {}),
        ...(f.rateKbit !== undefined ? { rateKbit: f.rateKbit } : {}),
      });
    } catch (error) {
      const hint = (error as { hint?: string }).hint;
      throw new Failed(`${(error as Error).message}${hint ? ` (${hint})` : ""}`);
    }
    const what = [
      f.lossPct !== undefined ? `loss ${f.lossPct}% (random-drop rule)` : "",
      f.rateKbit !== undefined ? `rate ${f.rateKbit} kbit/s (tbf)` : "",
      f.delayMs !== undefined ? `delay ${f.delayMs} ms` : "",
    ].filter(Boolean).join(", ");
    mark(`${f.node}:${f.iface} ${what}`);
    return `${f.node}:${f.iface} impaired: ${what}`;
  },
  async revert({ cluster: c }, f, mark) {
    await c.runtime.impair(c.topo, f.node, f.iface, { kind: "reset" });
    mark(`${f.node}:${f.iface} impairments removed`);
    return "impairments removed";
  },
};
