/**
 * The generic machinery of the scenario parser, shared by `parse.ts` and every step and fault kind's own syntax
 * (`steps/<kind>.ts`, `faults/<kind>.ts`): a {@linkcode Reader} that checks keys and reads the scalars a
 * scenario names (durations, nodes, links, pods, pings) into problems with file and line, and the parsers of
 * the value forms several kinds share. Pure: it knows no step or fault kind, so kind files can import it
 * without a cycle.
 *
 * @module
 */
import type { Problem } from "../topology/errors.ts";
import type { SourceDoc } from "../topology/source.ts";
import type { Topology } from "../topology/model.ts";
import type { PercentBound, PingSpec, RatioBand } from "./model.ts";

/** A YAML mapping as parsed. */
export type Obj = Record<string, unknown>;
/** Where a value is in the file: the keys and list indexes from the document's root. */
export type Path = (string | number)[];

/**
 * Parses a duration: `500ms`, `30s`, `2m`, or a number of seconds.
 *
 * @param v the value
 * @returns milliseconds, or undefined when it is not a duration
 */
export function parseDuration(v: unknown): number | undefined {
  if (typeof v === "number" && v >= 0) return v * 1000;
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)$/.exec(String(v).trim());
  if (!m) return undefined;
  const n = Number(m[1]);
  return m[2] === "ms" ? n : m[2] === "s" ? n * 1000 : n * 60_000;
}

/**
 * Reads a scenario document against its topology. Every read that fails records a problem at the value's path
 * and returns undefined, so one pass collects every mistake in the file instead of stopping at the first.
 */
export class Reader {
  /** Every problem found so far, in the order the file was read. */
  readonly problems: Problem[] = [];
  constructor(readonly doc: SourceDoc, readonly topo: Topology) {}

  /** Records a problem at `path` (at its key when `key`, else at its value); returns undefined to pass on. */
  fail(path: Path, message: string, key = false): undefined {
    this.problems.push(this.doc.problem(path, message, { key }));
    return undefined;
  }

  /**
   * A mapping whose keys are all in `allowed` and include `required`. An unknown key is a problem naming the
   * keys allowed there, but the mapping is still returned, so its known keys are read (and checked) too.
   */
  obj(v: unknown, path: Path, allowed: readonly string[], required: readonly string[] = []): Obj | undefined {
    if (typeof v !== "object" || v === null || Array.isArray(v)) {
      return this.fail(path, `must be a mapping with keys ${allowed.join(", ")}`);
    }
    const o = v as Obj;
    for (const k of Object.keys(o)) {
      if (!allowed.includes(k)) {
        this.fail([...path, k], `unknown key "${k}"; allowed here: ${allowed.join(", ")}`, true);
      }
    }
    for (const k of required) if (!(k in o)) this.fail(path, `missing key "${k}"`);
    return o;
  }

  /**
   * Rejects keys of `o` that the form it turned out to be does not use (a fault's kind, an action), so a key
   * that would be silently ignored is an error naming the keys that apply there.
   */
  only(o: Obj, path: Path, allowed: readonly string[], what: string): boolean {
    let ok = true;
    for (const k of Object.keys(o)) {
      if (allowed.includes(k)) continue;
      ok = false;
      this.fail([...path, k], `"${k}" does not apply to ${what}; allowed there: ${allowed.join(", ")}`, true);
    }
    return ok;
  }

  /** A whole number of at least `min`. */
  int(v: unknown, path: Path, min = 0): number | undefined {
    if (typeof v !== "number" || !Number.isInteger(v) || v < min) {
      return this.fail(path, `must be a whole number ≥ ${min}`);
    }
    return v;
  }

  /** A duration ({@linkcode parseDuration}), in milliseconds. */
  duration(v: unknown, path: Path): number | undefined {
    const d = parseDuration(v);
    if (d === undefined) {
      return this.fail(path, `must be a duration like 500ms, 30s or 2m, not ${JSON.stringify(v)}`);
    }
    return d;
  }

  /** The name of a node of the topology, of `role` when given. */
  node(v: unknown, path: Path, role?: string): string | undefined {
    const name = String(v);
    const n = this.topo.nodes.find((x) => x.name === name);
    if (!n) {
      return this.fail(
        path,
        `node "${name}" is not in the topology (${this.topo.nodes.map((x) => x.name).join(", ")})`,
      );
    }
    if (role && n.role !== role) return this.fail(path, `node "${name}" is a ${n.role}, not a ${role}`);
    return name;
  }

