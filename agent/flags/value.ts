/**
 * How one value lands in a flag, as each flag type's Go `Set` method takes it ({@linkcode setFlag}), and where a
 * value came from for messages ({@linkcode Source}). Pure.
 *
 * Go's `flag` types read booleans and integers with `strconv` (`go_strconv.ts`); klog's `-v` is a base-10 int32,
 * and its `-vmodule` and `-log_backtrace_at` are checked for syntax as klog checks them, then kept as written.
 *
 * @module
 */
import { UsageError } from "../../cli/errors.ts";
import { parseGoBool, parseGoInt } from "./go_strconv.ts";
import type { AgentFlags, FlagDef, Mutable } from "./table.ts";

/** Where a value came from, for messages: `flag -name` or the environment variable. */
export type Source = { readonly flag: string } | { readonly env: string };

/**
 * Names a value's source in a message.
 *
 * @param s The source.
 * @returns `flag -name` or the variable's name.
 */
export function sourceText(s: Source): string {
  return "flag" in s ? `flag -${s.flag}` : s.env;
}

/**
 * Applies one value to a flag, as the flag's Go `Set` method would; throws a UsageError for a bad value.
 *
 * @param out The options being filled in; a `list` flag's value is appended, any other replaces the field.
 * @param def The flag.
 * @param value The value as written.
 * @param source Where the value came from, for the message.
 * @throws {UsageError} When the value is not one the flag's type accepts, naming the source and the value.
 * @example
 * ```ts
 * import { setFlag } from "./value.ts";
 * import { BY_NAME, defaults } from "./table.ts";
 * const out = defaults();
 * setFlag(out, BY_NAME.get("healthz-port")!, "0x1f90", { flag: "healthz-port" });
 * console.assert(out.healthzPort === 8080);
 * ```
 */
export function setFlag(out: Mutable<AgentFlags>, def: FlagDef, value: string, source: Source): void {
  const invalid = (why: string) =>
    new UsageError(`Invalid value ${JSON.stringify(value)} for ${sourceText(source)}: ${why}`, {
      hint: `See -help for the flag's meaning; e.g. -${def.name}${
        def.kind === "bool" ? "=true" : def.kind === "int" || def.kind === "level" ? "=1" : "=VALUE"
      }`,
    });
  const o = out as unknown as Record<string, unknown>;
  switch (def.kind) {
    case "string":
      o[def.field] = value;
      return;
    case "list":
      (o[def.field] as string[]).push(value);
      return;
    case "bool": {
      const b = parseGoBool(value);
      if (b === undefined) throw invalid("must be true or false (or 1/0, t/f)");
      o[def.field] = b;
      return;
    }
    case "int": {
      const n = parseGoInt(value, 0);
      if (n === undefined) throw invalid("not an integer");
      o[def.field] = Number(n);
      return;
    }
    case "level": {
      const n = parseGoInt(value, 10);
      if (n === undefined || n < -(1n << 31n) || n >= 1n << 31n) throw invalid("not an integer log level");
      o[def.field] = Number(n);
      return;
    }
    case "vmodule": {
      for (const pat of value.split(",")) {
        if (pat === "") continue;
        const parts = pat.split("=");
        if (parts.length !== 2 || parts[0] === "" || parts[1] === "") {
          throw invalid("expected a comma-separated list of pattern=N");
        }
        const n = parseGoInt(parts[1]!, 10);
        if (n === undefined || n >= 1n << 31n || n < -(1n << 31n)) {
          throw invalid("expected a comma-separated list of pattern=N");
        }
        if (n < 0n) throw invalid("negative value for vmodule level");
      }
      o[def.field] = value;
      return;
    }
    case "trace": {
      if (value !== "") {
        const parts = value.split(":");
        const line = parts.length === 2 ? parseGoInt(parts[1]!, 10) : undefined;
        if (parts.length !== 2 || !parts[0]!.includes(".") || line === undefined || line > (1n << 63n) - 1n) {
          throw invalid("expected file:N, e.g. main.go:123");
        }
        if (line <= 0n) throw invalid("the line number must be positive");
      }
      o[def.field] = value;
      return;
    }
  }
}
