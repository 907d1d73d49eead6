/**
 * Traces one probe through a running lab: a capture on every interface of every node and pod, one marked
 * packet (an ICMP echo with a pattern of its own, or a UDP datagram or TCP SYN to a port of its own) from one
 * pod to another, then the captures followed (`follow.ts`) and, where the probe stopped, the kernel asked why:
 * the route the last namespace would take, the ICMP error it sent, the link where the packet was split.
 *
 * @module
 */
import type { Cluster, Pod } from "../cluster.ts";
import type { Process } from "../../cli/process/mod.ts";
import { follow, type Hop, type InterfaceCapture, type Probe, type Trace } from "./follow.ts";
import { parsePcap } from "./pcap.ts";
import { KERNEL_VXLAN_PORT, UDP_DEFAULT_PORT } from "../../agent/config/mod.ts";
import { netContains, parseCidr, parseIp } from "../../agent/ip.ts";

/** What to send. */
export interface TraceOptions {
  readonly proto: "icmp" | "udp" | "tcp";
  /** Payload bytes (ICMP: ping's -s). */
  readonly size?: number;
  readonly dontFragment?: boolean;
  /** Where the pcaps go. */
  readonly dir: string;
  /** The VXLAN port (default 8472) and flannel-udp port (default 8285) to look inside. */
  readonly ports?: { readonly vxlan: number; readonly udp: number };
}

/** A trace and what the lab said about where it stopped. */
export interface TraceRun {
  readonly trace: Trace;
  /** Sentences saying where the probe was lost and why, or where it was split (empty when all went well). */
  readonly findings: readonly string[];
  /** The link where the probe was fragmented, and its MTU. */
  readonly narrowLink?: { readonly label: string; readonly mtu: number };
  /** Where it was lost: the last namespace and interface that saw the request. */
  readonly lostAfter?: Hop;
}

interface Target {
  readonly where: string;
  readonly run: (cmd: readonly string[]) => Promise<{ code: number; stdout: string; stderr: string }>;
  readonly spawn: (cmd: readonly string[]) => Promise<Process>;
}

