/**
 * Harness benchmark: per shipped topology, bring-up time (deploy → etcd → agents → first successful cross-node
 * pod ping) and teardown time, through the netns runtime. Run as root:
 * `deno run -A --unstable-net bench/harness_bench.ts [names…]`.
 *
 * @module
 */
import { println } from "../cli/output.ts";
import { runLab } from "../harness/lab.ts";

const TOPOLOGIES = new URL("../topologies/", import.meta.url).pathname;
const DEFAULT = [
  "vxlan-same-subnet",
  "hostgw-same-subnet",
  "vxlan-split-subnet",
  "vxlan-directrouting",
  "udp-same-subnet",
];

/** Measures one topology; returns milliseconds. */
export async function benchTopology(
  name: string,
): Promise<{ name: string; bringUpMs: number; teardownMs: number; ok: boolean }> {
  const base = await Deno.makeTempDir({ prefix: "flannel-lab-bench-" });
  const scenario = `${base}/bench.scenario.yml`;
  const sc = await Deno.readTextFile(`${TOPOLOGIES}${name}.scenario.yml`);
  const network = /^network: .*$/m.exec(sc)![0];
  const defer = /^defer-agents: .*$/m.test(sc) ? "" : "";
  await Deno.writeTextFile(
    scenario,
    `${network}\n${defer}pods: {per-node: 1}\nsteps:\n  - wait: agents-ready\n    timeout: 60s\n    critical: true\n  - ping: {from: n1/p1, to: n2/p1, count: 1}\n    timeout: 60s\n`,
  );
  const started = performance.now();
  let bringUpMs = 0;
  try {
    const r = await runLab(`${TOPOLOGIES}${name}.clab.yml`, {
      scenarioPath: scenario,
      labDirBase: base,
      progress: {
        stepStarted() {},
        stepFinished(res) {
          if (res.step.index === 2) bringUpMs = Math.round(performance.now() - started);
        },
      },
    });
    return { name, bringUpMs, teardownMs: r.timings["teardownMs"] ?? 0, ok: r.ok };
  } finally {
    await Deno.remove(base, { recursive: true }).catch(() => {});
  }
}

if (import.meta.main) {
  const names = Deno.args.length ? Deno.args : DEFAULT;
  println(`${"topology".padEnd(22)} ${"bring-up".padStart(9)} ${"teardown".padStart(9)}  first ping`);
  for (const name of names) {
    const r = await benchTopology(name);
    println(
      `${name.padEnd(22)} ${(r.bringUpMs / 1000).toFixed(2).padStart(8)}s ${
        (r.teardownMs / 1000).toFixed(2).padStart(8)
      }s  ${r.ok ? "ok" : "FAILED"}`,
    );
  }
}
