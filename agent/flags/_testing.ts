/**
 * Helpers shared by the flags package's tests: a parse with an empty environment by default, and an assertion
 * that a command line is refused with a usage error.
 *
 * @module
 */
import assert from "node:assert/strict";
import { UsageError } from "../../cli/errors.ts";
import type { AgentFlags } from "./table.ts";
import { parseAgentFlags } from "./parse.ts";

/**
 * {@linkcode parseAgentFlags} with the environment optional.
 *
 * @param argv The arguments.
 * @param env The environment; none by default.
 * @returns The options.
 */
export function parse(argv: string[], env: Record<string, string> = {}): AgentFlags {
  return parseAgentFlags(argv, env);
}

/**
 * Asserts a UsageError (exit code 2) whose message matches `re`; returns it.
 *
 * @param argv The arguments.
 * @param env The environment.
 * @param re What the message must match.
 * @returns The error, for checks of its hint.
 */
export function usageError(argv: string[], env: Record<string, string>, re: RegExp): UsageError {
  try {
    parse(argv, env);
  } catch (e) {
    assert.ok(e instanceof UsageError, `expected UsageError, got ${e}`);
    assert.match(e.message, re);
    assert.equal(e.exitCode, 2);
    return e;
  }
  assert.fail(`expected ${JSON.stringify(argv)} to be refused`);
}
