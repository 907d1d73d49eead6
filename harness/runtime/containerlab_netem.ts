/**
 * Link faults through `containerlab tools netem`: delay and jitter (with any loss and rate given beside them)
 * on a container's interface, and the reset that lifts them. They need the kernel's netem qdisc (sch_netem);
 * loss and rate alone are done the netns runtime's way (an nft random-drop rule, tbf), because this kernel
 * family lacks netem.
 *
 * @module
 */
import { UserError } from "../../cli/errors.ts";
import type { ClabRun } from "./containerlab_cli.ts";
import type { Impairment } from "./runtime.ts";

/** The interface a netem call works on. */
export interface NetemTarget {
  /** The container's name (its long name). */
  readonly container: string;
  /** The node's name in the topology (for messages). */
  readonly node: string;
  readonly iface: string;
}

/**
 * The `containerlab tools netem set` arguments for an impairment that delays, or `undefined` when it does not
 * (a reset, or loss or rate alone). Pure.
 *
 * @param target the container and interface
 * @param impairment the impairment
 * @returns the arguments after the binary
 * @example
 * ```ts
 * import { netemSetArgs } from "./containerlab_netem.ts";
 * const args = netemSetArgs({ container: "clab-a-r1", node: "r1", iface: "eth1" }, { kind: "netem", delayMs: 20 });
 * console.assert(args?.join(" ") === "tools netem set -n clab-a-r1 -i eth1 --delay 20ms");
 * ```
 */
export function netemSetArgs(target: NetemTarget, impairment: Impairment): string[] | undefined {
  if (impairment.kind !== "netem" || impairment.delayMs === undefined) return undefined;
  const args = [
    "tools",
    "netem",
    "set",
    "-n",
    target.container,
    "-i",
    target.iface,
    "--delay",
    `${impairment.delayMs}ms`,
  ];
  if (impairment.jitterMs !== undefined) args.push("--jitter", `${impairment.jitterMs}ms`);
  if (impairment.lossPct !== undefined) args.push("--loss", String(impairment.lossPct));
  if (impairment.rateKbit !== undefined) args.push("--rate", String(impairment.rateKbit));
  return args;
}

/**
 * Delays traffic on the interface when the impairment asks for a delay.
 *
 * @param clab the containerlab runner
 * @param options the container and interface, and the impairment
 * @returns whether containerlab applied it (false: the impairment has no delay, nothing was run)
 * @throws {UserError} when containerlab fails, with sch_netem named as the likely cause
 */
export async function setNetemDelay(
  clab: ClabRun,
  options: { readonly target: NetemTarget; readonly impairment: Impairment },
): Promise<boolean> {
  const args = netemSetArgs(options.target, options.impairment);
  if (!args) return false;
  const r = await clab(args, { check: false, timeoutMs: 30_000 });
  if (r.code !== 0) {
    throw new UserError(
      `containerlab tools netem could not delay traffic on ${options.target.node}:${options.target.iface}: ${
        (r.stderr + r.stdout).trim().slice(-500)
      }`,
      {
        hint: "delay and jitter need the kernel's netem qdisc (sch_netem), which this kernel lacks; " +
          "loss (random-drop rule) and rate (tbf) work without it",
      },
    );
  }
  return true;
}

/**
 * Lifts what `containerlab tools netem` set on the interface (nothing happens when it set nothing).
 *
 * @param clab the containerlab runner
 * @param target the container and interface
 */
export async function resetNetem(clab: ClabRun, target: NetemTarget): Promise<void> {
  await clab(["tools", "netem", "reset", "-n", target.container, "-i", target.iface], {
    check: false,
    timeoutMs: 30_000,
  });
}
