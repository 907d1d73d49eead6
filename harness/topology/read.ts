/**
 * Reading a topology file from disk (the I/O edge of the pure resolver).
 *
 * @module
 */
import { UserError } from "../../cli/errors.ts";
import type { Topology } from "./model.ts";
import { resolveTopology } from "./resolve.ts";

/** Absolute form of a path. */
export function absolute(path: string): string {
  if (path.startsWith("/")) return path;
  return `${Deno.cwd().replace(/\/$/, "")}/${path.replace(/^\.\//, "")}`;
}

/**
 * Reads, validates and resolves a topology file.
 *
 * @param path the file
 * @returns the resolved topology
 */
export async function readTopology(path: string): Promise<Topology> {
  const file = absolute(path);
  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch (error) {
    throw new UserError(`Cannot read topology "${path}": ${(error as Error).message}`, {
      hint: "pass a containerlab file, e.g. topologies/vxlan-same-subnet.clab.yml",
    });
  }
  return resolveTopology(file, text, { env: Deno.env.toObject() });
}
