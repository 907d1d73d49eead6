/**
 * What the lab commands share: their common options, argument parsing with usage errors, the topology argument
 * (`-t` or positional, as containerlab users type it), `--agent`, the root check, and the runtime of a lab that
 * is already up.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { UsageError, UserError } from "../../cli/errors.ts";
import type { AgentKind } from "../topology/model.ts";

/** The options every lab command takes, as containerlab's do. */
export const COMMON = {
  topo: { type: "string", short: "t" },
  runtime: { type: "string", short: "r" },
  "lab-dir": { type: "string" },
  name: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

/**
 * The runtime a command on an existing lab uses: `--runtime` when given, else the one its state file names (or
 * containerlab when its rendered copy is there), else netns — so `down`, `inspect` and `exec` find a lab that
 * `up --runtime containerlab` started without being told again.
 */
export async function runtimeFor(given: string | undefined, dir: string): Promise<string> {
  if (given) return given;
  try {
    const state = JSON.parse(await Deno.readTextFile(`${dir}/state.json`)) as { runtime?: string };
    if (state.runtime) return state.runtime;
  } catch { /* no state */ }
  try {
    await Deno.stat(`${dir}/containerlab`);
    return "containerlab";
  } catch {
    return "netns";
  }
}

/** Parses a command's arguments; a mistake is a usage error that shows the command's usage. */
export function parse<
  T extends Record<string, { type: "string" | "boolean"; short?: string; default?: string | boolean }>,
>(
  usage: string,
  args: string[],
  options: T,
): ReturnType<typeof parseArgs<{ args: string[]; options: T; allowPositionals: true; strict: true }>> {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message, { hint: usage });
  }
}

/** The topology file: `-t/--topo` or the first positional argument. */
export function topoArg(
  usage: string,
  values: { topo?: string | undefined },
  positionals: string[],
  optional = false,
): string | undefined {
  const file = values.topo ?? positionals[0];
  if (!file && !optional) throw new UsageError("No topology file given", { hint: usage });
  return file;
}

/** `--agent`: ours or upstream, or undefined to keep the topology's labels. */
export function agentArg(v: string | undefined, usage: string): AgentKind | undefined {
  if (v === undefined) return undefined;
  if (v !== "ours" && v !== "upstream") {
    throw new UsageError(`--agent must be ours or upstream, not "${v}"`, { hint: usage });
  }
  return v;
}

/** Labs make network namespaces: refuse early, with the fix, when not root. */
export function needRoot(): void {
  if (Deno.uid() !== 0) {
    throw new UserError("Labs create network namespaces and need root", { hint: "run as root" });
  }
}
