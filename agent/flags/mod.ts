/**
 * flanneld's command line: upstream v0.28.9's flags (`main.go`) with Go's `flag` syntax, then `FLANNELD_<NAME>`
 * environment variables (coreos `flagutil.SetFlagsFromEnv`) for flags not given on the command line. Pure.
 *
 * Syntax, as Go's `flag` package: `-name` and `--name` are the same; a value as `-name=value` or `-name value`
 * (the next argument is taken whatever it looks like); a boolean only as `-name` or `-name=false`, never
 * `-name false`; parsing stops at the first non-flag argument (or a lone `-`) and after `--`. Integers are read
 * like Go's `strconv.ParseInt(s, 0, 64)`: `0x1f`, `0o17`, `017` (octal!), `0b101`, `1_000` are all numbers.
 *
 * Environment: `FLANNELD_` + the flag's name upper-cased with `-` → `_` (`FLANNELD_ETCD_ENDPOINTS`,
 * `FLANNELD_LOG_BACKTRACE_AT`); empty values are ignored; a repeatable flag gets exactly one value (no comma
 * splitting); `-version` is looked at before the environment, so `FLANNELD_VERSION` has no effect.
 *
 * Deliberately unlike upstream: an unknown flag or a bad value is a `UsageError` (exit 2) with a hint, where
 * upstream prints the usage and exits 0 (command line) or logs and carries on (environment); and
 * `-kube-subnet-mgr` is parsed but refused, as this agent speaks etcd only.
 *
 * Files: `table.ts` (every flag, its field, help and default), `parse.ts` ({@linkcode parseAgentFlags}),
 * `value.ts` (how a value lands in a flag), `go_strconv.ts` (Go's `ParseBool`/`ParseInt`), `env.ts` (the
 * `FLANNELD_*` fallback), `usage.ts` ({@linkcode agentUsage}, "did you mean").
 *
 * @example
 * ```ts
 * import { agentUsage, parseAgentFlags } from "./mod.ts";
 * const flags = parseAgentFlags(["-help"], {});
 * if (flags.help) console.assert(agentUsage().startsWith("Usage: flannel-lab agent [OPTION]...\n"));
 * ```
 *
 * @module
 */
export { parseAgentFlags } from "./parse.ts";
export type { AgentFlags } from "./table.ts";
export { agentUsage, closestFlag } from "./usage.ts";