  /** A link end `node:interface` of the topology. */
  link(v: unknown, path: Path): { node: string; iface: string } | undefined {
    const m = /^([^:]+):(.+)$/.exec(String(v));
    if (!m) return this.fail(path, `must be "node:interface", not ${JSON.stringify(v)}`);
    const node = this.node(m[1], path);
    if (!node) return undefined;
    const spec = this.topo.nodes.find((x) => x.name === node)!;
    if (!spec.interfaces.includes(m[2]!)) {
      return this.fail(
        path,
        `${node} has no link interface "${m[2]}" (it has ${spec.interfaces.join(", ")})`,
      );
    }
    return { node, iface: m[2]! };
  }

  /** A pod `node/pN` (checked against pods per node) or a node name (a node as ping source). */
  endpoint(v: unknown, path: Path, pods: number, allowNode: boolean): string | undefined {
    const s = String(v);
    const m = /^([^/]+)\/p(\d+)$/.exec(s);
    if (m) {
      const node = this.node(m[1], path, "node");
      if (!node) return undefined;
      if (Number(m[2]) < 1 || Number(m[2]) > pods) {
        return this.fail(path, `pod "${s}" does not exist: nodes have ${pods} pods`);
      }
      return s;
    }
    if (allowNode && this.node(s, path)) return s;
    return allowNode ? undefined : this.fail(path, `must be a pod "node/pN", not ${JSON.stringify(v)}`);
  }

  /** A ping `{from, to, count, size, dont-fragment}` between endpoints that exist (`pods` per node). */
  ping(v: unknown, path: Path, pods: number): PingSpec | undefined {
    const o = this.obj(v, path, ["from", "to", "count", "size", "dont-fragment"], ["from", "to"]);
    if (!o) return undefined;
    const from = this.endpoint(o["from"], [...path, "from"], pods, true);
    const to = this.endpoint(o["to"], [...path, "to"], pods, false);
    const count = o["count"] === undefined ? 3 : this.int(o["count"], [...path, "count"], 1);
    const size = o["size"] === undefined ? undefined : this.int(o["size"], [...path, "size"], 0);
    if (!from || !to || count === undefined) return undefined;
    return {
      from,
      to,
      count,
      ...(size !== undefined ? { size } : {}),
      dontFragment: o["dont-fragment"] === true,
    };
  }
}

/**
 * Parses a bound like `<= 5%`, `< 1%`, `0%` (meaning `<= 0%`).
 *
 * @param v the value
 * @returns the bound, or undefined when it is not one
 */
export function parsePercentBound(v: unknown): PercentBound | undefined {
  const m = /^\s*(<=|<|>=|>|==)?\s*(\d+(?:\.\d+)?)\s*%\s*$/.exec(String(v));
  if (!m || Number(m[2]) > 100) return undefined;
  return { op: (m[1] ?? "<=") as PercentBound["op"], pct: Number(m[2]) };
}

/**
 * Parses a ratio band: `">= 0.5"`, `"0.5..1.2"`, or `{min, max}`.
 *
 * @param v the value
 * @returns the band, or undefined when it is not one
 */
export function parseRatioBand(v: unknown): RatioBand | undefined {
  if (typeof v === "object" && v !== null && !Array.isArray(v)) {
    const o = v as Obj;
    const min = o["min"] === undefined ? undefined : Number(o["min"]);
    const max = o["max"] === undefined ? undefined : Number(o["max"]);
    if ((min !== undefined && !Number.isFinite(min)) || (max !== undefined && !Number.isFinite(max))) {
      return undefined;
    }
    return { ...(min !== undefined ? { min } : {}), ...(max !== undefined ? { max } : {}) };
  }
  const s = String(v).trim();
  const range = /^(\d+(?:\.\d+)?)\s*\.\.\s*(\d+(?:\.\d+)?)$/.exec(s);
  if (range) return { min: Number(range[1]), max: Number(range[2]) };
  const m = /^(>=|<=)\s*(\d+(?:\.\d+)?)$/.exec(s);
  if (!m) return undefined;
  return m[1] === ">=" ? { min: Number(m[2]) } : { max: Number(m[2]) };
}
