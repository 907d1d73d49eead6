/**
 * The HTML report's pictures, drawn from stored results as inline SVG or plain HTML (no scripts, no external
 * assets): the lab's topology with each node's addresses, pod subnet and backend device; the connectivity
 * matrix as a coloured grid; a fault's background probe as RTT over time with the losses and the fault's
 * events marked; throughput and latency as bars beside node-to-node. Pure.
 *
 * @module
 */
import type { Figures, TimelineEvent } from "../scenario/model.ts";
import { escapeHtml as esc } from "./escape.ts";

/** What the report knows of the lab it ran on, collected before teardown. */
export interface LabMap {
  readonly backend: string;
  readonly nodes: readonly {
    readonly name: string;
    readonly role: string;
    readonly agent?: string;
    /** Interface addresses, by interface. */
    readonly addresses: Readonly<Record<string, readonly string[]>>;
    readonly podSubnet?: string;
    readonly device?: string;
  }[];
  /** `node:iface` at each end, and the MTU. */
  readonly links: readonly { readonly a: string; readonly b: string; readonly mtu: number }[];
}

/**
 * The topology: agent nodes on the top row, routers and switches in the middle, the rest (etcd, clients) at the
 * bottom; each box names the node, its role (and agent), its addresses, pod subnet and backend device; each
 * link is a line labelled with its two interfaces and its MTU when it is not 1500.
 */
