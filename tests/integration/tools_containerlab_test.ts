/**
 * Our containerlab build, Debian's dockerd and the locally built node image deploy a 2-node linux lab: the
 * nodes ping across their veth link (and not to an address nobody has), and `destroy --cleanup` leaves no
 * container, lab directory, /etc/hosts block, ssh config or netns link behind. A missing tool is installed
 * (cold: a few minutes), never skipped. Root; only Docker's and containerlab's own bridges touch the main
 * namespace.
 */
import assert from "node:assert/strict";
import { run } from "../../cli/process/mod.ts";
import {
  CONTAINERLAB_ENV,
  DOCKER,
  ensureContainerlab,
  ensureDockerd,
  ensureNodeImage,
} from "../../harness/upstream/mod.ts";
import { tempDir, uniqueName } from "../helpers/tmpdir.ts";

interface ExecResult {
  readonly cmd: string[];
  readonly "return-code": number;
  readonly stdout: unknown;
  readonly stderr: string;
}

function topology(lab: string, image: string): string {
  const node = (ip: string) => `
      kind: linux
      image: ${image}
      cmd: sleep infinity
      exec:
        - ip addr add ${ip}/24 dev eth1`;
  return `name: ${lab}
topology:
  defaults:
    privileged: false
    cap-add: [NET_ADMIN, NET_RAW, SYS_ADMIN]
    restart-policy: "no"
    labels:
      flannel-lab.test: tools_containerlab
  nodes:
    n1:${node("192.168.77.1")}
    n2:${node("192.168.77.2")}
  links:
    - type: veth
      mtu: 1500
      endpoints:
        - { node: n1, interface: eth1 }
        - { node: n2, interface: eth1 }
`;
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch {
    return false;
  }
}

Deno.test("containerlab (patched build) deploys a 2-node linux lab, pings across its link, destroys it cleanly", async () => {
  const clab = await ensureContainerlab();
  await using dockerd = await ensureDockerd();
  assert.match(dockerd.version, /^\d+\.\d+/);
  const image = await ensureNodeImage();
  await using dir = await tempDir("flannel-lab-clab-");
  const lab = uniqueName("flt");
  const topo = `${dir.path}/${lab}.clab.yml`;
  await Deno.writeTextFile(topo, topology(lab, image.tag));
  const clabRun = (args: string[]) =>
    run([clab.path, ...args], { env: { ...CONTAINERLAB_ENV, NO_COLOR: "1" }, timeoutMs: 300_000 });
  const execOn = async (node: string, cmd: string): Promise<ExecResult> => {
    const { stdout } = await clabRun([
      "exec",
      "-t",
      topo,
      "--label",
      `clab-node-name=${node}`,
      "--cmd",
      cmd,
      "-f",
      "json",
    ]);
    const results = (JSON.parse(stdout) as Record<string, ExecResult[]>)[`clab-${lab}-${node}`];
    assert.ok(results?.[0], `no exec result for ${node} in ${stdout}`);
    return results[0];
  };

  try {
    await clabRun(["deploy", "-t", topo]);
    const inspect = JSON.parse((await clabRun(["inspect", "-t", topo, "-f", "json"])).stdout) as Record<
      string,
      { name: string; state: string; image: string }[]
    >;
    assert.deepEqual(
      (inspect[lab] ?? []).map((c) => [c.name, c.state, c.image]),
      [[`clab-${lab}-n1`, "running", image.tag], [`clab-${lab}-n2`, "running", image.tag]],
    );

    const ping = await execOn("n1", "ping -c 3 -i 0.2 -W 2 192.168.77.2");
    assert.equal(ping["return-code"], 0, `ping n1 -> n2 failed: ${JSON.stringify(ping)}`);
    assert.match(String(ping.stdout), / 0% packet loss/);
    // Negative: nobody holds .9, so the same ping must fail (the lab is not answering everything).
    const nobody = await execOn("n1", "ping -c 1 -W 1 192.168.77.9");
    assert.notEqual(nobody["return-code"], 0);

    const link = JSON.parse(
      (await run([DOCKER, "exec", `clab-${lab}-n2`, "ip", "-j", "link", "show", "eth1"])).stdout,
    ) as { mtu: number; operstate: string }[];
    assert.equal(link[0]?.mtu, 1500);
  } finally {
    await clabRun(["destroy", "-t", topo, "--cleanup"]);
  }

  const left = await run([DOCKER, "ps", "-a", "-q", "--filter", `label=containerlab=${lab}`]);
  assert.equal(left.stdout.trim(), "", "containers left behind");
  assert.equal(await exists(`${dir.path}/clab-${lab}`), false, "lab directory left behind");
  assert.doesNotMatch(
    await Deno.readTextFile("/etc/hosts"),
    new RegExp(`CLAB-${lab}-`),
    "/etc/hosts block left",
  );
  assert.equal(await exists(`/etc/ssh/ssh_config.d/clab-${lab}.conf`), false, "ssh config left behind");
  assert.equal(await exists(`/run/netns/clab-${lab}-n1`), false, "netns link left behind");
  const otherLabs = await run([DOCKER, "ps", "-a", "-q", "--filter", "label=containerlab"]);
  if (otherLabs.stdout.trim() === "") {
    const nets = await run([DOCKER, "network", "ls", "--format", "{{.Name}}"]);
    assert.ok(!nets.stdout.split("\n").includes("clab"), "the clab management network was left behind");
  }
});
