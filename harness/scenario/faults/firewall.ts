/**
 * `firewall`: a node's firewall drops a port (`drop: udp/8472`), as a security group or a host firewall that
 * forgot the overlay's port would, or (`drop: tcp/2379` on the etcd node) as a partition from etcd. The rules
 * go first in INPUT, where the kernel's vxlan socket and the udp backend's socket both receive, and OUTPUT,
 * carry a comment naming the harness, and are removed at the end of the window or by a later `allow`.
 *
 * @module
 */
import { Failed } from "../failed.ts";
import type { LabView } from "../lab_view.ts";
import { type FaultKind, type FaultOf, type Mark, PROBE_EXPECT } from "./_kind.ts";

/** The comment on the harness's own rules, so an operator reading `iptables -S` knows where they came from. */
const COMMENT = "flannel-lab fault";

/**
 * The two rules of a drop: what comes in to the port, and what the node sends from it. Both, because a drop
 * in one direction is no partition: an etcd server whose clients' ACKs are dropped still pushes watch events
 * out. `! -i lo` / `! -o lo` keep the node's own clients working (etcdctl on the etcd node, which the harness
 * uses). A vxlan sender's source port is hashed, not 8472, so the second rule leaves a node's own outgoing
 * VXLAN alone.
 */
function ruleSpecs(f: FaultOf<"firewall">): [chain: string, ...spec: string[]][] {
  const port = String(f.port);
  const tail = ["-m", "comment", "--comment", COMMENT, "-j", "DROP"];
  return [
    ["INPUT", "!", "-i", "lo", "-p", f.proto, "--dport", port, ...tail],
    ["OUTPUT", "!", "-o", "lo", "-p", f.proto, "--sport", port, ...tail],
  ];
}

/** Runs iptables on a node; returns whether it succeeded, or (`check`) throws what it said when it did not. */
async function iptables(lab: LabView, node: string, args: string[], check = true): Promise<boolean> {
  const c = lab.cluster;
  const r = await c.runtime.exec(c.topo, node, ["iptables", "-w", "5", ...args], {
    check: false,
    timeoutMs: 15_000,
  });
  if (r.code !== 0 && check) {
    throw new Failed(
      `iptables ${args.join(" ")} failed on ${node}: ${(r.stderr || r.stdout).trim().slice(-300)}`,
    );
  }
  return r.code === 0;
}

/** Whether the harness's drop of this port is in the node's firewall. */
function dropping(lab: LabView, f: FaultOf<"firewall">): Promise<boolean> {
  return iptables(lab, f.node, ["-C", ...ruleSpecs(f)[0]!], false);
}

async function drop(lab: LabView, f: FaultOf<"firewall">, mark: Mark): Promise<string> {
  for (const [chain, ...spec] of ruleSpecs(f)) await iptables(lab, f.node, ["-I", chain, "1", ...spec]);
  const what = `${f.node}'s firewall drops ${f.proto}/${f.port}`;
  mark(what);
  return what;
}

async function allow(lab: LabView, f: FaultOf<"firewall">, mark: Mark): Promise<string> {
  if (!await dropping(lab, f)) {
    throw new Failed(
      `${f.node}'s firewall has no flannel-lab drop of ${f.proto}/${f.port} to lift: ` +
        `an earlier step must drop it without a window (fault: {firewall: ${f.node}, drop: ${f.proto}/${f.port}})`,
    );
  }
  for (const rule of ruleSpecs(f)) await iptables(lab, f.node, ["-D", ...rule]);
  const what = `${f.node}'s firewall lets ${f.proto}/${f.port} through again`;
  mark(what);
  return what;
}

/** `firewall: N, drop: proto/port` (with a window or not), or `firewall: N, allow: proto/port`. */
export const firewall: FaultKind<"firewall"> = {
  trigger: "firewall",
  form: "drop: proto/port | allow: proto/port",
  selects: () => true,
  keys: ["firewall", "drop", "allow"],
  parse(r, o, path, win) {
    const rule = "allow" in o ? "allow" : "drop";
    if ("allow" in o && "drop" in o) {
      return r.fail(path, "a firewall step either drops a port or allows it again, not both");
    }
    const allowed = rule === "drop" ? ["firewall", "drop", "for"] : ["firewall", "allow"];
    if (!r.only(o, path, allowed, rule === "drop" ? "a firewall drop" : "lifting a firewall drop")) {
      return undefined;
    }
    // Any node: a drop of tcp/2379 on the etcd node cuts every agent off from etcd.
    const node = r.node(o["firewall"], [...path, "firewall"]);
    const m = /^(udp|tcp)\/(\d{1,5})$/.exec(String(o[rule] ?? "").trim());
    const port = m ? Number(m[2]) : 0;
    if (!m || port < 1 || port > 65535) {
      return r.fail([...path, rule], `must be a protocol and port like udp/8472 or tcp/2379`);
    }
    return node ? { kind: "firewall", node, rule, proto: m[1] as "udp" | "tcp", port, ...win } : undefined;
  },
  describe: (f) =>
    `${f.node}'s firewall ${f.rule === "drop" ? "drops" : "lets in"} ${f.proto}/${f.port}${
      f.forMs !== undefined ? ` for ${f.forMs / 1000} s` : ""
    }`,
  what: (f) => f.rule === "drop" ? "a firewall drop" : "lifting a firewall drop",
  expectKeys: PROBE_EXPECT,
  inject: (lab, f, mark) => f.rule === "drop" ? drop(lab, f, mark) : allow(lab, f, mark),
  // Only a drop has a window (the parser refuses `for` on an allow).
  revert: (lab, f, mark) => allow(lab, f, mark),
};
