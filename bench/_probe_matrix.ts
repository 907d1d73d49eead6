import { generateScaleLab } from "../harness/generate.ts";
import { planLab, upLab } from "../harness/lab/mod.ts";
const kind = (Deno.args[0] ?? "ours") as "ours" | "upstream";
const NODES = 100;
const base = "/dev/shm/pm";
await Deno.mkdir(base, { recursive: true });
const name = `pm${kind[0]}`;
const { topology, scenario } = generateScaleLab({
  nodes: NODES,
  subnets: 5,
  backend: "vxlan",
  pods: 1,
  name,
  agent: kind,
});
await Deno.writeTextFile(`${base}/${name}.clab.yml`, topology);
await Deno.writeTextFile(`${base}/${name}.scenario.yml`, scenario);
const t0 = performance.now();
const up = await upLab(await planLab(`${base}/${name}.clab.yml`, { labDirBase: base, name }), {
  readyTimeoutMs: 180000,
  restartExitedAgents: true,
});
console.log("up", Math.round(performance.now() - t0), "restarts", up.timings["agentRestarts"]);
const c = up.cluster;
let todo = new Map(c.pods.map((p) => [p, c.pods.filter((q) => q.node !== p.node).map((q) => q.ip)]));
for (let pass = 0; pass < 6 && todo.size; pass++) {
  const next = new Map<typeof c.pods[number], string[]>();
  const sources = [...todo];
  for (let i = 0; i < sources.length; i += 4) {
    await Promise.all(
      sources.slice(i, i + 4).map(async ([pod, ips]) => {
        const script = `for ip in ${
          ips.join(" ")
        }; do ping -c 1 -W 1 -q $ip >/dev/null 2>&1 || echo $ip; done`;
        const r = await c.podExec(pod, ["sh", "-c", script], { timeoutMs: 300_000 });
        const failed = r.stdout.split("\n").filter(Boolean);
        if (failed.length) next.set(pod, failed);
      }),
    );
  }
  todo = next;
  console.log(
    "pass",
    pass,
    "t",
    Math.round(performance.now() - t0),
    "failing",
    [...todo].map(([p, ips]) => `${p.node}->${ips.join(",")}`).join(" "),
  );
}
console.log("left running; labdir", up.labDir);
Deno.exit(0);
