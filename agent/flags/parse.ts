/**
 * flanneld's command line read with Go's `flag` syntax, then the `FLANNELD_*` variables (`env.ts`) for the flags
 * not given, then the checks upstream makes on the values. Pure.
 *
 * Syntax, as Go's `flag` package: `-name` and `--name` are the same; a value as `-name=value` or `-name value`
 * (the next argument is taken whatever it looks like); a boolean only as `-name` or `-name=false`, never
 * `-name false`; parsing stops at the first non-flag argument (or a lone `-`) and after `--`. How each value is
 * read is `value.ts`'s.
 *
 * Deliberately unlike upstream: an unknown flag or a bad value is a {@linkcode UsageError} (exit 2) with a hint,
 * where upstream prints the usage and exits 0 (command line) or logs and carries on (environment); and
 * `-kube-subnet-mgr` is parsed but refused, as this agent speaks etcd only.
 *
 * @module
 */
import { UsageError } from "../../cli/errors.ts";
import { parseIp } from "../ip.ts";
import { envValues } from "./env.ts";
import { type AgentFlags, BY_NAME, defaults, type FlagDef, type Mutable } from "./table.ts";
import { closestFlag } from "./usage.ts";
import { setFlag, type Source, sourceText } from "./value.ts";

/**
 * Parses the agent's command line and `FLANNELD_*` environment variables like upstream flanneld, then checks
 * the values.
 *
 * @param argv The arguments after the subcommand (no program name).
 * @param env The environment, e.g. `Deno.env.toObject()`.
 * @returns The options. With `help` or `version` set, the environment is not consulted and nothing is checked.
 * @throws {UsageError} For an unknown flag (the hint names the closest known one), bad syntax, a missing or bad
 *   value (naming the flag or the variable and the value), a renew margin outside 1..1439, an iptables resync below
 *   1, a port outside 0..65535, a public IP of the wrong family, and `-kube-subnet-mgr`.
 * @example
 * ```ts
 * import { parseAgentFlags } from "./mod.ts";
 * const flags = parseAgentFlags(["--iface", "eth1", "-ip-masq"], { FLANNELD_ETCD_PREFIX: "/lab/network" });
 * console.assert(flags.iface[0] === "eth1" && flags.ipMasq && flags.etcdPrefix === "/lab/network");
 * ```
 */
export function parseAgentFlags(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): AgentFlags {
  const out = defaults();
  const given = new Map<string, Source>();
  let endpointsRaw: string | undefined;
  const set = (def: FlagDef, value: string, source: Source) => {
    if (def.name === "etcd-endpoints") endpointsRaw = value;
    else setFlag(out, def, value, source);
    given.set(def.name, source);
  };

  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg.length < 2 || arg[0] !== "-") break;
    let minuses = 1;
    if (arg[1] === "-") {
      minuses = 2;
      if (arg.length === 2) break; // "--" ends the flags
    }
    let name = arg.slice(minuses);
    if (name === "" || name[0] === "-" || name[0] === "=") {
      throw new UsageError(`Bad flag syntax: ${arg}`, {
        hint: "Flags look like -name, -name=value or -name value",
      });
    }
    let value: string | undefined;
    const eq = name.indexOf("=");
    if (eq >= 0) [name, value] = [name.slice(0, eq), name.slice(eq + 1)];
    const def = BY_NAME.get(name);
    if (def === undefined) {
      if (name === "h" || name === "help") {
        out.help = true;
        return out;
      }
      const close = closestFlag(name);
      throw new UsageError(`Unknown flag: -${name}`, {
        hint: `Did you mean -${close}? Run with -help to list the flags`,
      });
    }
    if (def.kind === "bool") {
      set(def, value ?? "true", { flag: name });
      continue;
    }
    if (value === undefined) {
      if (i + 1 >= argv.length) {
        throw new UsageError(`Flag -${name} needs a value`, {
          hint: `Write -${name}=VALUE or -${name} VALUE`,
        });
      }
      value = argv[++i]!;
    }
    set(def, value, { flag: name });
  }

  // -version is acted on before the environment is read (so FLANNELD_VERSION does nothing), as upstream.
  if (out.version) return finish(out, endpointsRaw, given);

  // Upstream visits flags in lexicographic order; the first bad value stops us.
  for (const { def, value, source } of envValues(env, (name) => given.has(name))) set(def, value, source);
  const flags = finish(out, endpointsRaw, given);
  validate(flags, given);
  return flags;
}

function finish(
  out: Mutable<AgentFlags>,
  endpointsRaw: string | undefined,
  given: Map<string, Source>,
): AgentFlags {
  if (endpointsRaw !== undefined) {
    out.etcdEndpoints = endpointsRaw.split(",").map((e) => e.trim()).filter((e) => e !== "");
    if (out.etcdEndpoints.length === 0) {
      throw new UsageError(
        `Invalid value ${JSON.stringify(endpointsRaw)} for ${
          sourceText(given.get("etcd-endpoints")!)
        }: no endpoint`,
        { hint: "Give a comma-separated list such as http://127.0.0.1:2379" },
      );
    }
  }
  return out;
}

function validate(flags: AgentFlags, given: Map<string, Source>): void {
  const where = (name: string) => {
    const s = given.get(name);
    return s ? sourceText(s) : `flag -${name}`;
  };
  const check = (ok: boolean, name: string, value: unknown, why: string, hint: string) => {
    if (!ok) {
      throw new UsageError(`Invalid value ${JSON.stringify(String(value))} for ${where(name)}: ${why}`, {
        hint,
      });
    }
  };
  check(
    flags.subnetLeaseRenewMargin >= 1 && flags.subnetLeaseRenewMargin <= 1439,
    "subnet-lease-renew-margin",
    flags.subnetLeaseRenewMargin,
    "must be 1 to 1439 minutes (leases last 24 hours)",
    "The default, 60, renews each lease an hour before it expires",
  );
  check(
    flags.iptablesResync >= 1,
    "iptables-resync",
    flags.iptablesResync,
    "must be at least 1 second",
    "The default is 5",
  );
  check(
    flags.healthzPort >= 0 && flags.healthzPort <= 65535,
    "healthz-port",
    flags.healthzPort,
    "must be a TCP port, 0 to 65535 (0 = no health server)",
    "E.g. -healthz-port=8471",
  );
  const isFamily = (text: string, family: 4 | 6) => {
    try {
      return parseIp(text).family === family;
    } catch {
      return false;
    }
  };
  if (flags.publicIp !== "") {
    check(
      isFamily(flags.publicIp, 4),
      "public-ip",
      flags.publicIp,
      "not an IPv4 address",
      "E.g. -public-ip=192.0.2.10",
    );
  }
  if (flags.publicIpv6 !== "") {
    check(
      isFamily(flags.publicIpv6, 6),
      "public-ipv6",
      flags.publicIpv6,
      "not an IPv6 address",
      "E.g. -public-ipv6=2001:db8::10",
    );
  }
  if (flags.kubeSubnetMgr) {
    throw new UsageError(`Kubernetes mode is not supported; use etcd (${where("kube-subnet-mgr")} is true)`, {
      hint: "Drop -kube-subnet-mgr and point -etcd-endpoints at your etcd cluster",
    });
  }
}
