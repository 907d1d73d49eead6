/**
 * `exec`: a shell command run on a node, for the changes no other fault kind names: a MAC rewritten behind the
 * agent's back, a firewall policy, an address moved. With a window (`for:`) its `undo` command is run at the
 * end. A command that exits non-zero fails the step with its output, so a typo is not mistaken for a fault.
 *
 * @module
 */
import { Failed } from "../failed.ts";
import type { LabView } from "../lab_view.ts";
import { type FaultKind, PROBE_EXPECT } from "./_kind.ts";

async function sh(lab: LabView, node: string, command: string): Promise<void> {
  const r = await lab.endpoint(node).run(["sh", "-c", command]);
  if (r.code !== 0) {
    throw new Failed(
      `on ${node}, "${command}" exited ${r.code}: ${(r.stderr.trim() || r.stdout.trim()).slice(-300)}`,
    );
  }
}

/** `exec: COMMAND, on: NODE[, undo: COMMAND]`. */
export const exec: FaultKind<"exec"> = {
  trigger: "exec",
  form: "exec: COMMAND, on: NODE",
  selects: () => true,
  keys: ["exec", "on", "undo"],
  parse(r, o, path, win) {
    if (!r.only(o, path, ["exec", "on", "undo", "for"], "a command")) return undefined;
    const node = r.node(o["on"], [...path, "on"]);
    const command = o["exec"];
    if (typeof command !== "string" || !command.trim()) return r.fail([...path, "exec"], "must be a command");
    const undo = o["undo"];
    if (undo !== undefined && (typeof undo !== "string" || !undo.trim())) {
      return r.fail([...path, "undo"], "must be a command");
    }
    if (win.forMs !== undefined && undo === undefined) {
      return r.fail(path, "a command with a window (for) needs the command that undoes it (undo)");
    }
    if (!node) return undefined;
    return { kind: "exec", on: node, command, ...(undo !== undefined ? { undo } : {}), ...win };
  },
  describe: (f) => `on ${f.on}: ${f.command}`,
  what: () => "a command",
  expectKeys: PROBE_EXPECT,
  async inject(lab, f, mark) {
    await sh(lab, f.on, f.command);
    mark(`${f.on}: ${f.command}`);
    return `ran "${f.command}" on ${f.on}`;
  },
  async revert(lab, f, mark) {
    await sh(lab, f.on, f.undo!);
    mark(`${f.on}: ${f.undo}`);
    return `ran "${f.undo}" on ${f.on}`;
  },
};
