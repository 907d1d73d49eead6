/**
 * What the agent tells a user about its flags: the `-help` listing in the style of Go's `flag.PrintDefaults`
 * ({@linkcode agentUsage}) and the "did you mean" for an unknown flag ({@linkcode closestFlag}). Pure.
 *
 * @module
 */
import { FLAGS } from "./table.ts";

/** Levenshtein distance, for "did you mean". */
function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length]!;
}

/**
 * The known flag closest to an unknown name.
 *
 * @param name The unknown name, without the leading `-`.
 * @returns The name of the closest known flag.
 * @example
 * ```ts
 * import { closestFlag } from "./usage.ts";
 * console.assert(closestFlag("ifcae") === "iface");
 * ```
 */
export function closestFlag(name: string): string {
  const lower = name.toLowerCase().replaceAll("_", "-");
  let best = FLAGS[0]!.name;
  let bestScore = Infinity;
  for (const f of FLAGS) {
    const candidate = f.name.replaceAll("_", "-");
    // A known flag that starts with what was typed (an abbreviation) counts as close.
    const score = candidate.startsWith(lower) && lower.length >= 3 ? 0.5 : editDistance(lower, candidate);
    if (score < bestScore) [best, bestScore] = [f.name, score];
  }
  return best;
}

/** Go's `strconv.Quote` for the printable ASCII our defaults use. */
function goQuote(s: string): string {
  return JSON.stringify(s);
}

/**
 * The flag listing, in the style of Go's `flag.PrintDefaults` (sorted by name; `-name type` then the usage on an
 * indented line; non-zero defaults shown), preceded by a usage line as upstream prints it.
 *
 * @param program The command shown in the usage line.
 * @returns The text, ending with a newline.
 * @example
 * ```ts
 * import { agentUsage } from "./usage.ts";
 * console.assert(agentUsage("flanneld").includes("\n  -ip-masq\n    \tsetup IP masquerade rule"));
 * ```
 */
export function agentUsage(program = "flannel-lab agent"): string {
  let out = `Usage: ${program} [OPTION]...\n`;
  for (const def of [...FLAGS].sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const type = def.kind === "bool"
      ? ""
      : def.kind === "string"
      ? "string"
      : def.kind === "int"
      ? "int"
      : "value";
    let line = `  -${def.name}${type ? ` ${type}` : ""}`;
    line += line.length <= 4 ? "\t" : "\n    \t";
    line += def.usage;
    if (def.shown !== undefined) {
      line += ` (default ${def.kind === "string" ? goQuote(def.shown) : def.shown})`;
    }
    out += `${line}\n`;
  }
  return out;
}
