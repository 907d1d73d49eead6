/**
 * `trace: {from, to}`: one marked probe followed through every interface of the lab (`harness/trace/`), so the
 * packet's path becomes a check: which namespaces and interfaces it crosses, how it crosses the underlay
 * (VXLAN, flannel udp, plain), where it is split and on which link, or where it is lost and why. The hops,
 * pcaps and an SVG sequence diagram are kept in the lab directory and shown in the report.
 *
 * @module
 */
import { expectKeys } from "../expectations.ts";
import { Failed } from "../failed.ts";
import { encapPorts } from "../network.ts";
import type { LabView } from "../lab_view.ts";
import type { Outcome, Step } from "../model.ts";
import type { ActionOf, StepKind, Tries } from "./_kind.ts";
import type { Hop } from "../../trace/follow.ts";
import { traceProbe, type TraceRun } from "../../trace/run.ts";
import { traceSvg, traceText } from "../../trace/render.ts";

/** `trace: {from, to, proto, size, dont-fragment}`. */
export const trace: StepKind<"trace"> = {
  parse(r, v, path, { podsPerNode }) {
    const o = r.obj(v, path, ["from", "to", "proto", "size", "dont-fragment"], ["from", "to"]);
    if (!o) return undefined;
    const from = r.endpoint(o["from"], [...path, "from"], podsPerNode, false);
    const to = r.endpoint(o["to"], [...path, "to"], podsPerNode, false);
    const proto = String(o["proto"] ?? "icmp");
    if (proto !== "icmp" && proto !== "udp" && proto !== "tcp") {
      return r.fail([...path, "proto"], "must be icmp, udp or tcp");
    }
    const size = o["size"] === undefined ? undefined : r.int(o["size"], [...path, "size"]);
    if (!from || !to || (o["size"] !== undefined && size === undefined)) return undefined;
    return {
      kind: "trace",
      from,
      to,
      proto,
      ...(size !== undefined ? { size } : {}),
      dontFragment: o["dont-fragment"] === true,
    };
  },
  describe: (a) => `trace ${a.from} -> ${a.to} (${a.proto}${a.size !== undefined ? ` ${a.size} B` : ""})`,
  expect: expectKeys("reaches", "lost-at", "finds", "crosses", "path", "encap", "narrow-link"),
  run,
};

/** An interface between the nodes: not a pod's, not the bridge, a pod's veth or the flannel device. */
function onUnderlay(h: Hop): boolean {
  return !h.where.includes("/") && !/^(cni\d*|flannel[.\d]*|flannel-v6.*|veth.*)$/.test(h.iface);
}

/** The namespaces a request passed, in order, each once per visit. */
function namespaces(hops: readonly Hop[]): string[] {
  return hops.map((h) => h.where).filter((w, i, a) => i === 0 || a[i - 1] !== w);
}

