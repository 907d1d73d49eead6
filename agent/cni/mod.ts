/**
 * The `flannel` CNI plugin: a meta-plugin that reads the flannel agent's subnet.env, builds the configuration of
 * the standard `bridge` plugin (host-local IPAM over the node's subnet, a route to the flannel network) exactly as
 * upstream's `flannel-io/cni-plugin` does, saves it, and delegates ADD, DEL and CHECK to it.
 *
 * - `main.ts`: the entry (`flannel-lab cni`, and any invocation with CNI_COMMAND set)
 * - `plugin.ts`: the commands, over an injected {@linkcode PluginIo}; its module doc lists the differences from
 *   upstream
 * - pure: `netconf.ts` (CNI_* variables, stdin), `version.ts`, `subnet_env.ts`, `delegate_config.ts`,
 *   `go_json.ts` (Go-identical rendering), `result.ts`, `errors.ts`
 * - I/O: `io.ts`; `install.ts` (the `install` subcommand)
 *
 * @module
 */
export { main } from "./main.ts";
export { type Outcome, runPlugin } from "./plugin.ts";
export type { ExecResult, PluginIo } from "./plugin_io.ts";
export { savedPath } from "./saved_config.ts";
export { buildDelegateConfig, type DelegateConfig, renderDelegateConfig } from "./delegate_config.ts";
export { parseSubnetEnv, type SubnetEnv, SubnetEnvError } from "./subnet_env.ts";
export { CniError, ErrorCode } from "./errors.ts";
export { installPlugin } from "./install.ts";
