/**
 * Errors for topology and scenario input: every problem names the file, the line and column, and the field.
 *
 * @module
 */

/** One thing wrong with an input file. */
export interface Problem {
  readonly file: string;
  /** 1-based; absent when the position is unknown. */
  readonly line?: number;
  readonly column?: number;
  /** The field's path, e.g. `topology.nodes.n1.kind`. */
  readonly field: string;
  readonly message: string;
}

/** Formats a problem as `file:line:col: field: message`. */
export function formatProblem(p: Problem): string {
  const where = p.line === undefined ? p.file : `${p.file}:${p.line}${p.column ? `:${p.column}` : ""}`;
  return `${where}: ${p.field ? `${p.field}: ` : ""}${p.message}`;
}

/**
 * Invalid input file (topology or scenario). A `SyntaxError`, so the CLI prints it without a stack trace.
 */
export class InputError extends SyntaxError {
  override name = "InputError";
  readonly problems: readonly Problem[];
  constructor(what: string, problems: readonly Problem[]) {
    const first = problems[0];
    const head = problems.length === 1 && first
      ? `Invalid ${what}: ${formatProblem(first)}`
      : `Invalid ${what} (${problems.length} problems):\n${
        problems.map((p) => `  ${formatProblem(p)}`).join("\n")
      }`;
    super(head);
    this.problems = problems;
  }
}
