/**
 * `delete`: one kernel entry the agent owns deleted by hand, as an operator (or another program) might: the
 * route to a peer's subnet, its neighbour or FDB entry, the vxlan device itself, or the masquerade rules. The
 * agent must put it back.
 *
 * @module
 */
import { Failed } from "../failed.ts";
import type { FaultKind } from "./_kind.ts";

export const deleteEntry: FaultKind<"delete"> = {
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
