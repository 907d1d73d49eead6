/**
 * The `FLANNELD_<NAME>` environment variables, read as coreos `flagutil.SetFlagsFromEnv` reads them for the flags
 * not given on the command line. Pure.
 *
 * The name is `FLANNELD_` + the flag's name upper-cased with `-` → `_` (`FLANNELD_ETCD_ENDPOINTS`,
 * `FLANNELD_LOG_BACKTRACE_AT`); empty values are ignored; a repeatable flag gets exactly one value (no comma
 * splitting); `-version` is never read from the environment, so `FLANNELD_VERSION` has no effect.
 *
 * @module
 */
import { type FlagDef, FLAGS } from "./table.ts";

/**
 * The variable that stands in for a flag.
 *
 * @param flag The flag's name, e.g. `etcd-endpoints`.
 * @returns The variable's name, e.g. `FLANNELD_ETCD_ENDPOINTS`.
 * @example
 * ```ts
 * import { envName } from "./env.ts";
 * console.assert(envName("log_backtrace_at") === "FLANNELD_LOG_BACKTRACE_AT");
 * ```
 */
export function envName(flag: string): string {
  return `FLANNELD_${flag.toUpperCase().replaceAll("-", "_")}`;
}

/** One flag's value found in the environment. */
export interface EnvValue {
  /** The flag. */
  readonly def: FlagDef;
  /** The variable's value (never empty). */
  readonly value: string;
  /** The variable's name, as a value source. */
  readonly source: { readonly env: string };
}

/**
 * The environment's values for the flags not given on the command line, in the order upstream applies them:
 * sorted by flag name (Go's `flag.VisitAll`), so that the first bad value reported is upstream's first.
 *
 * @param env The environment.
 * @param given Whether a flag (by name) was given on the command line.
 * @returns The values to apply, in order.
 * @example
 * ```ts
 * import { envValues } from "./env.ts";
 * const found = envValues({ FLANNELD_IFACE: "eth1", FLANNELD_IP_MASQ: "" }, () => false);
 * console.assert(found.length === 1 && found[0]!.def.name === "iface" && found[0]!.value === "eth1");
 * ```
 */
export function envValues(
  env: Readonly<Record<string, string | undefined>>,
  given: (flag: string) => boolean,
): EnvValue[] {
  const out: EnvValue[] = [];
  for (const def of [...FLAGS].sort((a, b) => (a.name < b.name ? -1 : 1))) {
    if (given(def.name) || def.name === "version") continue;
    const name = envName(def.name);
    const value = env[name];
    if (value === undefined || value === "") continue;
    out.push({ def, value, source: { env: name } });
  }
  return out;
}
