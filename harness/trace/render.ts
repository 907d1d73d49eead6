/**
 * A trace as people read it: numbered hops in time order with what each interface saw (plain, or encapsulated
 * with its outer addresses), the answer, and the findings; and the same as an SVG sequence diagram, with the
 * namespaces as columns, each hop a dot on its column, arrows between namespaces, and the encapsulated stretch
 * drawn as a box around the arrows it wraps. Pure.
 *
 * @module
 */
import type { Hop } from "./follow.ts";
import type { TraceRun } from "./run.ts";
import { escapeHtml as esc } from "../report/escape.ts";

function hopText(h: Hop, t0: number, prev: Hop | undefined): string {
  const at = `+${((h.tUs - t0) / 1000).toFixed(3)} ms`;
  // The time since the hop before: what this step of the path cost.
  const step = prev ? `${Math.round(h.tUs - prev.tUs)} µs` : "";
  const p = h.packet;
  const what = h.error
    ? `${h.error.text} from ${h.error.from}${h.error.mtu ? ` (MTU ${h.error.mtu})` : ""}`
    : `${p.src} > ${p.dst} len ${p.len} ttl ${p.ttl}${p.df ? " DF" : ""}`;
  const e = h.encap;
  const enc = e
    ? `  [${
      e.kind === "vxlan" ? `VXLAN VNI ${e.vni}` : "flannel udp"
    } ${e.src}:${e.sport} > ${e.dst}:${e.dport} len ${e.len} ttl ${e.ttl}${e.df ? " DF" : ""}]`
    : "";
  const frag = (h.fragments ?? 0) > 1 ? `  in ${h.fragments} fragments` : "";
  return `${at.padStart(11)} ${step.padStart(8)}  ${h.where.padEnd(7)} ${
    h.iface.padEnd(14)
  } ${what}${enc}${frag}`;
}

/** The trace as text. */
export function traceText(r: TraceRun): string {
  const t = r.trace;
  const p = t.probe;
  const all = [...t.request, ...t.errors, ...t.reply];
  const t0 = Math.min(...all.map((h) => h.tUs), Infinity);
  const head = `trace ${p.from} (${p.src}) -> ${p.to} (${p.dst}), ${p.proto}: ${
    t.reached ? `reached ${p.to}` : `lost before ${p.to}`
  }${t.reached ? (t.answered ? ", answered" : ", no answer") : ""}`;
  const list = (hops: readonly Hop[]) => hops.map((h, i) => hopText(h, t0, hops[i - 1]));
  const lines = [head, "request:", ...list(t.request)];
  if (t.errors.length) lines.push("errors:", ...list(t.errors));
  if (t.reply.length) lines.push("reply:", ...list(t.reply));
  if (r.findings.length) lines.push("findings:", ...r.findings.map((f) => `  ${f}`));
  return lines.join("\n");
}

/** The trace as a self-contained SVG sequence diagram. */
export function traceSvg(r: TraceRun): string {
  const t = r.trace;
  const hops = [...t.request, ...t.errors, ...t.reply].sort((a, b) => a.tUs - b.tUs);
  const columns: string[] = [];
  for (const h of hops) if (!columns.includes(h.where)) columns.push(h.where);
  const colW = 150;
  const rowH = 26;
  const top = 70;
  const width = Math.max(columns.length * colW + 40, 480);
  const height = top + hops.length * rowH + 40 + r.findings.length * 18;
  const x = (where: string) => 20 + colW / 2 + columns.indexOf(where) * colW;
  const y = (i: number) => top + i * rowH;
  const parts: string[] = [];
  // The encapsulated stretches: consecutive hops carrying the same outer header.
  let i = 0;
  while (i < hops.length) {
    const h = hops[i]!;
    if (!h.encap) {
      i++;
      continue;
    }
    let j = i;
    while (j + 1 < hops.length && hops[j + 1]!.encap && hops[j + 1]!.kind === h.kind) j++;
    const xs = hops.slice(i, j + 1).map((k) => x(k.where));
    const x0 = Math.min(...xs) - 40;
    const x1 = Math.max(...xs) + 40;
    const label = h.encap.kind === "vxlan"
      ? `VXLAN VNI ${h.encap.vni}, UDP ${h.encap.dport}: ${h.encap.src} > ${h.encap.dst}`
      : `flannel udp ${h.encap.dport}: ${h.encap.src} > ${h.encap.dst}`;
    parts.push(
      `<rect x="${x0}" y="${y(i) - 14}" width="${x1 - x0}" height="${
        (j - i) * rowH + 28
      }" rx="8" class="encap"/>`,
      `<text x="${x0 + 6}" y="${y(i) - 2}" class="encaplabel">${esc(label)}</text>`,
    );
    i = j + 1;
  }
  columns.forEach((c) => {
    parts.push(
      `<text x="${x(c)}" y="30" class="col">${esc(c)}</text>`,
      `<line x1="${x(c)}" y1="40" x2="${x(c)}" y2="${top + hops.length * rowH}" class="life"/>`,
    );
  });
  hops.forEach((h, k) => {
    const prev = hops[k - 1];
    if (prev && prev.where !== h.where) {
      parts.push(
        `<line x1="${x(prev.where)}" y1="${y(k - 1)}" x2="${x(h.where)}" y2="${
          y(k)
        }" class="arrow ${h.kind}" marker-end="url(#a)"/>`,
      );
    }
    const frag = (h.fragments ?? 0) > 1 ? ` ×${h.fragments}` : "";
    parts.push(
      `<circle cx="${x(h.where)}" cy="${y(k)}" r="4" class="dot ${h.kind}"/>`,
      `<text x="${x(h.where) + 8}" y="${y(k) + 4}" class="iface">${esc(h.iface + frag)}</text>`,
    );
  });
  const last = t.request.at(-1);
  if (!t.reached && last) {
    const k = hops.indexOf(last);
    parts.push(`<text x="${x(last.where) + 8}" y="${y(k) + 18}" class="lost">✗ lost here</text>`);
  }
  r.findings.forEach((f, k) => {
    parts.push(`<text x="20" y="${top + hops.length * rowH + 24 + k * 18}" class="finding">${esc(f)}</text>`);
  });
  const p = t.probe;
  const title = `${p.from} → ${p.to} (${p.proto}): ${
    t.reached ? (t.answered ? "reached, answered" : "reached") : "lost"
  }`;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui,sans-serif" font-size="12">
<defs><marker id="a" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="6" markerHeight="6" orient="auto"><path d="M0,0L10,5L0,10z" fill="#555"/></marker></defs>
<style>.col{font-weight:bold;text-anchor:middle}.life{stroke:#ccc;stroke-dasharray:4 3}.arrow{stroke:#555;stroke-width:1.5}
.arrow.reply{stroke:#2a7}.arrow.error{stroke:#c33;stroke-dasharray:5 3}.dot{fill:#555}.dot.reply{fill:#2a7}.dot.error{fill:#c33}
.encap{fill:#e8f0ff;stroke:#8ab}.encaplabel{fill:#356;font-size:11px}.iface{fill:#333}.lost{fill:#c33;font-weight:bold}
.finding{fill:#333}.title{font-size:14px;font-weight:bold}</style>
<text x="20" y="14" class="title">${esc(title)}</text>
${parts.join("\n")}
</svg>
`;
}
