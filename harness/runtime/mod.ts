/**
 * Runtimes a lab can be deployed on. `netns` (the default) needs nothing but root and iproute2; `containerlab`
 * deploys the same file with real containerlab on Docker (tools installed on first use, see recipes/README.md).
 *
 * @module
 */
import { UsageError } from "../../cli/errors.ts";
import { ContainerlabRuntime } from "./containerlab.ts";
import { NetnsRuntime } from "./netns.ts";
import type { Runtime } from "./runtime.ts";

export * from "./runtime.ts";
export { NetnsRuntime, ownedNamespaces } from "./netns.ts";
export { ContainerlabRuntime } from "./containerlab.ts";
export { ownerMarker, parseMarker } from "./ownership.ts";

/**
 * The runtime named on the command line.
 *
 * @param name `netns` (default) or `containerlab`
 * @returns the runtime
 */
export function openRuntime(name = "netns"): Runtime {
  if (name === "netns") return new NetnsRuntime();
  if (name === "containerlab") return new ContainerlabRuntime();
  throw new UsageError(`Unknown runtime "${name}"`, { hint: "choose netns or containerlab" });
}
