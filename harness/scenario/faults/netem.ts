/**
 * `netem`: loss, rate, delay or jitter on an interface (`netem: reset` removes them). Loss is a random-drop
 * iptables rule and rate a tbf qdisc; delay and jitter need the kernel's netem, which a scenario is refused for
 * before anything is deployed when the kernel lacks it (`runtime/kernel_features.ts`).
 *
 * @module
 */
import { Failed } from "../failed.ts";
import { type FaultKind, PROBE_EXPECT } from "./_kind.ts";

/** How many kbit a rate unit is. */
const KBIT: Readonly<Record<string, number>> = { kbit: 1, mbit: 1000, gbit: 1_000_000 };

/**
 * `link: node:iface` with `netem: {delay, jitter, loss, rate}`, `netem: reset`, or the shorthand `loss: P%` /
 * `rate: R` (a `netem:` of just those).
 */
export const netem: FaultKind<"netem"> = {
  trigger: "link",
  form: "loss: P%, rate: R, netem: {delay, jitter, loss, rate} | reset",
  selects: (o) => o["loss"] !== undefined || o["rate"] !== undefined || o["netem"] !== undefined,
  keys: ["link", "netem", "loss", "rate"],
  parse(r, o, path, win) {
    const l = r.link(o["link"], [...path, "link"]);
    if (!l) return undefined;
    const shorthand = o["loss"] !== undefined || o["rate"] !== undefined;
    let spec = o["netem"];
    if (shorthand) {
      if (!r.only(o, path, ["link", "loss", "rate", "for"], "a link loss/rate impairment")) return undefined;
      spec = {
        ...(o["loss"] !== undefined ? { loss: o["loss"] } : {}),
        ...(o["rate"] !== undefined ? { rate: o["rate"] } : {}),
      };
    }
    if (spec === "reset") {
      // A reset removes what is there: it has no window to revert at the end of.
      return r.only(o, path, ["link", "netem"], "netem: reset")
        ? { kind: "netem", ...l, reset: true }
        : undefined;
    }
    if (!shorthand && !r.only(o, path, ["link", "netem", "for"], "a netem impairment")) return undefined;
    const n = r.obj(spec, [...path, "netem"], ["delay", "jitter", "loss", "rate"]);
    if (!n) return undefined;
    const delayMs = n["delay"] === undefined
      ? undefined
      : r.duration(n["delay"], [...path, "netem", "delay"]);
    const jitterMs = n["jitter"] === undefined
      ? undefined
      : r.duration(n["jitter"], [...path, "netem", "jitter"]);
    let lossPct: number | undefined;
    if (n["loss"] !== undefined) {
      lossPct = parseFloat(String(n["loss"]));
      if (!(lossPct >= 0 && lossPct <= 100)) {
        return r.fail([...path, "netem", "loss"], `must be a percentage 0–100 like 10%`);
      }
    }
    let rateKbit: number | undefined;
    if (n["rate"] !== undefined) {
      const m = /^(\d+(?:\.\d+)?)\s*(kbit|mbit|gbit)$/i.exec(String(n["rate"]).trim());
      if (!m) return r.fail([...path, "netem", "rate"], `must be a rate like 500kbit, 10mbit or 1gbit`);
      rateKbit = Number(m[1]) * (KBIT[m[2]!.toLowerCase()] ?? 1);
    }
    if (jitterMs !== undefined && delayMs === undefined) {
      return r.fail([...path, "netem", "jitter"], `jitter needs delay`);
    }
    return {
      kind: "netem",
      ...l,
      reset: false,
      ...(delayMs !== undefined ? { delayMs } : {}),
      ...(jitterMs !== undefined ? { jitterMs } : {}),
      ...(lossPct !== undefined ? { lossPct } : {}),
      ...(rateKbit !== undefined ? { rateKbit } : {}),
      ...win,
    };
  },
  describe: (f) =>
    f.reset
      ? `impairment reset on ${f.node}:${f.iface}`
      : `impair ${f.node}:${f.iface}${f.lossPct !== undefined ? ` loss ${f.lossPct}%` : ""}${
        f.rateKbit !== undefined ? ` rate ${f.rateKbit}kbit` : ""
      }${f.delayMs !== undefined ? ` delay ${f.delayMs}ms` : ""}${
        f.forMs !== undefined ? ` for ${f.forMs / 1000} s` : ""
      }`,
  what: () => "a link impairment",
  expectKeys: PROBE_EXPECT,
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
