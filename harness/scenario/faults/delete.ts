/**
 * `delete`: one kernel entry the agent owns deleted by hand, as an operator (or another program) might: the
 * route to a peer's subnet, its neighbour or FDB entry, the vxlan device itself, or the masquerade rules. The
 * agent must put it back.
 *
 * @module
 */
import type { ExpectKey } from "../expectations.ts";
import { Failed } from "../failed.ts";
import type { DeletableEntry } from "../model.ts";
import { type FaultKind, PROBE_EXPECT } from "./_kind.ts";

/**
 * Every entry the fault can delete, and whether it is about a peer (so the fault names one). Keyed by every
 * {@linkcode DeletableEntry}, so a new one does not compile until it says.
 */
const NEEDS_PEER: Readonly<Record<DeletableEntry, boolean>> = {
  route: true,
  neigh: true,
  fdb: true,
  "vxlan-device": false,
  masquerade: false,
};
const DELETABLE = Object.keys(NEEDS_PEER) as DeletableEntry[];
/** What a deletion may be expected to do: the probe's keys, and the entry put back. */
const EXPECT: readonly ExpectKey[] = [...PROBE_EXPECT, "restored-within"];

function deletable(what: string): what is DeletableEntry {
  return Object.hasOwn(NEEDS_PEER, what);
}

/** `delete: <entry>, node: N` (and `peer: P` for an entry about a peer). */
export const deleteEntry: FaultKind<"delete"> = {
  trigger: "delete",
  form: `delete: ${DELETABLE.join("|")}`,
  selects: () => true,
  keys: ["delete", "node", "peer"],
  parse(r, o, path, win) {
    const what = String(o["delete"]);
    if (!deletable(what)) {
      return r.fail([...path, "delete"], `must be one of ${DELETABLE.join(", ")}`);
    }
    const keys = NEEDS_PEER[what] ? ["delete", "node", "peer"] : ["delete", "node"];
    // Nothing is reverted after a deletion (the agent must restore it), so a window means nothing here.
    if (!r.only(o, path, keys, `deleting a ${what}`)) return undefined;
    const node = r.node(o["node"], [...path, "node"], "node");
    let peer: string | undefined;
    if (NEEDS_PEER[what]) {
      if (o["peer"] === undefined) return r.fail(path, `deleting a ${what} needs peer: <node>`);
      peer = r.node(o["peer"], [...path, "peer"], "node");
      if (!peer) return undefined;
    }
    return node ? { kind: "delete", what, node, ...(peer ? { peer } : {}), ...win } : undefined;
  },
  describe: (f) => `delete ${f.what}${f.peer ? ` to ${f.peer}` : ""} on ${f.node} by hand`,
  what: (f) => `deleting a ${f.what}`,
  expectKeys: EXPECT,
  // The kernel check that judges restored-within does not read iptables.
  expects: (f) => f.what === "masquerade" ? PROBE_EXPECT : EXPECT,
  async inject(lab, f, mark) {
    const c = lab.cluster;
    const dev = `flannel.${lab.scenario.vni}`;
    let cmd: string[];
    let what: string;
    if (f.what === "vxlan-device") {
      cmd = ["ip", "link", "del", dev];
      what = `the vxlan device ${dev}`;
    } else if (f.what === "masquerade") {
      // Both agents keep their masquerade rules in this chain; the jump from POSTROUTING stays, as after a
      // hand-edited ruleset. A running agent puts them back at its next iptables resync.
      cmd = ["iptables", "-w", "5", "-t", "nat", "-F", "FLANNEL-POSTRTG"];
      what = "the masquerade rules (chain FLANNEL-POSTRTG)";
    } else {
      const peer = await lab.leaseOf(f.peer!);
      if (!peer) throw new Failed(`${f.peer} holds no lease: nothing to delete on ${f.node}`);
      const addr = peer.subnet.split("/")[0]!;
      if (f.what === "route") {
        cmd = ["ip", "route", "del", peer.subnet];
        what = `the route to ${peer.subnet}`;
      } else if (f.what === "neigh") {
        cmd = ["ip", "neigh", "del", addr, "dev", dev];
        what = `the neighbour ${addr} on ${dev}`;
      } else {
        if (!peer.mac) throw new Failed(`${f.peer}'s lease has no VtepMAC: no FDB entry to delete`);
        cmd = ["bridge", "fdb", "del", peer.mac, "dev", dev, "dst", peer.publicIp, "self"];
        what = `the FDB entry ${peer.mac} dst ${peer.publicIp}`;
      }
    }
    const r = await c.runtime.exec(c.topo, f.node, cmd, { check: false, timeoutMs: 10_000 });
    if (r.code !== 0) {
      throw new Failed(`could not delete ${what} on ${f.node}: ${(r.stderr || r.stdout).trim()}`);
    }
    const done = `deleted ${what} on ${f.node} (${cmd.join(" ")})`;
    mark(done);
    return done;
  },
  revert: () => Promise.resolve("nothing to revert"),
};
