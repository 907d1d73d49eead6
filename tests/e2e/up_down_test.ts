import { ok as assert } from "node:assert/strict";
import { run } from "../../cli/process/mod.ts";
import { ownedNamespaces } from "../../harness/runtime/mod.ts";

const MOD = new URL("../../mod.ts", import.meta.url).pathname;
const TOPO = new URL("../../topologies/vxlan-same-subnet.clab.yml", import.meta.url).pathname;

async function flannelLab(args: string[]) {
  return await run([Deno.execPath(), "run", "-A", "--unstable-net", "--no-check", MOD, ...args], {
    check: false,
    timeoutMs: 180_000,
  });
}

function alive(pid: number): boolean {
  try {
    return !Deno.readTextFileSync(`/proc/${pid}/stat`).includes(") Z ");
  } catch {
    return false;
  }
}

interface View {
  cluster: {
    etcd: { pid: number; alive: boolean };
    agents: { node: string; pid: number; alive: boolean; lease?: string }[];
    pods: { id: string; ip: string }[];
  } | null;
}

Deno.test({
  name: "e2e: up leaves etcd, agents and pods running; inspect, exec and down work, also after a crash",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const base = await Deno.makeTempDir({ prefix: "flannel-lab-e2e-up-" });
    const lab = `up-e2e${Deno.pid}`;
    const common = ["-t", TOPO, "--name", lab, "--lab-dir", base];
    try {
      const up = await flannelLab(["up", ...common]);
      assert(up.code === 0, up.stdout + up.stderr);
      // The up command has exited: what it started must still run.
      const inspect = await flannelLab(["inspect", ...common, "-f", "json"]);
      assert(inspect.code === 0, inspect.stderr);
      const view = (JSON.parse(inspect.stdout) as Record<string, View>)[lab]!;
      const c = view.cluster!;
      assert(c.etcd.alive && alive(c.etcd.pid), inspect.stdout);
      assert(c.agents.length === 2 && c.agents.every((a) => a.alive && a.lease), inspect.stdout);
      assert(c.pods.length === 4, inspect.stdout);
      const target = c.pods.find((p) => p.id === "n2/p1")!;
      const ping = await flannelLab([
        "exec",
        ...common,
        "n1/p1",
        "--",
        "ping",
        "-c",
        "1",
        "-W",
        "2",
        target.ip,
      ]);
      assert(ping.code === 0, ping.stdout + ping.stderr);
      const node = await flannelLab(["exec", ...common, "n1", "--", "ip", "-j", "route"]);
      assert(node.stdout.includes("flannel.1"), node.stdout);
      // A crash: etcd killed behind the harness's back; down still stops the rest and removes everything.
      Deno.kill(c.etcd.pid, "SIGKILL");
      const table = await flannelLab(["inspect", ...common]);
      assert(table.stdout.includes("NOT RUNNING"), table.stdout);
      const down = await flannelLab(["down", ...common]);
      assert(down.code === 0, down.stderr);
      assert(/Stopped 2 processes/.test(down.stdout), down.stdout);
      for (const a of c.agents) assert(!alive(a.pid), `agent ${a.node} (pid ${a.pid}) still runs`);
      assert((await ownedNamespaces()).filter((o) => o.lab === lab).length === 0);
    } finally {
      await flannelLab(["down", ...common]);
      await Deno.remove(base, { recursive: true }).catch(() => {});
    }
  },
});
