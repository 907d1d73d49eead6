/**
 * The containerlab runtime's commands to containerlab and Docker (a thin I/O shell): `containerlab …` with the
 * environment it needs (the binary installed on first use), and Docker's list of the lab containers
 * containerlab labelled. The reading of `docker ps` output is pure ({@linkcode parseLabContainers}).
 *
 * @module
 */
import { run, type RunResult } from "../../cli/process/mod.ts";
import { CONTAINERLAB_ENV, DOCKER, dockerServerVersion, ensureContainerlab } from "../upstream/mod.ts";

/** Options of a {@linkcode ClabRun} call. */
export interface ClabRunOptions {
  /** `CLAB_LABDIR_BASE`: the directory containerlab puts the lab's own directory in. */
  readonly labdirBase?: string;
  /** Throw on a non-zero exit (default true). */
  readonly check?: boolean;
  /** Default 300 s. */
  readonly timeoutMs?: number;
}

/** Runs containerlab with arguments (no shell), as {@linkcode containerlabRunner} makes it. */
export type ClabRun = (args: readonly string[], options?: ClabRunOptions) => Promise<RunResult>;

/**
 * A runner of containerlab commands. The binary is installed when missing on the first call (a failure names the
 * install command, and the next call tries again); every call gets containerlab's environment without colours.
 *
 * @returns the runner
 */
export function containerlabRunner(): ClabRun {
  let clab: Promise<string> | undefined;
  const binary = (): Promise<string> => {
    clab ??= ensureContainerlab().then((t) => t.path).catch((error) => {
      clab = undefined;
      throw error;
    });
    return clab;
  };
  return async (args, options = {}) => {
    const bin = await binary();
    return await run([bin, ...args], {
      env: {
        ...CONTAINERLAB_ENV,
        NO_COLOR: "1",
        ...(options.labdirBase ? { CLAB_LABDIR_BASE: options.labdirBase } : {}),
      },
      check: options.check ?? true,
      timeoutMs: options.timeoutMs ?? 300_000,
    });
  };
}

/** A lab container as Docker's labels describe it. */
export interface LabContainer {
  readonly id: string;
  readonly name: string;
  readonly lab: string;
  readonly node: string;
  readonly labDir?: string;
  readonly topoFile?: string;
  /** `flannel-lab.role`: present only on the containers of flannel-lab's own labs. */
  readonly role?: string;
}

/**
 * The lab containers in `docker ps --format '{{json .}}'` output (one JSON object a line); containers without a
 * `containerlab` label are left out. Pure.
 *
 * @param stdout the command's output
 * @returns the containers, in Docker's order
 * @example
 * ```ts
 * import { parseLabContainers } from "./containerlab_cli.ts";
 * const line = JSON.stringify({ ID: "c0ffee", Names: "clab-a-n1", Labels: "containerlab=a,clab-node-name=n1" });
 * const [c] = parseLabContainers(`${line}\n`);
 * console.assert(c?.lab === "a" && c.node === "n1" && c.role === undefined);
 * ```
 */
export function parseLabContainers(stdout: string): LabContainer[] {
  const out: LabContainer[] = [];
  for (const line of stdout.split("\n").filter(Boolean)) {
    const c = JSON.parse(line) as { ID: string; Names: string; Labels: string };
    const labels = Object.fromEntries(
      c.Labels.split(",").map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)]),
    );
    if (!labels["containerlab"]) continue;
    out.push({
      id: c.ID,
      name: c.Names,
      lab: labels["containerlab"],
      node: labels["clab-node-name"] ?? c.Names,
      ...(labels["clab-node-lab-dir"] ? { labDir: labels["clab-node-lab-dir"] } : {}),
      ...(labels["clab-topo-file"] ? { topoFile: labels["clab-topo-file"] } : {}),
      ...(labels["flannel-lab.role"] ? { role: labels["flannel-lab.role"] } : {}),
    });
  }
  return out;
}

/**
 * Docker's labelled lab containers, running or not (none when no daemon answers).
 *
 * @param lab only this lab's containers; every lab's when absent
 * @returns the containers
 */
export async function labContainers(lab?: string): Promise<LabContainer[]> {
  if (!(await dockerServerVersion())) return [];
  const r = await run([
    DOCKER,
    "ps",
    "-a",
    "--filter",
    lab ? `label=containerlab=${lab}` : "label=containerlab",
    "--format",
    "{{json .}}",
  ], { check: false, timeoutMs: 30_000 });
  if (r.code !== 0) return [];
  return parseLabContainers(r.stdout);
}
