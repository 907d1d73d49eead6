/**
 * Runs one shipped topology through `flannel-lab test` (a real process, as a user would) with its lab directory
 * in a temporary base, under the netns or the containerlab runtime, and checks that nothing of the lab is left
 * behind: namespaces, and under containerlab also containers, its lab directory, the /etc/hosts block, the ssh
 * config and the /run/netns links.
 *
 * @module
 */
import { ok as assert } from "node:assert/strict";
import { run, type RunResult } from "../../cli/process/mod.ts";
import { ownedNamespaces } from "../../harness/runtime/mod.ts";
import { DOCKER } from "../../harness/upstream/mod.ts";

const MOD = new URL("../../mod.ts", import.meta.url).pathname;
const TOPOLOGIES = new URL("../../topologies/", import.meta.url).pathname;

/**
 * Runs `flannel-lab ARGS…` as a user would (a real process, `deno run` of mod.ts); never throws on a non-zero
 * exit, so a test can assert on the code and the output.
 */
export function flannelLab(args: readonly string[], timeoutMs = 300_000): Promise<RunResult> {
  return run([Deno.execPath(), "run", "-A", "--unstable-net", "--no-check", MOD, ...args], {
    check: false,
    timeoutMs,
  });
}

/** The runtimes a shipped topology runs under. */
export type RuntimeName = "netns" | "containerlab";

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * What a lab left behind (empty when nothing): marked namespaces, and containerlab's containers, lab
 * directory, /etc/hosts block, ssh config and netns links.
 *
 * @param lab the lab name
 * @param labDir the harness's lab directory
 */
export async function leftovers(lab: string, labDir: string): Promise<string[]> {
  const left = (await ownedNamespaces()).filter((o) => o.lab === lab).map((o) => `namespace ${o.ns}`);
  const ps = await run([DOCKER, "ps", "-a", "-q", "--filter", `label=containerlab=${lab}`], {
    check: false,
    timeoutMs: 30_000,
  });
  if (ps.stdout.trim()) left.push(`containers ${ps.stdout.trim().split("\n").join(" ")}`);
  if (await exists(`${labDir}/containerlab`)) {
    left.push(`containerlab's lab directory ${labDir}/containerlab`);
  }
  if ((await Deno.readTextFile("/etc/hosts")).includes(`CLAB-${lab}-`)) left.push("/etc/hosts block");
  if (await exists(`/etc/ssh/ssh_config.d/clab-${lab}.conf`)) left.push("ssh config");
  for (const ns of await Array.fromAsync(Deno.readDir("/run/netns")).catch(() => [])) {
    if (ns.name.startsWith(`clab-${lab}-`)) left.push(`/run/netns/${ns.name}`);
  }
  return left;
}

/** Runs `flannel-lab test topologies/<name>.clab.yml`; returns exit code and output. */
export async function runTopology(
  name: string,
  extra: string[] = [],
  runtime: RuntimeName = "netns",
): Promise<{ code: number; out: string; junit: string; html: string; durationMs: number }> {
  const base = await Deno.makeTempDir({ prefix: `flannel-lab-e2e-${name}-` });
  // A lab name of its own, so a concurrent run of the same topology (another checkout, CI) never meets it.
  const lab = `${name}-e2e${runtime === "containerlab" ? "c" : ""}${Deno.pid}`;
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
      "--runtime",
      runtime,
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
    const left = await leftovers(lab, `${base}/clab-${lab}`);
    assert(left.length === 0, `left behind: ${left.join(", ")}`);
    return { code: r.code, out: r.stdout + r.stderr, junit, html, durationMs: r.durationMs };
  } finally {
    await Deno.remove(base, { recursive: true }).catch(() => {});
  }
}

/**
 * Registers the e2e test of one shipped topology: its scenario passes, the report is kept, nothing is left.
 *
 * @param name the topology (`topologies/<name>.clab.yml`)
 * @param runtime netns (default) or containerlab
 */
export function topologyTest(name: string, runtime: RuntimeName = "netns"): void {
  Deno.test({
    name: `e2e: ${name} passes its scenario through the ${runtime} runtime and leaves nothing behind`,
    sanitizeResources: false,
    sanitizeOps: false,
    async fn() {
      const r = await runTopology(name, [], runtime);
      assert(r.code === 0, r.out);
      assert(r.junit.includes('failures="0"'), r.junit);
      assert(
        r.html.includes("<!doctype html>") && !r.html.includes('class="tag fail"'),
        "report.html kept, no failure",
      );
      assert(r.html.includes(`runtime ${runtime}`), "the report names the runtime");
    },
  });
}
