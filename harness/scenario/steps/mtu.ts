/**
 * `mtu: all-pod-paths`: every node announces the pod MTU its underlay allows; between every cross-node pod pair
 * a DF ping at that MTU passes and one byte more fails locally; and the underlay between the two nodes carries
 * the backend's full-size outer packets. The last part finds a pinch the pod probe cannot see: vxlan's outer
 * packets carry no DF, so a narrow router link fragments them and pod pings still pass while TCP crawls.
 *
 * @module
 */
import { classifyDfPing, linksWithMtu, ownerOf, pinchSymptom } from "../../checks/path_mtu.ts";
import { expectedPodMtu, expectedReach, OVERHEAD } from "../expect.ts";
import { expectKeys } from "../expectations.ts";
import { Failed } from "../failed.ts";
import type { LabView } from "../lab_view.ts";
import type { Outcome, Step } from "../model.ts";
import type { ActionOf, StepKind, Tries } from "./_kind.ts";

/** `mtu: all-pod-paths`. */
export const mtu: StepKind<"mtu"> = {
  parse: (r, v, path) =>
    v === "all-pod-paths" ? { kind: "mtu", scope: "all-pod-paths" } : r.fail(path, `must be all-pod-paths`),
  describe: () => "MTU on every cross-node pod path",
  expect: expectKeys(),
  run,
};

function run(lab: LabView, _action: ActionOf<"mtu">, _step: Step, tries: Tries): Promise<Outcome> {
  return tries.until(async () => {
    const c = lab.cluster;
    const details: string[] = [];
    const problems: string[] = [];
    const nodes = c.agentNodes.filter((n) => c.pods.some((p) => p.node === n.name));
    let paths = 0;
    let underlays = 0;
    for (const a of nodes) {
      const env = await c.subnetEnv(a.name);
      const podMtu = Number(env?.["FLANNEL_MTU"]);
      const want = expectedPodMtu(c.topo, lab.scenario, a);
      if (want !== undefined && podMtu !== want) {
        problems.push(`${a.name}: FLANNEL_MTU ${podMtu}, expected ${want}`);
      }
      for (const b of nodes) {
        if (a === b || !expectedReach(lab.scenario, a, b).pass) continue;
        // Every pod pair across the two nodes: pods of one node share its MTU, but a pod set up wrongly
        // (a CNI retry, a stale veth) would not.
        for (const from of c.pods.filter((p) => p.node === a.name)) {
          for (const to of c.pods.filter((p) => p.node === b.name)) {
            paths++;
            const r = await podPath(lab, from.id, to.id, podMtu);
            details.push(r.detail);
            problems.push(...r.problems);
          }
        }
        const underlay = await underlayPath(lab, a.name, b.name, podMtu);
        if (underlay) {
          underlays++;
          details.push(underlay.detail);
          if (underlay.problem) problems.push(underlay.problem);
        }
      }
    }
    if (problems.length) throw new Failed(problems.join("; "), details);
    return {
      message:
        `DF at pod MTU passes and +1 fails locally, and the underlay carries the backend's full-size ` +
        `packets, on ${paths} pod paths and ${underlays} underlay paths`,
      details,
    };
  });
}