function targets(c: Cluster): Target[] {
  const node = (name: string): Target => ({
    where: name,
    run: (cmd) => c.runtime.exec(c.topo, name, cmd, { check: false, timeoutMs: 15_000 }),
    spawn: (cmd) => c.runtime.spawn(c.topo, name, cmd),
  });
  const pod = (p: Pod): Target => {
    const wrap = (cmd: readonly string[]) => ["ip", "netns", "exec", p.netns, ...cmd];
    return {
      where: p.id,
      run: (cmd) => c.runtime.exec(c.topo, p.node, wrap(cmd), { check: false, timeoutMs: 15_000 }),
      spawn: (cmd) => c.runtime.spawn(c.topo, p.node, wrap(cmd)),
    };
  };
  return [...c.topo.nodes.map((n) => node(n.name)), ...c.pods.map(pod)];
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** A random hex pattern for ping's -p (8 bytes), and its bytes. */
function pattern(): { hex: string; bytes: Uint8Array } {
  const bytes = crypto.getRandomValues(new Uint8Array(8));
  return { hex: [...bytes].map((b) => b.toString(16).padStart(2, "0")).join(""), bytes };
}

/**
 * Sends one probe from a pod to a pod and follows it.
 *
 * @param c the running lab
 * @param from the source pod (`n1/p1`)
 * @param to the destination pod
 */
export async function traceProbe(c: Cluster, from: string, to: string, o: TraceOptions): Promise<TraceRun> {
  const src = c.pod(from);
  const dst = c.pod(to);
  const ports = o.ports ?? { vxlan: KERNEL_VXLAN_PORT, udp: UDP_DEFAULT_PORT };
  await Deno.mkdir(o.dir, { recursive: true });
  const all = targets(c);
  // Every interface but loopback, with its MTU: the trace must not guess where the packet goes.
  const ifaces = (await Promise.all(all.map(async (t) => {
    const r = await t.run(["ip", "-j", "link", "show"]);
    const links = r.code === 0
      ? JSON.parse(r.stdout) as { ifname: string; mtu: number; operstate: string }[]
      : [];
    return links.filter((l) => l.ifname !== "lo" && l.operstate !== "DOWN").map((l) => ({ t, ...l }));
  }))).flat();
  const file = (t: Target, ifname: string) => `${o.dir}/${t.where.replace("/", "-")}-${ifname}.pcap`;
  await Promise.all(ifaces.map((i) => Deno.remove(file(i.t, i.ifname)).catch(() => {})));
  const dumps = await Promise.all(
    ifaces.map((i) =>
      i.t.spawn([
        "tcpdump",
        "--immediate-mode",
        "-i",
        i.ifname,
        "-nn",
        "-U",
        "-s",
        "262",
        "-w",
        file(i.t, i.ifname),
        "ip",
      ])
    ),
  );
  const mark = pattern();
  const port = 33000 + Math.floor(Math.random() * 20000);
  let sent: { code: number; stdout: string; stderr: string } | undefined;
  let before = new Map<string, Map<string, number>>();
  let after = new Map<string, Map<string, number>>();
  try {
    // tcpdump creates its file once it listens.
    const until = Date.now() + 5000;
    for (const i of ifaces) {
      while (Date.now() < until && !(await Deno.stat(file(i.t, i.ifname)).catch(() => undefined))) {
        await sleep(20);
      }
    }
    await sleep(200);
    before = await counters(all);
    const size = o.size ?? (o.proto === "icmp" ? 56 : 32);
    const srcT = all.find((t) => t.where === from)!;
    if (o.proto === "icmp") {
      sent = await srcT.run([
        "ping",
        "-c",
        "1",
        "-W",
        "2",
        "-p",
        mark.hex,
        "-s",
        String(size),
        "-M",
        o.dontFragment ? "do" : "dont",
        dst.ip,
      ]);
    } else if (o.proto === "udp") {
      sent = await srcT.run(["bash", "-c", `printf '%*s' ${size} '' > /dev/udp/${dst.ip}/${port}`]);
      await sleep(300);
    } else {
      sent = await srcT.run(["timeout", "2", "bash", "-c", `exec 3<>/dev/tcp/${dst.ip}/${port}`]);
    }
    await sleep(500);
    after = await counters(all);
  } finally {
    await Promise.all(dumps.map((d) => d.stop("SIGINT")));
  }
  const captures: InterfaceCapture[] = [];
  for (const i of ifaces) {
    const bytes = await Deno.readFile(file(i.t, i.ifname)).catch(() => undefined);
    if (!bytes || bytes.length < 24) continue;
    try {
      captures.push({ where: i.t.where, iface: i.ifname, mtu: i.mtu, pcap: parsePcap(bytes) });
    } catch { /* a capture cut short: nothing in it */ }
  }
  const probe: Probe = {
    proto: o.proto,
    from,
    to,
    src: src.ip,
    dst: dst.ip,
    ...(o.proto === "icmp" ? { pattern: mark.bytes } : { port }),
  };
  const trace = follow(probe, captures, ports);
  return await explain(c, trace, all, sent, drops(before, after));
}

/** The findings: where the request was split, where it stopped, and why, as the lab tells. */
async function explain(
  c: Cluster,
  trace: Trace,
  all: readonly Target[],
  sent: { code: number; stdout: string; stderr: string } | undefined,
  dropped: readonly string[],
): Promise<TraceRun> {
  const findings: string[] = [];
  // Counted while the probe was in flight: other traffic may be counted too, so it is said as a likelihood.
  for (const d of dropped) findings.push(`a firewall rule counted drops while the probe was out: ${d}`);
  let narrowLink: TraceRun["narrowLink"];
  const req = trace.request;
  const split = req.findIndex((h, i) => (h.fragments ?? 0) > 1 && (i === 0 || !(req[i - 1]!.fragments! > 1)));
  if (split >= 0) {
    const h = req[split]!;
    const link = c.topo.links.find((l) =>
      (l.a.node === h.where && l.a.iface === h.iface) || (l.b.node === h.where && l.b.iface === h.iface)
    );
    // The namespace that split it is the one sending on this interface: the hop before it, if that was in the
    // same namespace (it came in elsewhere), else the one at the other end of the link.
    const prev = req[split - 1];
    const by = prev?.where === h.where ? h.where : prev?.where ?? h.where;
    const label = link?.label ?? `${h.where}:${h.iface}`;
    if (h.mtu !== undefined) narrowLink = { label, mtu: h.mtu };
    findings.push(
      `${by} fragmented it into ${h.fragments} pieces on ${label}${
        h.mtu !== undefined ? `, MTU ${h.mtu}` : ""
      }` +
        `: ${h.encap ? "the encapsulated packet" : "the packet"} was ${
          prev ? `${outerLen(prev)} bytes on ${prev.where}:${prev.iface}` : "larger"
        }`,
    );
  }
  // An error is seen on every interface it crosses on its way back: say it once.
  const errors = trace.errors.filter((e, i, a) =>
    a.findIndex((x) => x.error!.from === e.error!.from && x.error!.text === e.error!.text) === i
  );
  for (const e of errors) {
    const tooBig = e.error?.mtu !== undefined;
    findings.push(
      `${hostName(c, e.error!.from)} answered ${e.error!.text}${
        tooBig ? ` (next-hop MTU ${e.error!.mtu})` : ""
      }`,
    );
    if (tooBig && !narrowLink) {
      narrowLink = { label: `after ${hostName(c, e.error!.from)}`, mtu: e.error!.mtu! };
    }
  }
  let lostAfter: Hop | undefined;
  if (!trace.reached) {
    lostAfter = req.at(-1);
    if (!lostAfter) findings.push(`no interface saw the probe leave ${trace.probe.from}${sentText(sent)}`);
    else {
      const t = all.find((x) => x.where === lostAfter!.where);
      const dst = lostAfter.encap?.dst ?? trace.probe.dst;
      const srcIp = lostAfter.encap?.src ?? trace.probe.src;
      // Ask the namespace that saw it last how it would forward it from where it came in.
      const r = t
        ? await t.run(["ip", "route", "get", dst, "from", srcIp, "iif", lostAfter.iface])
        : undefined;
      const r2 = t && r?.code !== 0 ? await t.run(["ip", "route", "get", dst]) : undefined;
      const route =
        (r?.code === 0 ? r.stdout : (r?.stderr ?? "") || (r2?.stdout ?? "")).trim().split("\n")[0];
      const where = `${lostAfter.where}:${lostAfter.iface}`;
      if (r && r.code !== 0) {
        findings.push(
          `lost at ${lostAfter.where}: it came in on ${lostAfter.iface} and ${lostAfter.where} cannot forward it to ${dst}: ${
            (r.stderr.trim().replace(/^RTNETLINK answers: /, "") || "no route").toLowerCase()
          }`,
        );
        const why = await agentSays(c, lostAfter.where, trace.probe.dst);
        if (why) findings.push(`${lostAfter.where}'s agent says: ${why}`);
      } else {
        const missing = t && route ? await missingEntry(t, route) : undefined;
        if (missing) findings.push(`lost at ${lostAfter.where}: ${missing}`);
        findings.push(
          `lost after ${where}: ${lostAfter.where} ${
            route ? `would send it "${route}"` : "has a route"
          }, but no interface after it saw the packet (dropped on the way: a firewall, a filter, or the link)`,
        );
      }
    }
  } else if (!trace.answered) {
    findings.push(`reached ${trace.probe.to}, but no answer came back to ${trace.probe.from}`);
  }
  return { trace, findings, ...(narrowLink ? { narrowLink } : {}), ...(lostAfter ? { lostAfter } : {}) };
}

/**
 * Every node's firewall counters (`iptables-save -c`): per rule that drops or rejects, and per built-in chain
 * policy, its packet count, so that a drop while the probe was out shows as a rule whose count moved.
 */
async function counters(all: readonly Target[]): Promise<Map<string, Map<string, number>>> {
  const out = new Map<string, Map<string, number>>();
  await Promise.all(
    all.filter((t) => !t.where.includes("/")).map(async (t) => {
      const r = await t.run(["iptables-save", "-c"]);
      if (r.code !== 0) return;
      const m = new Map<string, number>();
      let table = "";
      const seen = new Map<string, number>();
      for (const line of r.stdout.split("\n")) {
        if (line.startsWith("*")) table = line.slice(1);
        const policy = /^:(\S+) (DROP) \[(\d+):\d+\]/.exec(line);
        if (policy) m.set(`${table}: ${policy[1]} policy DROP`, Number(policy[3]));
        const rule = /^\[(\d+):\d+\] (-A .* -j (?:DROP|REJECT)\b.*)$/.exec(line);
        if (rule) {
          const text = `${table}: ${rule[2]}`;
          const n = (seen.get(text) ?? 0) + 1;
          seen.set(text, n);
          m.set(n > 1 ? `${text} (#${n})` : text, Number(rule[1]));
        }
      }
      out.set(t.where, m);
    }),
  );
  return out;
}

/** The drop rules whose counters moved between two readings, as `node: rule (+N)`. */
export function drops(
  before: ReadonlyMap<string, ReadonlyMap<string, number>>,
  after: ReadonlyMap<string, ReadonlyMap<string, number>>,
): string[] {
  const out: string[] = [];
  for (const [node, rules] of after) {
    for (const [rule, n] of rules) {
      const was = before.get(node)?.get(rule) ?? 0;
      if (n > was) out.push(`${node}: ${rule} (+${n - was})`);
    }
  }
  return out;
}

/**
 * When the route leads through a gateway on a device (a VXLAN route via the peer's .0 on flannel.1), whether the
 * neighbour entry for that gateway or the FDB entry for its MAC is missing: the kernel then cannot build or
 * address the frame.
 */
async function missingEntry(t: Target, route: string): Promise<string | undefined> {
  const m = /via (\S+) dev (\S+)/.exec(route);
  if (!m) return undefined;
  const [, gw, dev] = m;
  if (!/^flannel/.test(dev!)) return undefined;
  const neigh = await t.run(["ip", "-j", "neigh", "show", gw!, "dev", dev!]);
  const n = neigh.code === 0
    ? (JSON.parse(neigh.stdout || "[]") as { lladdr?: string; state?: string[] }[])[0]
    : undefined;
  if (!n?.lladdr || n.state?.some((s) => s === "FAILED" || s === "INCOMPLETE")) {
    return `${dev} has no neighbour entry for ${gw}: the agent has not programmed the peer's VTEP MAC`;
  }
  const fdb = await t.run(["bridge", "-j", "fdb", "show", "dev", dev!]);
  const entries = fdb.code === 0 ? JSON.parse(fdb.stdout || "[]") as { mac: string; dst?: string }[] : [];
  if (!entries.some((e) => e.mac.toLowerCase() === n.lladdr!.toLowerCase() && e.dst)) {
    return `${dev} has no FDB entry for ${n.lladdr} (the VTEP of ${gw}): the kernel does not know where to send it`;
  }
  return undefined;
}

/**
 * What a node's agent last logged about the peer whose subnet holds `ip` (a warning or an error naming its
 * lease key), when it runs one: the reason the kernel has no route, in the agent's words.
 */
async function agentSays(c: Cluster, node: string, ip: string): Promise<string | undefined> {
  if (!c.agentNodes.some((n) => n.name === node)) return undefined;
  const leases = await c.leases().catch(() => []);
  const addr = parseIp(ip);
  const lease = leases.find((l) => netContains(parseCidr(l.subnet), addr));
  if (!lease) return undefined;
  const log = await Deno.readTextFile(`${c.nodeDir(node)}/agent.log`).catch(() => "");
  const key = lease.subnet.replace("/", "-");
  const line = log.split("\n").findLast((l) =>
    /^[EW]\d/.test(l) && (l.includes(key) || l.includes(lease.subnet))
  );
  return line?.replace(/^[EW]\d{4} [\d:.]+ +\S+\] /, "").trim();
}

function outerLen(h: Hop): number {
  return h.encap ? h.packet.len + (h.encap.kind === "vxlan" ? 50 : 28) : h.packet.len;
}

function sentText(sent: { code: number; stdout: string; stderr: string } | undefined): string {
  const out = `${sent?.stderr ?? ""}${sent?.stdout ?? ""}`.trim().split("\n").find((l) =>
    /error|unreach|too long/i.test(l)
  );
  return out ? ` (the sender said: ${out.trim()})` : "";
}

/** A node or pod name for an address, for messages. */
function hostName(c: Cluster, ip: string): string {
  const pod = c.pods.find((p) => p.ip === ip);
  if (pod) return `${pod.id} (${ip})`;
  for (const n of c.topo.nodes) {
    if (Object.values(n.addresses).flat().some((a) => a.split("/")[0] === ip)) return `${n.name} (${ip})`;
  }
  const gw = c.pods.find((p) =>
    p.ip.split(".").slice(0, 3).join(".") === ip.split(".").slice(0, 3).join(".")
  );
  return gw ? `${gw.node} (${ip})` : ip;
}
