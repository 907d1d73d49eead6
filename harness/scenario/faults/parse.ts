/**
 * Reads a fault mapping (`fault: {link: r1:eth1, set: down, for: 2s}`) with the kind it turns out to be. Knows
 * no kind: the keys, the triggers and the forms named in its messages all come from the kinds in the table
 * (`mod.ts`), and each kind reads and checks its own form. Pure.
 *
 * @module
 */
import type { Fault } from "../model.ts";
import type { Path, Reader } from "../reader.ts";
import { faultKinds } from "./mod.ts";

/** Each value once, in the order first seen. */
function unique(values: readonly string[]): string[] {
  return [...new Set(values)];
}

/**
 * Parses a fault. The mapping's keys must be keys some kind uses (or `for`, its window); exactly one trigger
 * key must be present, and the first kind of that trigger that selects the mapping reads it.
 *
 * @param r the reader
 * @param v the value of the step's `fault:`
 * @param path where it is
 * @returns the fault, or undefined when it is wrong (the problems are recorded)
 */
export function parseFault(r: Reader, v: unknown, path: Path): Fault | undefined {
  const kinds = faultKinds();
  const o = r.obj(v, path, unique([...kinds.flatMap((k) => k.keys), "for"]));
  if (!o) return undefined;
  // Read for every kind, so a bad duration is reported even where the kind then refuses a window.
  const forMs = o["for"] === undefined ? undefined : r.duration(o["for"], [...path, "for"]);
  const win = forMs !== undefined ? { forMs } : {};
  const triggers = unique(kinds.map((k) => k.trigger));
  const present = triggers.filter((t) => t in o);
  if (present.length !== 1) {
    return r.fail(
      path,
      present.length
        ? `a fault does one thing; found ${present.join(" and ")}`
        : `a fault needs one of ${triggers.join(", ")}`,
    );
  }
  const trigger = present[0]!;
  const sharing = kinds.filter((k) => k.trigger === trigger);
  const kind = sharing.find((k) => k.selects(o));
  if (!kind) return r.fail(path, `a ${trigger} fault needs one of ${sharing.map((k) => k.form).join(", ")}`);
  return kind.parse(r, o, path, win);
}
