/**
 * `firewall`: a node's firewall drops a port on the way in (`drop: udp/8472`), as a security group or a
 * host firewall that forgot the overlay's port would. The rule goes first in INPUT, where the kernel's vxlan
 * socket and the udp backend's socket both receive, carries a comment naming the harness, and is removed at
 * the end of the window or by a later `allow` of the same port.
 *
 * @module
 */
import { Failed } from "../failed.ts";
import type { LabView } from "../lab_view.ts";
import type { FaultKind, FaultOf, Mark } from "./_kind.ts";

/** The comment on the harness's own rules, so an operator reading `iptables -S` knows where they came from. */
const COMMENT = "flannel-lab fault";

function ruleSpec(f: FaultOf<"firewall">): string[] {
  return [
    "INPUT",
    "-p",
    f.proto,
    "--dport",
    String(f.port),
    "-m",
    "comment",
    "--comment",
    COMMENT,
    "-j",
    "DROP",
  ];
}

async function iptables(lab: LabView, node: string, args: string[]): Promise<void> {
  const c = lab.cluster;
  const r = await c.runtime.exec(c.topo, node, ["iptables", "-w", "5", ...args], {
    check: false,
    timeoutMs: 15_000,
  });
  if (r.code !== 0) {
    throw new Failed(
      `iptables ${args.join(" ")} failed on ${node}: ${(r.stderr || r.stdout).trim().slice(-300)}`,
    );
  }
}

/** Whether the harness's drop of this port is in the node's INPUT chain. */
async function dropping(lab: LabView, f: FaultOf<"firewall">): Promise<boolean> {
  const c = lab.cluster;
  const r = await c.runtime.exec(c.topo, f.node, ["iptables", "-w", "5", "-C", ...ruleSpec(f)], {
    check: false,
    timeoutMs: 15_000,
  });
  return r.code === 0;
}

async function drop(lab: LabView, f: FaultOf<"firewall">, mark: Mark): Promise<string> {
  const [chain, ...spec] = ruleSpec(f);
  await iptables(lab, f.node, ["-I", chain!, "1", ...spec]);
  const what = `${f.node}'s firewall drops ${f.proto}/${f.port} on the way in`;
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
  await iptables(lab, f.node, ["-D", ...ruleSpec(f)]);
  const what = `${f.node}'s firewall lets ${f.proto}/${f.port} in again`;
  mark(what);
  return what;
}

export const firewall: FaultKind<"firewall"> = {
  inject: (lab, f, mark) => f.rule === "drop" ? drop(lab, f, mark) : allow(lab, f, mark),
  // Only a drop has a window (the parser refuses `for` on an allow).
  revert: (lab, f, mark) => allow(lab, f, mark),
};
