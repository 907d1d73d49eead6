/**
 * The error a tool installation raises: what failed, the tail of its output, and the command that installs the
 * tool by hand.
 *
 * @module
 */
import { UserError } from "../../cli/errors.ts";

/**
 * The command people type to install a tool (the wrapper dispatches `tools` to harness/upstream/main.ts; the same
 * works as `deno run -A mod.ts tools install <tool>`).
 */
export const INSTALL_COMMAND = "./flannel-lab tools install";

/** The names of the test tools. */
export type ToolName = "containerlab" | "flanneld" | "docker" | "node-image" | "chromium";

/** The command that installs one tool. */
export function installCommand(tool: ToolName): string {
  return `${INSTALL_COMMAND} ${tool}`;
}

/** A test tool could not be installed, built or started. */
export class ToolError extends UserError {
  override name = "ToolError";
  /** The tool concerned. */
  readonly tool: ToolName;

  constructor(tool: ToolName, message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(message, {
      hint: options.hint ?? `install it with \`${installCommand(tool)}\``,
      ...(options.cause === undefined ? {} : { cause: options.cause }),
    });
    this.tool = tool;
  }
}
