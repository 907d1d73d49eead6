/**
 * Helpers shared by the topology package's tests: a small valid topology to edit, and the problems a broken
 * one is refused with.
 *
 * @module
 */
import { InputError } from "./errors.ts";
import { resolveTopology } from "./resolve.ts";

/** A valid two-node topology (etcd and one node, a default exec, a group, one link) for tests to edit. */
export const GOOD = `name: t1
topology:
  defaults: {kind: linux, cmd: sleep infinity, labels: {flannel-lab.role: node}, exec: [ip link set lo up]}
  groups:
    g: {exec: [ip addr add 10.0.0.1/24 dev eth1]}
  nodes:
    etcd: {labels: {flannel-lab.role: etcd}, exec: [ip addr add 10.0.0.9/24 dev eth1]}
    n1: {group: g}
  links:
    - endpoints: ["n1:eth1", "etcd:eth1"]
`;

/** The message of the {@linkcode InputError} that resolving `text` throws; fails when it resolves. */
export function problemsOf(text: string): string {
  try {
    resolveTopology("/x/t.clab.yml", text);
  } catch (error) {
    if (!(error instanceof InputError)) throw error;
    return error.message;
  }
  throw new Error("expected an InputError");
}
