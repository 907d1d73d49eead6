/**
 * The flannel CNI plugin's errors against the real reference plugins, as root: the spec's JSON with a code the
 * runtime can act on and a message saying what to fix, and nothing half-created (no saved file, no address held,
 * no veth) after a failed ADD, including a delegate failing after IPAM. The plugin always runs inside a throwaway "node" namespace
 * (`ip netns exec`), so cni0 and the veths are created there, never in the main namespace; host-local's state
 * and the plugin's dataDir live in a temp directory (`tests/helpers/cni_lab.ts`).
 */
import assert from "node:assert/strict";
import { installPlugin } from "../../agent/cni/install.ts";
import {
  cniLab,
  heldAddresses,
  type Invocation,
  ipv4Of,
  listDir,
  SUBNET_ENV,
  vethCount,
} from "../helpers/cni_lab.ts";

Deno.test("CNI errors: the spec's JSON with a message saying what to fix, and nothing half-created", async (t) => {
  await using lab = await cniLab();
  const node = await lab.netns("fltn");
  const pod = await lab.netns("fltp");
  const ipamDir = `${lab.dir}/ipam`;
  const dataDir = `${lab.dir}/flannel`;
  const subnetFile = await lab.subnetEnv("subnet.env", SUBNET_ENV);
  const conf = {
    cniVersion: "1.0.0",
    name: "cbr0",
    type: "flannel",
    subnetFile,
    dataDir,
    ipam: { dataDir: ipamDir },
  };
  const add = { command: "ADD", containerId: "c1", netns: `/run/netns/${pod.name}`, stdin: conf };

  async function expectError(inv: Invocation, code: number, msg: RegExp, details?: RegExp) {
    const r = await lab.invoke(node, inv);
    assert.equal(r.code, 1, `exit code; stdout: ${r.stdout}`);
    assert.equal(r.json?.["code"], code, r.stdout);
    assert.match(String(r.json?.["msg"]), msg);
    if (details) assert.match(String(r.json?.["details"]), details);
    assert.equal(typeof r.json?.["cniVersion"], "string");
    return r;
  }

  async function assertNothingCreated() {
    assert.deepEqual(await listDir(dataDir), []);
    assert.deepEqual(await heldAddresses(ipamDir, "cbr0"), []);
    assert.equal(await ipv4Of(pod, "eth0"), undefined);
    assert.equal(await vethCount(node), 0);
  }

  await t.step("empty stdin", async () => {
    await expectError({ ...add, stdin: "" }, 6, /empty network configuration on stdin/, /pipe it in/);
  });
  await t.step("garbage stdin", async () => {
    await expectError({ ...add, stdin: "not json {" }, 6, /error decoding the network configuration/);
  });
  await t.step("missing CNI_* variables", async () => {
    await expectError(
      { ...add, containerId: undefined, netns: undefined },
      4,
      /required env variables \[CNI_CONTAINERID,CNI_NETNS\] missing/,
      /container runtime sets/,
    );
    await expectError({ ...add, env: { CNI_PATH: undefined } }, 4, /\[CNI_PATH\] missing/);
  });
  await t.step("unknown CNI_COMMAND", async () => {
    await expectError({ ...add, command: "UPDATE" }, 4, /unknown CNI_COMMAND: UPDATE/);
  });
  await t.step("unsupported cniVersion", async () => {
    await expectError(
      { ...add, stdin: { ...conf, cniVersion: "2.0.0" } },
      1,
      /incompatible CNI versions/,
      /"2\.0\.0"/,
    );
  });
  await t.step("invalid delegate configuration", async () => {
    await expectError({ ...add, stdin: { ...conf, delegate: { ipam: {} } } }, 7, /must not have 'ipam'/);
  });
  await t.step("missing subnet.env", async () => {
    await expectError(
      { ...add, stdin: { ...conf, subnetFile: `${lab.dir}/nope.env` } },
      11,
      /nope\.env does not exist/,
      /is the flannel agent running on this node\? it writes .*nope\.env once it holds a lease/,
    );
    await assertNothingCreated();
  });
  await t.step("half-written subnet.env", async () => {
    const half = await lab.subnetEnv(
      "half.env",
      "FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.1.1/24\nFLAN",
    );
    await expectError(
      { ...add, stdin: { ...conf, subnetFile: half } },
      11,
      /is missing FLANNEL_MTU, FLANNEL_IPMASQ/,
    );
    const bad = await lab.subnetEnv("bad.env", SUBNET_ENV.replace("10.244.1.1/24", "10.244.1.1"));
    await expectError({ ...add, stdin: { ...conf, subnetFile: bad } }, 999, /line 2: FLANNEL_SUBNET/);
    await assertNothingCreated();
  });
  await t.step("delegate missing from CNI_PATH", async () => {
    const onlyFlannel = `${lab.dir}/only-flannel`;
    await installPlugin({ dir: onlyFlannel });
    await expectError(
      { ...add, cniPath: onlyFlannel },
      999,
      /failed to find plugin "bridge" in path/,
      /install the reference CNI plugins/,
    );
    await assertNothingCreated();
  });
  await t.step("delegate failing after IPAM (cni0 holds another subnet's gateway): rolled back", async () => {
    // The S5 situation: the node's lease changed but cni0 kept the old gateway address.
    await node.ip(["link", "add", "cni0", "type", "bridge"]);
    await node.ip(["addr", "add", "10.244.9.1/24", "dev", "cni0"]);
    await expectError(
      add,
      999,
      /^delegate "bridge" ADD failed: .*already has an IP address different/,
      /ip link delete cni0/,
    );
    await assertNothingCreated();
    // Once the operator follows the hint, the same ADD succeeds.
    await node.ip(["link", "delete", "cni0"]);
    const ok = await lab.invoke(node, add);
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    const del = await lab.invoke(node, { ...add, command: "DEL" });
    assert.equal(del.code, 0, del.stdout);
    await assertNothingCreated();
  });
  await t.step("VERSION, and no CNI_COMMAND prints the about text", async () => {
    const v = await lab.invoke(node, { command: "VERSION", stdin: "" });
    assert.equal(v.code, 0);
    assert.deepEqual(v.json, {
      cniVersion: "1.1.0",
      supportedVersions: ["0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"],
    });
    const about = await lab.invoke(node, { ...add, env: { CNI_COMMAND: undefined } });
    assert.equal(about.code, 0);
    assert.equal(about.stdout, "");
    assert.match(about.stderr, /CNI protocol versions supported: 0\.1\.0, .*1\.1\.0/);
  });
});