/** DF pings from one pod to another at the pod MTU (must pass) and one byte over (must fail locally). */
async function podPath(
  lab: LabView,
  from: string,
  to: string,
  podMtu: number,
): Promise<{ detail: string; problems: string[] }> {
  const size = podMtu - 28;
  const at = await lab.ping({ from, to, count: 1, size, dontFragment: true });
  const over = await lab.ping({ from, to, count: 1, size: size + 1, dontFragment: true });
  const local = /too long/i.test(over.out);
  const fragNeeded = /frag needed|mtu = /i.test(over.out);
  const detail = `${from} -> ${to}: DF ${size} bytes ${at.ok ? "passes" : "FAILS"}; ${size + 1} bytes ${
    over.ok
      ? "PASSES (expected to fail)"
      : local
      ? "fails locally (message too long)"
      : fragNeeded
      ? "gets a fragmentation-needed reply (the pod MTU is larger than the path)"
      : "is lost silently (blackhole)"
  }`;
  const problems: string[] = [];
  if (!at.ok) {
    const why = classifyDfPing(false, at.out);
    problems.push(
      `${from} -> ${to}: DF ping at pod MTU ${podMtu} failed${
        why.kind === "frag-needed"
          ? ` with fragmentation-needed from ${lab.hopName(why.from)} (mtu = ${why.mtu})`
          : why.kind === "lost"
          ? " silently (a blackhole)"
          : ""
      }`,
    );
  }
  if (over.ok || !local) problems.push(`${from} -> ${to}: pod MTU + 1 did not fail locally`);
  return { detail, problems };
}

/**
 * Probes the underlay between two nodes' public addresses with DF at the size of the backend's outer packets
 * for a full-size pod packet (pod MTU + encapsulation overhead). Finds the path MTU from the router's
 * fragmentation-needed answer or, when none comes back, by bisection; then forgets what the probe taught the
 * kernel (`ip route flush cache`), so later steps see the lab as it was.
 */
async function underlayPath(
  lab: LabView,
  a: string,
  b: string,
  podMtu: number,
): Promise<{ detail: string; problem?: string } | undefined> {
  const [src, dst] = [await lab.leaseOf(a), await lab.leaseOf(b)];
  if (!src?.publicIp || !dst?.publicIp) return undefined;
  const backend = lab.scenario.backend;
  const overhead = OVERHEAD[backend] ?? 0;
  const want = podMtu + overhead;
  const node = lab.endpoint(a);
  const probe = async (size: number) => {
    const r = await node.run([
      "ping",
      "-n",
      "-c",
      "1",
      "-W",
      "1",
      "-M",
      "do",
      "-s",
      String(size - 28),
      dst.publicIp,
    ]);
    return classifyDfPing(r.code === 0, r.stdout + r.stderr);
  };
  try {
    const first = await probe(want);
    const path = `${a} (${src.publicIp}) -> ${b} (${dst.publicIp})`;
    if (first.kind === "passed") return { detail: `underlay ${path}: DF ${want} bytes pass` };
    let pathMtu: number | undefined;
    let hop: string | undefined;
    if (first.kind === "frag-needed") [pathMtu, hop] = [first.mtu, first.from];
    else if (first.kind === "local" && first.mtu !== undefined) pathMtu = first.mtu;
    else {
      // No answer: find the largest size that passes.
      let [lo, hi] = [68, want - 1];
      while (lo < hi) {
        const mid = Math.ceil((lo + hi) / 2);
        if ((await probe(mid)).kind === "passed") lo = mid;
        else hi = mid - 1;
      }
      pathMtu = lo;
    }
    const where = hop
      ? `fragmentation-needed from ${lab.hopName(hop)}`
      : "no ICMP came back; found by probing";
    const owner = hop ? ownerOf(lab.cluster.topo, hop) : undefined;
    const narrow = owner ? linksWithMtu(lab.cluster.topo, owner.node.name, pathMtu).map((l) => l.label) : [];
    return {
      detail: `underlay ${path}: DF ${want} bytes fail, the path carries at most ${pathMtu} bytes (${where}${
        narrow.length ? `; narrow link ${narrow.join(", ")}` : ""
      })`,
      problem: `the underlay ${path} carries at most ${pathMtu} bytes (${where}${
        narrow.length ? `, link ${narrow.join(", ")}` : ""
      }), but ${backend} at pod MTU ${podMtu} sends ${want}-byte packets: ${
        pinchSymptom(backend)
      }. A pod MTU of ${pathMtu - overhead} would fit (set Backend.MTU, or the interface MTU)`,
    };
  } finally {
    await node.run(["ip", "route", "flush", "cache"]);
  }
}
