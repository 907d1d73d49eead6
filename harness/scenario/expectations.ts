/**
 * The keys of a step's `expect:` mapping and how each one's value is read. Which keys a step takes is its kind's
 * business (`steps/<kind>.ts` names them, a fault step asks its fault kind); how a key is read is the same for
 * every kind that takes it (`ratio` for throughput and latency, the probe's keys for every fault), so it lives
 * here, once. Pure.
 *
 * @module
 */
import { KERNEL_VXLAN_PORT, UDP_DEFAULT_PORT } from "../../agent/config/mod.ts";
import type { Expect } from "./model.ts";
import { parsePercentBound, parseRatioBand, type Path, type Reader } from "./reader.ts";

/** Reads one key's value (at `path`) into the part of the {@linkcode Expect} it sets; `{}` when it is wrong. */
type KeyReader = (r: Reader, v: unknown, path: Path) => Partial<Expect>;

/** `{ [name]: v }`, or nothing when the read failed (its problem is already recorded). */
function set<K extends keyof Expect>(name: K, v: Expect[K] | undefined): Partial<Expect> {
  return v === undefined ? {} : { [name]: v } as Partial<Expect>;
}

/**
 * Every expectation key, in the order they are read and listed in messages. A key that no kind takes cannot
 * be written, so a new key is added here and to the kinds that take it.
 */
const KEYS = {
  vxlan: (r, v, p) => {
    const x = r.obj(v, p, ["vni", "port", "min"]);
    return x
      ? {
        vxlan: {
          ...(x["vni"] !== undefined ? { vni: Number(x["vni"]) } : {}),
          port: Number(x["port"] ?? KERNEL_VXLAN_PORT),
          min: Number(x["min"] ?? 1),
        },
      }
      : {};
  },
  udp: (r, v, p) => {
    const x = r.obj(v, p, ["port", "min"]);
    return x ? { udp: { port: Number(x["port"] ?? UDP_DEFAULT_PORT), min: Number(x["min"] ?? 1) } } : {};
  },
  "plain-pod-traffic": (r, v, p) => {
    const x = r.obj(v, p, ["min"]);
    return x ? { plainPodTraffic: { min: Number(x["min"] ?? 1) } } : {};
  },
  "unencapsulated-pod-traffic": (r, v, p) => set("unencapsulatedPodTraffic", r.int(v, p)),
  fragments: (r, v, p) => set("fragments", r.int(v, p)),
  count: (r, v, p) => set("count", r.int(v, p)),
  distinct: (_r, v) => ({ distinct: v === true }),
  foreign: (r, v, p) => set("foreign", r.int(v, p)),
  "same-form": (_r, v) => ({ sameForm: v === true }),
  "recovers-within": (r, v, p) => set("recoversWithinMs", r.duration(v, p)),
  "same-subnet": (_r, v) => ({ sameSubnet: v === true }),
  "same-vtep-mac": (_r, v) => ({ sameVtepMac: v === true }),
  "restored-within": (r, v, p) => set("restoredWithinMs", r.duration(v, p)),
  "probe-loss": (r, v, p) => {
    const b = parsePercentBound(v);
    return b ? { probeLoss: b } : (r.fail(p, `must be a bound like "<= 5%"`), {});
  },
  "max-outage": (r, v, p) => set("maxOutageMs", r.duration(v, p)),
  "late-after": (r, v, p) => set("lateAfterMs", r.duration(v, p)),
  "gone-from-peers-within": (r, v, p) => set("goneFromPeersWithinMs", r.duration(v, p)),
  reaches: (_r, v) => ({ reaches: v !== false }),
  "lost-at": (r, v, p) => {
    const at = r.node(String(v).split("/")[0], p) ? String(v) : undefined;
    return at === undefined ? {} : { reaches: false, lostAt: at };
  },
  finds: (r, v, p) => {
    try {
      new RegExp(String(v));
    } catch (error) {
      return r.fail(p, `not a valid regular expression: ${(error as Error).message}`), {};
    }
    return { finds: String(v) };
  },
  crosses: (r, v, p) => {
    if (!Array.isArray(v) || !v.every((x) => typeof x === "string" && /^[^:\s]+:\S+$/.test(x))) {
      return r.fail(p, "must be a list of node:iface (or node/pN:iface), like [n1:flannel.1, n2:flannel.1]"),
        {};
    }
    return { crosses: v as string[] };
  },
  path: (r, v, p) => {
    if (!Array.isArray(v) || !v.every((x) => typeof x === "string")) {
      return r.fail(p, "must be a list of nodes and pods, like [n1/p1, n1, r1, n2, n2/p1]"), {};
    }
    return { path: v as string[] };
  },
  encap: (r, v, p) => {
    const m = /^(vxlan|udp|none)(?:\s+(\d+))?$/.exec(String(v));
    if (!m) return r.fail(p, 'must be vxlan, udp or none, optionally with the UDP port ("vxlan 8472")'), {};
    return { encap: { kind: m[1] as "vxlan" | "udp" | "none", ...(m[2] ? { port: Number(m[2]) } : {}) } };
  },
  "narrow-link": (r, v, p) => {
    const x = r.obj(v, p, ["link", "mtu"]);
    if (!x) return {};
    return {
      narrowLink: {
        ...(x["link"] !== undefined ? { link: String(x["link"]) } : {}),
        ...(x["mtu"] !== undefined ? { mtu: Number(x["mtu"]) } : {}),
      },
    };
  },
  ratio: (r, v, p) => {
    const b = parseRatioBand(v);
    return b ? { ratio: b } : (r.fail(p, `must be a band like ">= 0.5", "0.5..1.2" or {min, max}`), {});
  },
} satisfies Record<string, KeyReader>;

/** A key of a step's `expect:` mapping. */
export type ExpectKey = keyof typeof KEYS;

/** How a step kind reads its `expect:` value (never undefined: a step without one expects `{}`). */
export type ExpectReader<A> = (
  r: Reader,
  v: unknown,
  path: Path,
  action: A | undefined,
) => Expect | undefined;

/**
 * The given keys in the order of {@linkcode KEYS}, each once: a list gathered from several kinds reads the
 * same whichever order they were gathered in.
 *
 * @param keys the keys
 * @returns them in order
 */
export function inKeyOrder(keys: Iterable<ExpectKey>): ExpectKey[] {
  const want = new Set(keys);
  return (Object.keys(KEYS) as ExpectKey[]).filter((k) => want.has(k));
}

/**
 * Reads an `expect:` mapping that may use the `allowed` keys. Every key it knows is read, allowed or not, so a
 * wrong value is reported along with the key that does not belong.
 *
 * @param r the reader
 * @param v the value of `expect:`
 * @param path where it is
 * @param allowed the keys the step takes
 * @returns the expectation, or undefined when `v` is not a mapping
 */
export function readExpect(
  r: Reader,
  v: unknown,
  path: Path,
  allowed: readonly ExpectKey[],
): Expect | undefined {
  const o = r.obj(v, path, allowed);
  if (!o) return undefined;
  const out: Partial<Expect> = {};
  for (const [k, read] of Object.entries(KEYS) as [ExpectKey, KeyReader][]) {
    if (o[k] !== undefined) Object.assign(out, read(r, o[k], [...path, k]));
  }
  return out;
}

/**
 * The expectation reader of a step kind whose `expect:` is a mapping of these keys (none: only `{}`).
 *
 * @param allowed the keys
 * @returns the reader
 */
export function expectKeys(...allowed: ExpectKey[]): ExpectReader<unknown> {
  return (r, v, path) => readExpect(r, v, path, allowed);
}
