/**
 * Runtimes a lab can be deployed on. `netns` (the default) needs nothing but root and iproute2.
 *
 * @module
 */
import { UsageError } from "../../cli/errors.ts";
import { NetnsRuntime } from "./netns.ts";
import type { Runtime } from "./runtime.ts";

export * from "./runtime.ts";
export { NetnsRuntime, ownedNamespaces } from "./netns.ts";
export { ownerMarker, parseMarker } from "./ownership.ts";

/**
 * The runtime named on the command line.
 *
 * @param name `netns` (default) or `containerlab`
 * @returns the runtime
 */
export function openRuntime(name = "netns"): Runtime {
  if (name === "netns") return new NetnsRuntime();
  if (name === "containerlab") {
    throw new UsageError(`The containerlab runtime is not available yet`, { hint: "use --runtime netns" });
  }
  throw new UsageError(`Unknown runtime "${name}"`, { hint: "choose netns or containerlab" });
}