export function topologySvg(map: LabMap): string {
  const rows = [
    map.nodes.filter((n) => n.role === "node"),
    map.nodes.filter((n) => n.role === "router" || n.role === "switch"),
    map.nodes.filter((n) => n.role !== "node" && n.role !== "router" && n.role !== "switch"),
  ].filter((r) => r.length);
  const boxW = 190;
  const gap = 30;
  const lines = (n: LabMap["nodes"][number]) => [
    ...Object.entries(n.addresses).map(([i, a]) => `${i} ${a.join(", ")}`),
    ...(n.podSubnet ? [`pods ${n.podSubnet}`] : []),
    ...(n.device ? [`device ${n.device}`] : []),
  ];
  const boxH = (n: LabMap["nodes"][number]) => 34 + lines(n).length * 14;
  const rowH = rows.map((r) => Math.max(...r.map(boxH)));
  const width = Math.max(...rows.map((r) => r.length)) * (boxW + gap) + gap;
  const pos = new Map<string, { x: number; y: number; h: number }>();
  let y = 20;
  rows.forEach((r, i) => {
    const offset = (width - r.length * (boxW + gap) + gap) / 2;
    r.forEach((n, j) => pos.set(n.name, { x: offset + j * (boxW + gap), y, h: boxH(n) }));
    y += rowH[i]! + 70;
  });
  const height = y - 50;
  const center = (name: string) => {
    const p = pos.get(name)!;
    return { x: p.x + boxW / 2, y: p.y + p.h / 2 };
  };
  const parts: string[] = [];
  for (const l of map.links) {
    const [na, ia] = l.a.split(":");
    const [nb, ib] = l.b.split(":");
    if (!pos.has(na!) || !pos.has(nb!)) continue;
    const a = center(na!);
    const b = center(nb!);
    parts.push(`<line x1="${a.x}" y1="${a.y}" x2="${b.x}" y2="${b.y}" class="link"/>`);
    const label = `${ia} — ${ib}${l.mtu !== 1500 ? ` (MTU ${l.mtu})` : ""}`;
    parts.push(
      `<text x="${(a.x + b.x) / 2}" y="${(a.y + b.y) / 2 - 3}" class="linklabel${
        l.mtu < 1500 ? " narrow" : ""
      }">${esc(label)}</text>`,
    );
  }
  for (const n of map.nodes) {
    const p = pos.get(n.name)!;
    parts.push(
      `<rect x="${p.x}" y="${p.y}" width="${boxW}" height="${p.h}" rx="6" class="box ${esc(n.role)}"/>`,
      `<text x="${p.x + 8}" y="${p.y + 16}" class="name">${esc(n.name)} <tspan class="role">${esc(n.role)}${
        n.agent ? ` · ${esc(n.agent)}` : ""
      }</tspan></text>`,
      ...lines(n).map((t, k) =>
        `<text x="${p.x + 8}" y="${p.y + 34 + k * 14}" class="attr">${esc(t)}</text>`
      ),
    );
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui,sans-serif" font-size="11" role="img" aria-label="topology">
<style>.link{stroke:#999;stroke-width:2}.linklabel{fill:#555;text-anchor:middle;font-size:10px}.narrow{fill:#c33;font-weight:bold}
.box{fill:#fff;stroke:#789}.box.node{fill:#eef5ff}.box.router,.box.switch{fill:#f3f3f3}.box.etcd{fill:#fff7e6}
.name{font-weight:bold;font-size:12px}.role{font-weight:normal;fill:#777}.attr{fill:#333}</style>
${parts.join("\n")}
</svg>`;
}

/** The connectivity matrix as a coloured grid: green reached, grey unreachable as expected, red not as expected. */
export function matrixHtml(m: NonNullable<Figures["matrix"]>): string {
  const cell = (c: { ok: boolean; want: boolean } | null) => {
    if (!c) return `<td class="mx-none"></td>`;
    const cls = c.ok !== c.want ? "mx-bad" : c.ok ? "mx-ok" : "mx-no";
    const text = c.ok !== c.want ? (c.ok ? "ok, want ✗" : "✗, want ok") : c.ok ? "ok" : "✗";
    return `<td class="${cls}">${text}</td>`;
  };
  return `<table class="matrix"><tr><th>from \\ to</th>${
    m.cols.map((c) => `<th>${esc(c)}</th>`).join("")
  }</tr>${
    m.rows.map((r) => `<tr><th>${esc(r.from)}</th>${r.cells.map(cell).join("")}</tr>`).join("")
  }</table>`;
}

/**
 * A fault's background probe: each probe a dot at its send time and RTT (log scale), a red tick when it was lost,
 * and the fault's events as labelled vertical lines.
 */
export function probeSvg(samples: NonNullable<Figures["probe"]>, events: readonly TimelineEvent[]): string {
  if (!samples.length) return "";
  const w = 720;
  const h = 215;
  const left = 50;
  const plotH = 120;
  const t0 = Math.min(samples[0]!.t, ...events.map((e) => e.t));
  const t1 = Math.max(samples.at(-1)!.t, ...events.map((e) => e.t), t0 + 1);
  const x = (t: number) => left + ((t - t0) / (t1 - t0)) * (w - left - 10);
  const rtts = samples.flatMap((s) => (s.rttMs !== undefined ? [s.rttMs] : []));
  const lo = Math.max(0.01, Math.min(...rtts, 1));
  const hi = Math.max(...rtts, lo * 10);
  const y = (rtt: number) =>
    10 + plotH - ((Math.log10(rtt) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo))) * plotH;
  const parts: string[] = [];
  for (const e of events) {
    parts.push(
      `<line x1="${x(e.t)}" y1="10" x2="${x(e.t)}" y2="${10 + plotH}" class="ev"/>`,
      `<text x="${x(e.t) + 2}" y="${22 + plotH}" class="evlabel" transform="rotate(20 ${x(e.t) + 2} ${
        22 + plotH
      })">${esc(e.what.slice(0, 40))}</text>`,
    );
  }
  let lost = 0;
  for (const s of samples) {
    if (s.rttMs === undefined) {
      lost++;
      parts.push(`<line x1="${x(s.t)}" y1="${8 + plotH}" x2="${x(s.t)}" y2="${14 + plotH}" class="lost"/>`);
    } else parts.push(`<circle cx="${x(s.t)}" cy="${y(s.rttMs)}" r="1.6" class="ok"/>`);
  }
  const ticks = [lo, Math.sqrt(lo * hi), hi].map((v) =>
    `<text x="${left - 4}" y="${y(v) + 3}" class="axis">${v < 1 ? v.toFixed(2) : v.toFixed(0)} ms</text>`
  );
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" font-family="system-ui,sans-serif" font-size="10" role="img" aria-label="probe timeline">
<style>.ok{fill:#1565c0}.lost{stroke:#c33;stroke-width:1.5}.ev{stroke:#999;stroke-dasharray:3 3}.evlabel{fill:#555}.axis{fill:#777;text-anchor:end}
.frame{fill:none;stroke:#ddd}</style>
<rect x="${left}" y="10" width="${w - left - 10}" height="${plotH}" class="frame"/>
${ticks.join("\n")}
${parts.join("\n")}
<text x="${left}" y="${h - 4}" class="axis" text-anchor="start">${samples.length} probes over ${
    ((t1 - t0) / 1000).toFixed(1)
  } s, ${lost} lost (red ticks); RTT on a log scale</text>
</svg>`;
}

/** Throughput or latency beside node-to-node, as bars, from a step's metrics (nothing for other steps). */
export function barsHtml(kind: string, m: Readonly<Record<string, number>>): string {
  const bar = (label: string, v: number, max: number, unit: string) =>
    `<tr><td>${esc(label)}</td><td><div class="hbar"><span style="width:${
      max > 0 ? Math.max(1, (v / max) * 100).toFixed(1) : 0
    }%"></span></div></td><td class="num">${v} ${unit}</td></tr>`;
  if (kind === "throughput" && m["podMbps"] !== undefined && m["nodeMbps"] !== undefined) {
    const max = Math.max(m["podMbps"], m["nodeMbps"]);
    return `<table class="bars">${bar("pod to pod", m["podMbps"], max, "Mbit/s")}${
      bar("node to node", m["nodeMbps"], max, "Mbit/s")
    }</table>`;
  }
  if (kind === "latency" && m["podP50Ms"] !== undefined && m["nodeP50Ms"] !== undefined) {
    const max = Math.max(m["podP99Ms"] ?? 0, m["nodeP99Ms"] ?? 0, m["podP50Ms"], m["nodeP50Ms"]);
    return `<table class="bars">${bar("pod p50", m["podP50Ms"], max, "ms")}${
      bar("node p50", m["nodeP50Ms"], max, "ms")
    }${m["podP99Ms"] !== undefined ? bar("pod p99", m["podP99Ms"], max, "ms") : ""}${
      m["nodeP99Ms"] !== undefined ? bar("node p99", m["nodeP99Ms"], max, "ms") : ""
    }</table>`;
  }
  return "";
}

/** The CSS the pictures' HTML parts use. */
export const PICTURE_CSS =
  `.matrix td,.matrix th{text-align:center;min-width:4em}.mx-ok{background:#c8e6c9}.mx-no{background:#e0e0e0;color:#555}
.mx-bad{background:#ef9a9a;font-weight:bold}.mx-none{background:#fafafa}
.hbar{width:320px;height:12px;background:#eee}.hbar span{display:block;height:12px;background:#1565c0}
.figure{margin:.5em 0;overflow:auto}`;
