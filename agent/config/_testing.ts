/**
 * Helpers shared by the config package's tests: the smallest `Backend` member and an assertion that a config is
 * refused with a given field and message.
 *
 * @module
 */
import assert from "node:assert/strict";
import { ConfigError } from "./error.ts";
import { parseNetworkConfig } from "./network.ts";

/** A `Backend` member to splice into a config's top-level object. */
export const VXLAN = `"Backend":{"Type":"vxlan"}`;

/**
 * Asserts a ConfigError with the given field and a message matching `re`; returns it.
 *
 * @param text The config JSON.
 * @param field The field the error must name.
 * @param re What the message must match (besides the `Invalid network config: ` start).
 * @returns The error, for further checks.
 */
export function refuses(text: string, field: string, re: RegExp): ConfigError {
  try {
    parseNetworkConfig(text);
  } catch (e) {
    assert.ok(e instanceof ConfigError, `expected ConfigError, got ${e}`);
    assert.equal(e.field, field, e.message);
    assert.match(e.message, /^Invalid network config: /);
    assert.match(e.message, re);
    return e;
  }
  assert.fail(`expected ${text} to be refused`);
}