/** What does not hold of a trace against a step's expectations (empty when all do). */
export function traceProblems(r: TraceRun, step: Pick<Step, "expect">): string[] {
  const e = step.expect;
  const t = r.trace;
  const out: string[] = [];
  const wantReach = e.reaches ?? true;
  if (wantReach && !(t.reached && t.answered)) {
    out.push(
      `${t.probe.from} -> ${t.probe.to} ${t.reached ? "got no answer" : "was lost"}: ${
        r.findings.join("; ")
      }`,
    );
  }
  if (!wantReach && t.reached) {
    out.push(`${t.probe.from} -> ${t.probe.to} reached ${t.probe.to}, expected it lost`);
  }
  if (e.lostAt !== undefined && !t.reached && r.lostAfter?.where !== e.lostAt) {
    out.push(
      `the request was lost after ${
        r.lostAfter ? `${r.lostAfter.where}:${r.lostAfter.iface}` : "leaving its pod"
      }, expected at ${e.lostAt}`,
    );
  }
  if (e.finds !== undefined && !r.findings.some((f) => new RegExp(e.finds!).test(f))) {
    out.push(`no finding matches /${e.finds}/ (findings: ${r.findings.join("; ") || "none"})`);
  }
  const seen = t.request.map((h) => `${h.where}:${h.iface}`);
  if (e.crosses) {
    let at = 0;
    for (const want of e.crosses) {
      const i = seen.indexOf(want, at);
      if (i < 0) {
        out.push(`the request did not cross ${want}${at ? ` after ${seen[at - 1]}` : ""}`);
        break;
      }
      at = i + 1;
    }
  }
  if (e.path) {
    const got = namespaces(t.request);
    if (got.join(" ") !== e.path.join(" ")) {
      out.push(`the request passed ${got.join(" > ")}, expected ${e.path.join(" > ")}`);
    }
  }
  if (e.encap) {
    const under = t.request.filter(onUnderlay);
    if (!under.length) out.push("the request crossed no underlay interface");
    for (const h of under) {
      const kind = h.encap?.kind ?? "none";
      if (kind !== e.encap.kind || (e.encap.port !== undefined && h.encap?.dport !== e.encap.port)) {
        out.push(
          `on ${h.where}:${h.iface} the request was ${
            h.encap ? `${h.encap.kind} to UDP ${h.encap.dport}` : "not encapsulated"
          }, expected ${e.encap.kind}${e.encap.port !== undefined ? ` ${e.encap.port}` : ""}`,
        );
        break;
      }
    }
  }
  if (e.narrowLink) {
    const n = r.narrowLink;
    if (!n) out.push("no link split the probe or refused it as too big");
    else {
      if (e.narrowLink.link !== undefined && !new RegExp(e.narrowLink.link).test(n.label)) {
        out.push(`the narrow link is ${n.label}, expected /${e.narrowLink.link}/`);
      }
      if (e.narrowLink.mtu !== undefined && n.mtu !== e.narrowLink.mtu) {
        out.push(`the narrow link's MTU is ${n.mtu}, expected ${e.narrowLink.mtu}`);
      }
    }
  }
  return out;
}

function run(lab: LabView, a: ActionOf<"trace">, step: Step, tries: Tries): Promise<Outcome> {
  const c = lab.cluster;
  let attempt = 0;
  const check = async (): Promise<Outcome> => {
    const dir = `${c.labDir}/traces/step${step.index}${attempt++ ? `-${attempt}` : ""}`;
    const sc = lab.scenario;
    const r = await traceProbe(c, a.from, a.to, {
      proto: a.proto,
      ...(a.size !== undefined ? { size: a.size } : {}),
      dontFragment: a.dontFragment,
      dir,
      ports: encapPorts(sc),
    });
    const svg = `${dir}/trace.svg`;
    const picture = traceSvg(r);
    await Deno.writeTextFile(svg, picture);
    await Deno.writeTextFile(`${dir}/trace.json`, JSON.stringify(r, null, 2) + "\n");
    const details = traceText(r).split("\n");
    const bad = traceProblems(r, step);
    if (bad.length) {
      throw new Failed(bad.join("; "), details, { artifacts: [svg], figures: { svg: picture } });
    }
    const t = r.trace;
    const under = t.request.find((h) => onUnderlay(h));
    const how = under?.encap
      ? `${
        under.encap.kind === "vxlan" ? `VXLAN VNI ${under.encap.vni}` : "flannel udp"
      } to UDP ${under.encap.dport} on the underlay`
      : under
      ? "plain on the underlay"
      : "";
    const message = t.reached
      ? `reached ${a.to} through ${namespaces(t.request).join(" > ")} (${t.request.length} interfaces${
        how ? `, ${how}` : ""
      })${t.answered ? ", answered" : ""}`
      : `lost as expected: ${r.findings.join("; ")}`;
    return { message, details, artifacts: [svg], figures: { svg: picture } };
  };
  return (step.expect.reaches ?? true) ? tries.until(check) : tries.once(check);
}
