/**
 * {@linkcode ConfigError}, the one error the network config parser throws, and the helpers that build its
 * messages in one shape: `Invalid network config: "<field>" is <value as written>: <what is wrong>`. Pure.
 *
 * @module
 */
import type { GoJsonNode } from "../go_json.ts";

/** Thrown for a network config that upstream flanneld would refuse, or that we refuse on top (see `mod.ts`). */
export class ConfigError extends SyntaxError {
  override name = "ConfigError";
  /** The offending field as written in the config's terms, e.g. `SubnetLen` or `Backend.VNI`; `""` for the document. */
  readonly field: string;
  /** The offending value as decoded from JSON (`undefined` when the field is missing or the JSON is broken). */
  readonly value: unknown;

  /**
   * @param message The full message, starting with `Invalid network config:`.
   * @param field The field the message is about.
   * @param value The value the message is about.
   */
  constructor(message: string, field: string, value: unknown) {
    super(message);
    this.field = field;
    this.value = value;
  }
}

/** Shows a JSON value in a message: its source text, shortened. */
function show(node: GoJsonNode): string {
  const raw = node.raw.replace(/\s+/g, " ");
  return raw.length > 60 ? `${raw.slice(0, 57)}...` : raw;
}

/**
 * The decoded JS value of a node, for {@linkcode ConfigError.value}.
 *
 * @param node A value read by `parseGoJson` (so its text is valid JSON).
 * @returns What `JSON.parse` makes of its text.
 */
export function valueOf(node: GoJsonNode): unknown {
  return JSON.parse(node.raw);
}

/**
 * The error for a field whose value is wrong, quoting the value as written.
 *
 * @param field The field in the config's terms, e.g. `Backend.VNI`.
 * @param node The field's value.
 * @param detail What is wrong with it, e.g. `must be at most 30`.
 * @returns The error, to throw.
 * @example
 * ```ts
 * import { fieldError } from "./error.ts";
 * import { parseGoJson } from "../go_json.ts";
 * const e = fieldError("SubnetLen", parseGoJson("31"), "must be at most 30");
 * console.assert(e.message === `Invalid network config: "SubnetLen" is 31: must be at most 30` && e.value === 31);
 * ```
 */
export function fieldError(field: string, node: GoJsonNode, detail: string): ConfigError {
  return new ConfigError(
    `Invalid network config: "${field}" is ${show(node)}: ${detail}`,
    field,
    valueOf(node),
  );
}
