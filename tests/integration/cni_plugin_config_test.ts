/**
 * What the flannel CNI plugin writes, against the real reference plugins, as root: the delegate configuration
 * it saves at ADD is byte for byte upstream's (checked against upstream's binary when FLANNEL_UPSTREAM_CNI names
 * it) and the bridge accepts it; `flannel-lab cni install` writes a launcher that runs the plugin. The plugin always runs inside a throwaway "node" namespace
 * (`ip netns exec`), so cni0 and the veths are created there, never in the main namespace; host-local's state
 * and the plugin's dataDir live in a temp directory (`tests/helpers/cni_lab.ts`).
 */
import assert from "node:assert/strict";
import { run } from "../../cli/process/mod.ts";
import { cniLab, listDir, SUBNET_ENV } from "../helpers/cni_lab.ts";
import { tempDir } from "../helpers/tmpdir.ts";

const UPSTREAM = Deno.env.get("FLANNEL_UPSTREAM_CNI"); // optional: upstream's plugin binary, for a byte comparison

/** Expected saved configurations, checked against upstream's binary (agent/cni/testdata/upstream_*.json). */
function savedCases(dir: string) {
  const ipam = `${dir}/ipam`;
  const masqOff = SUBNET_ENV.replace("FLANNEL_IPMASQ=true", "FLANNEL_IPMASQ=false");
  return [
    {
      name: "ip-masq on (agent masquerades, bridge does not)",
      subnetEnv: SUBNET_ENV,
      conf: { cniVersion: "0.3.1", name: "cbr0", type: "flannel", ipam: { dataDir: ipam } },
      saved:
        `{"cniVersion":"0.3.1","ipMasq":false,"ipam":{"dataDir":"${ipam}","ranges":[[{"subnet":"10.244.1.0/24"}]],` +
        `"routes":[{"dst":"10.244.0.0/16"}],"type":"host-local"},"isGateway":true,"mtu":1400,"name":"cbr0",` +
        `"type":"bridge"}`,
    },
    {
      name: "ip-masq off (bridge masquerades), kube-flannel delegate",
      subnetEnv: masqOff,
      conf: {
        cniVersion: "1.0.0",
        name: "cbr0",
        type: "flannel",
        ipam: { dataDir: ipam },
        delegate: { hairpinMode: true, isDefaultGateway: true },
      },
      saved: `{"cniVersion":"1.0.0","hairpinMode":true,"ipMasq":true,"ipam":{"dataDir":"${ipam}","ranges":` +
        `[[{"subnet":"10.244.1.0/24"}]],"routes":[{"dst":"10.244.0.0/16"}],"type":"host-local"},` +
        `"isDefaultGateway":true,"isGateway":true,"mtu":1400,"name":"cbr0","type":"bridge"}`,
    },
    {
      name: "delegate overrides",
      subnetEnv: masqOff,
      conf: {
        cniVersion: "0.4.0",
        name: "cbr0",
        type: "flannel",
        ipam: { dataDir: ipam },
        delegate: { bridge: "kbr0", mtu: 1300, ipMasq: false, isGateway: true, forceAddress: true },
      },
      saved:
        `{"bridge":"kbr0","cniVersion":"0.4.0","forceAddress":true,"ipMasq":false,"ipam":{"dataDir":"${ipam}",` +
        `"ranges":[[{"subnet":"10.244.1.0/24"}]],"routes":[{"dst":"10.244.0.0/16"}],"type":"host-local"},` +
        `"isGateway":true,"mtu":1300,"name":"cbr0","type":"bridge"}`,
    },
    {
      name: "ipam passthrough with user routes",
      subnetEnv: SUBNET_ENV,
      conf: {
        cniVersion: "1.0.0",
        name: "cbr0",
        type: "flannel",
        ipam: { dataDir: ipam, "unknown-param": "x", routes: [{ dst: "10.96.0.0/12" }] },
        runtimeConfig: { portMappings: [] },
      },
      saved:
        `{"cniVersion":"1.0.0","ipMasq":false,"ipam":{"dataDir":"${ipam}","ranges":[[{"subnet":"10.244.1.0/24"}]],` +
        `"routes":[{"dst":"10.96.0.0/12"},{"dst":"10.244.0.0/16"}],"type":"host-local","unknown-param":"x"},` +
        `"isGateway":true,"mtu":1400,"name":"cbr0","runtimeConfig":{"portMappings":[]},"type":"bridge"}`,
    },
  ];
}

Deno.test("CNI ADD saves exactly upstream's delegate configuration and the bridge accepts it", async (t) => {
  await using lab = await cniLab();
  for (const [i, c] of savedCases(lab.dir).entries()) {
    await t.step(c.name, async () => {
      const node = await lab.netns("fltn");
      const pod = await lab.netns("fltp");
      const subnetFile = await lab.subnetEnv(`subnet-${i}.env`, c.subnetEnv);
      const dataDir = `${lab.dir}/flannel-${i}`;
      const stdin = { ...c.conf, subnetFile, dataDir };
      const inv = { command: "ADD", containerId: `c${i}`, netns: `/run/netns/${pod.name}`, stdin };
      const add = await lab.invoke(node, inv);
      assert.equal(add.code, 0, add.stdout + add.stderr);
      assert.equal(await Deno.readTextFile(`${dataDir}/c${i}@eth0`), c.saved);
      if (c.name === "ipam passthrough with user routes") {
        const routes = await pod.ipJson<{ dst: string }[]>(["route", "show"]);
        assert.ok(routes.some((r) => r.dst === "10.96.0.0/12"));
      }
      if (UPSTREAM) {
        // Upstream saves before delegating: with a delegate that fails, its file is all that is left.
        const fake = `${lab.dir}/fake-bin`;
        await Deno.mkdir(fake, { recursive: true });
        await Deno.writeTextFile(`${fake}/bridge`, "#!/bin/sh\nexit 1\n", { mode: 0o755 });
        await lab.invoke(node, { ...inv, cniPath: fake }, UPSTREAM);
        assert.equal(
          await Deno.readTextFile(`${dataDir}/c${i}`),
          c.saved,
          "differs from upstream's saved file",
        );
        await Deno.remove(`${dataDir}/c${i}`);
      }
      const del = await lab.invoke(node, { ...inv, command: "DEL" });
      assert.equal(del.code, 0, del.stdout + del.stderr);
      assert.deepEqual(await listDir(dataDir), []);
    });
  }
});

Deno.test("flannel-lab cni install writes a launcher that runs the plugin", async () => {
  await using dir = await tempDir("flannel-cni-install-");
  const res = await run([
    Deno.execPath(),
    "run",
    "-A",
    new URL("../../mod.ts", import.meta.url).pathname,
    "cni",
    "install",
    "--dir",
    `${dir.path}/bin`,
  ]);
  assert.match(res.stdout, /installed the flannel CNI plugin as .*\/bin\/flannel/);
  const st = await Deno.stat(`${dir.path}/bin/flannel`);
  assert.equal(st.mode! & 0o777, 0o755);
  const v = await run([`${dir.path}/bin/flannel`], { env: { CNI_COMMAND: "VERSION" } });
  assert.equal(JSON.parse(v.stdout).cniVersion, "1.1.0");
});
