/**
 * Nothing of a containerlab lab is left behind when a run fails: a `test` run stopped by SIGTERM while its
 * scenario runs, and a lab brought `up` whose state file is lost (a crashed harness) and is then taken `down`
 * — containers, containerlab's lab directory, /etc/hosts block, ssh config, /run/netns links, pod namespaces,
 * and the etcd/agent processes the harness started inside the containers (which `docker exec … ps` lists).
 */
import { ok as assert } from "node:assert/strict";
import { run } from "../../cli/process/mod.ts";
import { DOCKER } from "../../harness/upstream/mod.ts";
import { leftovers } from "../helpers/run_cli.ts";

const MOD = new URL("../../mod.ts", import.meta.url).pathname;
const TOPO = new URL("../../topologies/hostgw-split-subnet.clab.yml", import.meta.url).pathname;

function flannelLab(args: string[]) {
  return run([Deno.execPath(), "run", "-A", "--unstable-net", "--no-check", MOD, ...args], {
    check: false,
    timeoutMs: 300_000,
  });
}

function alive(pid: number): boolean {
  try {
    return !Deno.readTextFileSync(`/proc/${pid}/stat`).includes(") Z ");
  } catch {
    return false;
  }
}

async function containers(lab: string): Promise<string[]> {
  const r = await run([DOCKER, "ps", "-a", "-q", "--filter", `label=containerlab=${lab}`], { check: false });
  return r.stdout.split("\n").filter(Boolean);
}

Deno.test({
  name: "e2e: containerlab — a test run stopped by SIGTERM mid-scenario leaves nothing behind",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const base = await Deno.makeTempDir({ prefix: "flannel-lab-e2e-clab-term-" });
    const lab = `term-e2e${Deno.pid}`;
    const dir = `${base}/clab-${lab}`;
    try {
      const child = new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", "--unstable-net", "--no-check", MOD, "test", TOPO, "--runtime", "containerlab"]
          .concat(["--lab-dir", base, "--name", lab]),
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      // Wait until the lab runs and agents hold leases, then stop the run.
      const deadline = Date.now() + 180_000;
      for (;;) {
        const envs = await Promise.all(
          ["n1", "n2"].map((n) => Deno.readTextFile(`${dir}/${n}/subnet.env`).catch(() => "")),
        );
        if (envs.every((e) => e.includes("FLANNEL_SUBNET"))) break;
        if (Date.now() > deadline) {
          child.kill("SIGTERM");
          const out = await child.output();
          const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
          assert(false, `the lab did not come up: ${text.slice(-3000)}`);
        }
        await new Promise((r) => setTimeout(r, 200));
      }
      assert((await containers(lab)).length === 4, "4 containers run");
      child.kill("SIGTERM");
      const out = await child.output();
      assert(out.code !== 0, "a stopped run does not pass");
      const left = await leftovers(lab, dir);
      assert(left.length === 0, `left behind: ${left.join(", ")}`);
    } finally {
      await flannelLab(["down", "-t", TOPO, "--name", lab, "--lab-dir", base, "--runtime", "containerlab"]);
      await Deno.remove(base, { recursive: true }).catch(() => {});
    }
  },
});

Deno.test({
  name: "e2e: containerlab — up, inspect, exec; down after the state file is lost removes everything",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const base = await Deno.makeTempDir({ prefix: "flannel-lab-e2e-clab-crash-" });
    const lab = `crash-e2e${Deno.pid}`;
    const dir = `${base}/clab-${lab}`;
    const common = ["-t", TOPO, "--name", lab, "--lab-dir", base, "--runtime", "containerlab"];
    try {
      const up = await flannelLab(["up", ...common]);
      assert(up.code === 0, up.stdout + up.stderr);
      const inspect = await flannelLab(["inspect", ...common, "-f", "json"]);
      assert(inspect.code === 0, inspect.stderr);
      const view = JSON.parse(inspect.stdout)[lab] as {
        nodes: { node: string; state: string; longName: string }[];
        cluster: { etcd: { pid: number }; agents: { pid: number }[]; pods: { id: string; ip: string }[] };
      };
      assert(view.nodes.length === 4 && view.nodes.every((n) => n.state === "running"), inspect.stdout);
      assert(view.nodes.every((n) => n.longName === `clab-${lab}-${n.node}`), inspect.stdout);
      const pids = [view.cluster.etcd.pid, ...view.cluster.agents.map((a) => a.pid)];
      assert(pids.every(alive), "etcd and agents run after up returned");
      // etcd and the agents run inside their containers (their process tables and filesystems), and so do pods.
      const ps = async (node: string) =>
        (await run([DOCKER, "exec", `clab-${lab}-${node}`, "ps", "-eo", "args"], { check: false })).stdout;
      for (const n of ["n1", "n2"]) {
        const seen = await ps(n);
        assert(seen.includes("mod.ts agent") && seen.includes(`--subnet-file=${dir}/${n}/subnet.env`), seen);
        const netns = await run([DOCKER, "exec", `clab-${lab}-${n}`, "ip", "netns", "list"], {
          check: false,
        });
        assert(
          netns.stdout.includes(`clab-${lab}-${n}-p1`),
          `the pod's namespace is the container's: ${netns.stdout}`,
        );
      }
      assert((await ps("etcd")).includes("etcd --name=flannel-lab"), "etcd runs inside its container");
      const pod = await flannelLab(["exec", ...common, "n1/p1", "--", "ip", "-j", "addr", "show", "eth0"]);
      assert(
        pod.code === 0 && pod.stdout.includes(view.cluster.pods.find((p) => p.id === "n1/p1")!.ip),
        pod.stdout,
      );
      // The host-gw split lab cannot route across its router: a pod reaches its own node only.
      const node = await flannelLab(["exec", ...common, "n1", "--", "ip", "-j", "route"]);
      assert(node.code === 0 && node.stdout.includes("192.168.60.0/22"), node.stdout + node.stderr);
      // A crash: the state file is gone, so down cannot stop processes by pid from it.
      await Deno.remove(`${dir}/state.json`);
      const down = await flannelLab(["down", ...common]);
      assert(down.code === 0, down.stdout + down.stderr);
      await new Promise((r) => setTimeout(r, 200));
      for (const pid of pids) assert(!alive(pid), `process ${pid} still runs`);
      const left = await leftovers(lab, dir);
      assert(left.length === 0, `left behind: ${left.join(", ")}`);
    } finally {
      await flannelLab(["down", ...common]);
      await Deno.remove(base, { recursive: true }).catch(() => {});
    }
  },
});
