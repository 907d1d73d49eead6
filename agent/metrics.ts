/**
 * Prometheus metrics for `/metrics` (text exposition format 0.0.4), written by hand: counters, gauges and one
 * histogram with labels are all the agent needs, and no dependency is worth that.
 *
 * @module
 */

type Labels = Readonly<Record<string, string>>;

interface Family {
  readonly help: string;
  readonly type: "counter" | "gauge" | "histogram";
  readonly values: Map<string, { labels: Labels; value: number }>;
  readonly buckets?: readonly number[];
  readonly hist?: Map<string, { labels: Labels; counts: number[]; sum: number; count: number }>;
}

function labelKey(labels: Labels): string {
  return Object.keys(labels).sort().map((k) => `${k}=${labels[k]}`).join(",");
}

function escape(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

function renderLabels(labels: Labels, extra?: [string, string]): string {
  const entries = Object.entries(labels);
  if (extra) entries.push(extra);
  if (entries.length === 0) return "";
  return `{${entries.map(([k, v]) => `${k}="${escape(v)}"`).join(",")}}`;
}

function num(v: number): string {
  return Number.isFinite(v) ? String(v) : v > 0 ? "+Inf" : v < 0 ? "-Inf" : "NaN";
}

/**
 * A registry of metric families.
 *
 * @example
 * ```ts
 * import { Metrics } from "./metrics.ts";
 * const m = new Metrics();
 * m.counter("flannel_reconcile_runs_total", "Reconcile runs.");
 * m.inc("flannel_reconcile_runs_total", { backend: "vxlan" });
 * m.render().includes('flannel_reconcile_runs_total{backend="vxlan"} 1'); // true
 * ```
 */
export class Metrics {
  readonly #families = new Map<string, Family>();
  readonly #collectors: (() => void)[] = [];

  /** Declares a counter. */
  counter(name: string, help: string): void {
    this.#families.set(name, { help, type: "counter", values: new Map() });
  }

  /** Declares a gauge. */
  gauge(name: string, help: string): void {
    this.#families.set(name, { help, type: "gauge", values: new Map() });
  }

  /** Declares a histogram with the given upper bounds (seconds, say). */
  histogram(name: string, help: string, buckets: readonly number[]): void {
    this.#families.set(name, { help, type: "histogram", values: new Map(), buckets, hist: new Map() });
  }

  /** Registers a function run before every render (to copy values kept elsewhere into gauges). */
  collect(fn: () => void): void {
    this.#collectors.push(fn);
  }

  #family(name: string): Family {
    const f = this.#families.get(name);
    if (!f) throw new RangeError(`Unknown metric "${name}"`);
    return f;
  }

  /** Adds to a counter (or gauge). */
  inc(name: string, labels: Labels = {}, by = 1): void {
    const f = this.#family(name);
    const key = labelKey(labels);
    const v = f.values.get(key);
    if (v) v.value += by;
    else f.values.set(key, { labels, value: by });
  }

  /** Sets a gauge (or a counter mirrored from elsewhere). */
  set(name: string, labels: Labels, value: number): void {
    this.#family(name).values.set(labelKey(labels), { labels, value });
  }

  /** Drops every series of a family (for gauges rebuilt on each collection). */
  reset(name: string): void {
    this.#family(name).values.clear();
  }

  /** Records one observation in a histogram. */
  observe(name: string, labels: Labels, value: number): void {
    const f = this.#family(name);
    const key = labelKey(labels);
    let h = f.hist!.get(key);
    if (!h) {
      h = { labels, counts: f.buckets!.map(() => 0), sum: 0, count: 0 };
      f.hist!.set(key, h);
    }
    f.buckets!.forEach((b, i) => {
      if (value <= b) h!.counts[i]!++;
    });
    h.sum += value;
    h.count++;
  }

  /** The value of one series, or 0. */
  value(name: string, labels: Labels = {}): number {
    return this.#family(name).values.get(labelKey(labels))?.value ?? 0;
  }

  /** The exposition text. */
  render(): string {
    for (const c of this.#collectors) c();
    const out: string[] = [];
    for (const [name, f] of this.#families) {
      out.push(`# HELP ${name} ${f.help}`, `# TYPE ${name} ${f.type}`);
      if (f.type === "histogram") {
        for (const h of f.hist!.values()) {
          f.buckets!.forEach((b, i) => {
            out.push(`${name}_bucket${renderLabels(h.labels, ["le", num(b)])} ${h.counts[i]}`);
          });
          out.push(`${name}_bucket${renderLabels(h.labels, ["le", "+Inf"])} ${h.count}`);
          out.push(`${name}_sum${renderLabels(h.labels)} ${num(h.sum)}`);
          out.push(`${name}_count${renderLabels(h.labels)} ${h.count}`);
        }
      } else {
        for (const v of f.values.values()) out.push(`${name}${renderLabels(v.labels)} ${num(v.value)}`);
      }
    }
    return out.join("\n") + "\n";
  }
}

/** The agent's metric families, declared once. */
export function agentMetrics(): Metrics {
  const m = new Metrics();
  m.gauge("flannel_leases_known", "Leases in the agent's snapshot, its own included.");
  m.counter("flannel_etcd_watch_restarts_total", "Times the lease watch had to be re-established.");
  m.counter("flannel_public_ip_clashes_total", "Leases of other hosts seen publishing this node's PublicIP.");
  m.counter("flannel_reconcile_runs_total", "Data-plane reconcile runs.");
  m.counter("flannel_reconcile_errors_total", "Kernel entries refused, and reconcile runs that failed.");
  m.histogram("flannel_reconcile_duration_seconds", "Duration of data-plane reconcile runs.", [
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1,
    2.5,
    5,
  ]);
  m.counter("flannel_kernel_entries_added_total", "Routes, ARP and FDB entries added or replaced.");
  m.counter("flannel_kernel_entries_removed_total", "Routes, ARP and FDB entries removed.");
  m.counter("flannel_peer_errors_total", "Times a peer went into the error state (per peer).");
  m.gauge("flannel_peers", "Remote leases by state (programmed, ignored, error).");
  m.gauge(
    "flannel_leases_out_of_network",
    "Remote leases outside the network, of another prefix length, or overlapping our subnet; nothing is installed for them.",
  );
  m.counter(
    "flannel_device_recreations_total",
    "Times the backend's device was found missing and recreated.",
  );
  return m;
}
