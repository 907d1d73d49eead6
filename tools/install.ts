/**
 * Installs the test tools without the wrapper: `deno run -A tools/install.ts install [tool...]`, `… status`,
 * `… dockerd start|stop` — the same as `./flannel-lab tools …`. See tools/README.md.
 *
 * @module
 */
import { reportError } from "../cli/output.ts";
import { main } from "../harness/tools/main.ts";

if (import.meta.main) {
  let code: number;
  try {
    code = await main(Deno.args);
  } catch (error) {
    code = reportError(error, { verbose: Deno.args.includes("-v") });
  }
  Deno.exit(code);
}
