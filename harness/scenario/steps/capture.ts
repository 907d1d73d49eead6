/**
 * `capture`: tcpdump on a node's interface while a ping runs, then counts what was on the wire: VXLAN packets
 * (by port and VNI), udp-backend packets, pod-addressed packets that crossed unencapsulated, and IP fragments.
 * The pcap is kept in the lab directory.
 *
 * @module
 */
import { expectKeys } from "../expectations.ts";
import { Failed, sleep } from "../failed.ts";
import type { LabView } from "../lab_view.ts";
import type { Outcome, Step } from "../model.ts";
import type { ActionOf, StepKind, Tries } from "./_kind.ts";

/** `capture: {link: node:iface, during: {ping: {...}}}`, expecting what must be on the wire. */
export const capture: StepKind<"capture"> = {
  parse(r, v, path, { podsPerNode }) {
    const c = r.obj(v, path, ["link", "during"], ["link", "during"]);
    const l = c ? r.link(c["link"], [...path, "link"]) : undefined;
    const d = c ? r.obj(c["during"], [...path, "during"], ["ping"], ["ping"]) : undefined;
    const during = d ? r.ping(d["ping"], [...path, "during", "ping"], podsPerNode) : undefined;
    return l && during ? { kind: "capture", node: l.node, iface: l.iface, during } : undefined;
  },
  describe: (a) => `capture on ${a.node}:${a.iface} during ping ${a.during.from} -> ${a.during.to}`,
  expect: expectKeys("vxlan", "udp", "plain-pod-traffic", "unencapsulated-pod-traffic", "fragments"),
  run,
};

function run(
  lab: LabView,
  action: ActionOf<"capture">,
  step: Step,
  tries: Tries,
): Promise<Outcome> {
  return tries.until(async () => {
    const c = lab.cluster;
    const { node, iface, during } = action;
    const e = step.expect;
    const file = `${c.labDir}/captures/step${step.index}-${node}-${iface}.pcap`;
    await Deno.mkdir(`${c.labDir}/captures`, { recursive: true });
    await Deno.remove(file).catch(() => {});
    // --immediate-mode: without it TPACKET_V3 hands packets over a block at a time (or after a 1 s block
    // timeout), and the SIGINT that ends a short capture drops whatever block was still filling.
    const dump = await c.runtime.spawn(c.topo, node, [
      "tcpdump",
      "--immediate-mode",
      "-i",
      iface,
      "-nn",
      "-U",
      "-s",
      "256",
      "-w",
      file,
    ], {
      logFile: `${c.labDir}/captures/tcpdump.log`,
    });
    try {
      // tcpdump creates the file once it listens: until then packets would go uncounted.
      const until = Date.now() + 5000;
      while (Date.now() < until) {
        if ((await Deno.stat(file).catch(() => undefined))?.isFile) break;
        await sleep(50);
      }
      await sleep(200);
      await lab.ping(during);
      await sleep(300);
    } finally {
      await dump.stop("SIGINT");
    }
    // --count, not output lines: tcpdump prints a VXLAN packet's inner packet on a line of its own.
    const count = async (filter: string) => {
      const r = await c.runtime.exec(c.topo, node, ["tcpdump", "-r", file, "-nn", "--count", filter], {
        check: false,
      });
      const n = /^(\d+) packets?\b/m.exec(r.stdout + r.stderr);
      if (r.code !== 0 || !n) {
        throw new Failed(`tcpdump could not count "${filter}" in ${file}: ${(r.stderr || r.stdout).trim()}`);
      }
      return Number(n[1]);
    };
    const problems: string[] = [];
    const found: string[] = [];
    if (e.vxlan) {
      const vniFilter = e.vxlan.vni === undefined ? "" : ` and (udp[12:4] >> 8) = ${e.vxlan.vni}`;
      const n = await count(`udp dst port ${e.vxlan.port}${vniFilter}`);
      found.push(
        `${n} VXLAN packets to port ${e.vxlan.port}${
          e.vxlan.vni !== undefined ? ` with VNI ${e.vxlan.vni}` : ""
        }`,
      );
      if (n < e.vxlan.min) problems.push(`expected at least ${e.vxlan.min} VXLAN packets, saw ${n}`);
    }
    if (e.udp) {
      const n = await count(`udp port ${e.udp.port}`);
      found.push(`${n} UDP packets on port ${e.udp.port}`);
      if (n < e.udp.min) problems.push(`expected at least ${e.udp.min} UDP ${e.udp.port} packets, saw ${n}`);
    }
    const plain = await count(`ip and src net ${lab.network} and dst net ${lab.network}`);
    found.push(`${plain} unencapsulated packets between pod addresses`);
    if (e.plainPodTraffic && plain < e.plainPodTraffic.min) {
      problems.push(`expected at least ${e.plainPodTraffic.min} plain pod packets, saw ${plain}`);
    }
    if (e.unencapsulatedPodTraffic !== undefined && plain > e.unencapsulatedPodTraffic) {
      problems.push(
        `expected at most ${e.unencapsulatedPodTraffic} unencapsulated pod packets, saw ${plain}`,
      );
    }
    if (e.fragments !== undefined) {
      // The fragment offset or the more-fragments flag set: a piece of a packet some hop had to split, as
      // routers do with vxlan's DF-less outer packets on a link narrower than they are.
      const n = await count("ip and (ip[6:2] & 0x3fff) != 0");
      found.push(`${n} IP fragments`);
      if (n > e.fragments) {
        problems.push(
          `expected at most ${e.fragments} IP fragments, saw ${n}: a hop on this link fragments packets`,
        );
      }
    }
    const rel = file.slice(c.labDir.length + 1);
    if (problems.length) throw new Failed(`${problems.join("; ")} (pcap: ${rel})`, found);
    return { message: `${found.join(", ")} (pcap: ${rel})`, details: found, artifacts: [file] };
  });
}
