/**
 * Runs one shipped topology through `flannel-lab test` (a real process, as a user would) with its lab directory
 * in a temporary base, and checks that nothing of the lab is left behind.
 *
 * @module
 */
import { ok as assert } from "node:assert/strict";
import { run } from "../../harness/process.ts";
import { ownedNamespaces } from "../../harness/runtime/mod.ts";

const MOD = new URL("../../mod.ts", import.meta.url).pathname;
const TOPOLOGIES = new URL("../../topologies/", import.meta.url).pathname;

/** Runs `flannel-lab test topologies/<name>.clab.yml`; returns exit code and output. */
export async function runTopology(
  name: string,
  extra: string[] = [],
): Promise<{ code: number; out: string; junit: string; html: string }> {
  const base = await Deno.makeTempDir({ prefix: `flannel-lab-e2e-${name}-` });
  // A lab name of its own, so a concurrent run of the same topology (another checkout, CI) never meets it.
  const lab = `${name}-e2e${Deno.pid}`;
  try {
    const r = await run([
      Deno.execPath(),
      "run",
      "-A",
      "--unstable-net",
      "--no-check",
      MOD,
      "test",
      `${TOPOLOGIES}${name}.clab.yml`,
      "--lab-dir",
      base,
      "--name",
      lab,
      "--junit",
      `${base}/junit.xml`,
      ...extra,
    ], { check: false, timeoutMs: 600_000 });
    const junit = await Deno.readTextFile(`${base}/junit.xml`).catch(() => "");
    const html = await Deno.readTextFile(`${base}/clab-${lab}/report.html`).catch(() => "");
    const left = (await ownedNamespaces()).filter((o) => o.lab === lab);
    assert(left.length === 0, `namespaces left behind: ${left.map((l) => l.ns).join(", ")}`);
    return { code: r.code, out: r.stdout + r.stderr, junit, html };
  } finally {
    await Deno.remove(base, { recursive: true }).catch(() => {});
  }
}
