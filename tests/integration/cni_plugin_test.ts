/**
 * The flannel CNI plugin against the real reference plugins (`bridge`, `host-local` from /usr/lib/cni), as root.
 * The plugin always runs inside a throwaway "node" namespace (`ip netns exec`), so cni0 and the veths are created
 * there, never in the main namespace; host-local's state and the plugin's dataDir live in a temp directory.
 */
import assert from "node:assert/strict";
import { Netns } from "../../harness/netns.ts";
import { run } from "../../harness/process.ts";
import { tempDir, uniqueName } from "../helpers/tmpdir.ts";
import { installPlugin } from "../../agent/cni/install.ts";

const REFERENCE = "/usr/lib/cni";
const UPSTREAM = Deno.env.get("FLANNEL_UPSTREAM_CNI"); // optional: upstream's plugin binary, for a byte comparison

interface Invocation {
  readonly command: string;
  readonly containerId?: string | undefined;
  readonly netns?: string | undefined;
  readonly ifname?: string | undefined;
  readonly stdin: string | Record<string, unknown>;
  /** Extra or overriding variables; `undefined` removes a variable. */
  readonly env?: Record<string, string | undefined>;
  readonly cniPath?: string;
}

interface Reply {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly json: Record<string, unknown> | undefined;
}

/** A temp dir with a CNI bin dir (our `flannel` launcher plus links to bridge/host-local), and helpers. */
async function cniLab() {
  const dir = await tempDir("flannel-cni-test-");
  const bin = `${dir.path}/bin`;
  await installPlugin({ dir: bin });
  for (const p of ["bridge", "host-local", "loopback"]) {
    await Deno.symlink(`${REFERENCE}/${p}`, `${bin}/${p}`);
  }
  const namespaces: Netns[] = [];
  const lab = {
    dir: dir.path,
    bin,
    async netns(prefix: string): Promise<Netns> {
      const ns = await Netns.create(uniqueName(prefix));
      namespaces.push(ns);
      return ns;
    },
    async subnetEnv(name: string, text: string): Promise<string> {
      const path = `${dir.path}/${name}`;
      await Deno.writeTextFile(path, text);
      return path;
    },
    /** Runs the plugin inside `node` the way a runtime would. */
    async invoke(node: Netns, inv: Invocation, program = `${bin}/flannel`): Promise<Reply> {
      const vars: Record<string, string | undefined> = {
        CNI_COMMAND: inv.command,
        CNI_CONTAINERID: inv.containerId,
        CNI_NETNS: inv.netns,
        CNI_IFNAME: inv.ifname ?? "eth0",
        CNI_PATH: inv.cniPath ?? bin,
        ...inv.env,
      };
      const set = Object.entries(vars).filter(([, v]) => v !== undefined).map(([k, v]) => `${k}=${v}`);
      const unset = Object.entries(vars).filter(([, v]) => v === undefined).flatMap(([k]) => ["-u", k]);
      const stdin = typeof inv.stdin === "string" ? inv.stdin : JSON.stringify(inv.stdin);
      // `env -u` so that the test's own environment cannot leak CNI_* variables in.
      const res = await run(["ip", "netns", "exec", node.name, "env", ...unset, ...set, program], {
        stdin,
        check: false,
        timeoutMs: 30_000,
      });
      let json: Record<string, unknown> | undefined;
      try {
        json = res.stdout.trim() ? JSON.parse(res.stdout) : undefined;
      } catch { /* left undefined: the assertion shows stdout */ }
      return { code: res.code, stdout: res.stdout, stderr: res.stderr, json };
    },
    async [Symbol.asyncDispose]() {
      for (const ns of namespaces.reverse()) await ns.delete();
      await dir[Symbol.asyncDispose]();
    },
  };
  return lab;
}

const SUBNET_ENV =
  "FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.1.1/24\nFLANNEL_MTU=1400\nFLANNEL_IPMASQ=true\n";

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch {
    return false;
  }
}

async function listDir(path: string): Promise<string[]> {
  const names: string[] = [];
  try {
    for await (const e of Deno.readDir(path)) names.push(e.name);
  } catch { /* missing */ }
  return names.sort();
}

/** The addresses host-local holds (its state files named after IPs). */
async function heldAddresses(ipamDir: string, network: string): Promise<string[]> {
  return (await listDir(`${ipamDir}/${network}`)).filter((n) => /^\d+\.\d+\.\d+\.\d+$|:/.test(n));
}

interface IpAddrJson {
  ifname: string;
  mtu: number;
  addr_info: { family: string; local: string; prefixlen: number }[];
}

async function ipv4Of(ns: Netns, dev: string): Promise<{ addrs: string[]; mtu: number } | undefined> {
  const res = await ns.ip(["-j", "addr", "show", "dev", dev], { check: false });
  if (res.code !== 0) return undefined;
  const [link] = JSON.parse(res.stdout) as IpAddrJson[];
  if (!link) return undefined;
  return {
    addrs: link.addr_info.filter((a) => a.family === "inet").map((a) => `${a.local}/${a.prefixlen}`),
    mtu: link.mtu,
  };
}

async function vethCount(ns: Netns): Promise<number> {
  const links = await ns.ipJson<{ ifname: string; link_type?: string; linkinfo?: { info_kind?: string } }[]>(
    ["-d", "link", "show", "type", "veth"],
  );
  return links.length;
}

Deno.test("CNI ADD/CHECK/DEL: two pods on one node get addresses, routes and MTU; DEL releases everything", async () => {
  await using lab = await cniLab();
  const node = await lab.netns("fltn");
  const pods = [await lab.netns("fltp"), await lab.netns("fltp")];
  const subnetFile = await lab.subnetEnv("subnet.env", SUBNET_ENV);
  const ipamDir = `${lab.dir}/ipam`;
  const dataDir = `${lab.dir}/flannel`;
  const conf = {
    cniVersion: "1.0.0",
    name: "cbr0",
    type: "flannel",
    subnetFile,
    dataDir,
    ipam: { dataDir: ipamDir },
    delegate: { hairpinMode: true, isDefaultGateway: true },
  };
  const results: Record<string, unknown>[] = [];
  const addresses: string[] = [];
  for (const [i, pod] of pods.entries()) {
    const add = await lab.invoke(node, {
      command: "ADD",
      containerId: `pod${i}`,
      netns: `/run/netns/${pod.name}`,
      stdin: conf,
    });
    assert.equal(add.code, 0, add.stdout + add.stderr);
    const result = add.json!;
    results.push(result);
    assert.equal(result["cniVersion"], "1.0.0");
    const [ip] = result["ips"] as { address: string; gateway: string; interface: number }[];
    assert.match(ip!.address, /^10\.244\.1\.\d+\/24$/);
    assert.equal(ip!.gateway, "10.244.1.1");
    addresses.push(ip!.address);

    const eth0 = await ipv4Of(pod, "eth0");
    assert.deepEqual(eth0, { addrs: [ip!.address], mtu: 1400 });
    const routes = await pod.ipJson<{ dst: string; gateway?: string }[]>(["route", "show"]);
    assert.ok(routes.some((r) => r.dst === "default" && r.gateway === "10.244.1.1"), JSON.stringify(routes));
    assert.ok(
      routes.some((r) => r.dst === "10.244.0.0/16" && r.gateway === "10.244.1.1"),
      JSON.stringify(routes),
    );
  }
  assert.notEqual(addresses[0], addresses[1]);
  assert.deepEqual((await ipv4Of(node, "cni0"))?.addrs, ["10.244.1.1/24"]);
  assert.equal(await vethCount(node), 2);
  assert.deepEqual(await listDir(dataDir), ["pod0@eth0", "pod1@eth0"]);
  assert.deepEqual(await heldAddresses(ipamDir, "cbr0"), addresses.map((a) => a.split("/")[0]!).sort());

  // The pods reach each other over cni0.
  const ping = await pods[0]!.exec(["ping", "-c", "1", "-W", "2", addresses[1]!.split("/")[0]!], {
    check: false,
  });
  assert.equal(ping.code, 0, ping.stdout);

  for (const [i, pod] of pods.entries()) {
    const check = await lab.invoke(node, {
      command: "CHECK",
      containerId: `pod${i}`,
      netns: `/run/netns/${pod.name}`,
      stdin: { ...conf, prevResult: results[i] },
    });
    assert.equal(check.code, 0, check.stdout + check.stderr);
    assert.equal(check.stdout, "");
  }

  // CHECK catches a pod whose address was taken away.
  await pods[1]!.ip(["addr", "flush", "dev", "eth0"]);
  const broken = await lab.invoke(node, {
    command: "CHECK",
    containerId: "pod1",
    netns: `/run/netns/${pods[1]!.name}`,
    stdin: { ...conf, prevResult: results[1] },
  });
  assert.equal(broken.code, 1);
  assert.match(String(broken.json?.["msg"]), /^delegate "bridge" CHECK failed/);

  const del = { command: "DEL", containerId: "pod0", netns: `/run/netns/${pods[0]!.name}`, stdin: conf };
  const first = await lab.invoke(node, del);
  assert.equal(first.code, 0, first.stdout + first.stderr);
  assert.equal(first.stdout, "");
  assert.equal(await ipv4Of(pods[0]!, "eth0"), undefined);
  assert.equal(await vethCount(node), 1);
  assert.equal(await exists(`${dataDir}/pod0@eth0`), false);
  assert.deepEqual(await heldAddresses(ipamDir, "cbr0"), [addresses[1]!.split("/")[0]!]);

  const second = await lab.invoke(node, del);
  assert.equal(second.code, 0, second.stdout + second.stderr);
  // DEL without a namespace (the runtime lost it) also succeeds.
  const noNetns = await lab.invoke(node, { ...del, netns: undefined });
  assert.equal(noNetns.code, 0, noNetns.stdout);

  const checkGone = await lab.invoke(node, {
    command: "CHECK",
    containerId: "pod0",
    netns: `/run/netns/${pods[0]!.name}`,
    stdin: { ...conf, prevResult: results[0] },
  });
  assert.equal(checkGone.json?.["code"], 3);

  const del1 = await lab.invoke(node, { ...del, containerId: "pod1", netns: `/run/netns/${pods[1]!.name}` });
  assert.equal(del1.code, 0, del1.stdout);
  assert.deepEqual(await heldAddresses(ipamDir, "cbr0"), []);
  assert.deepEqual(await listDir(dataDir), []);
  assert.equal(await vethCount(node), 0);
});

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

Deno.test("CNI 1.1.0: ADD/CHECK/DEL through a 1.0-era bridge, STATUS readiness, GC of stale attachments", async () => {
  await using lab = await cniLab();
  const node = await lab.netns("fltn");
  const pods = [await lab.netns("fltp"), await lab.netns("fltp")];
  const subnetFile = `${lab.dir}/subnet.env`;
  const ipamDir = `${lab.dir}/ipam`;
  const dataDir = `${lab.dir}/flannel`;
  const conf = {
    cniVersion: "1.1.0",
    name: "cbr0",
    type: "flannel",
    subnetFile,
    dataDir,
    ipam: { dataDir: ipamDir },
  };

  const notReady = await lab.invoke(node, { command: "STATUS", stdin: conf });
  assert.equal(notReady.json?.["code"], 50, notReady.stdout);
  assert.match(String(notReady.json?.["details"]), /is the flannel agent running/);
  await Deno.writeTextFile(subnetFile, SUBNET_ENV);
  const ready = await lab.invoke(node, { command: "STATUS", stdin: conf });
  assert.equal(ready.code, 0, ready.stdout);

  const results: Record<string, unknown>[] = [];
  for (const [i, pod] of pods.entries()) {
    const add = await lab.invoke(node, {
      command: "ADD",
      containerId: `p${i}`,
      netns: `/run/netns/${pod.name}`,
      stdin: conf,
    });
    assert.equal(add.code, 0, add.stdout + add.stderr);
    assert.equal(add.json?.["cniVersion"], "1.1.0");
    results.push(add.json!);
  }
  const check = await lab.invoke(node, {
    command: "CHECK",
    containerId: "p0",
    netns: `/run/netns/${pods[0]!.name}`,
    stdin: { ...conf, prevResult: results[0] },
  });
  assert.equal(check.code, 0, check.stdout + check.stderr);

  // The runtime says only p0 is still in use: GC releases p1's address.
  const gc = await lab.invoke(node, {
    command: "GC",
    stdin: { ...conf, "cni.dev/valid-attachments": [{ containerID: "p0", ifname: "eth0" }] },
  });
  assert.equal(gc.code, 0, gc.stdout + gc.stderr);
  assert.deepEqual(await listDir(dataDir), ["p0@eth0"]);
  const held = await heldAddresses(ipamDir, "cbr0");
  const p0 = (results[0]!["ips"] as { address: string }[])[0]!.address.split("/")[0]!;
  assert.deepEqual(held, [p0]);

  const del = await lab.invoke(node, {
    command: "DEL",
    containerId: "p0",
    netns: `/run/netns/${pods[0]!.name}`,
    stdin: conf,
  });
  assert.equal(del.code, 0, del.stdout);
  assert.deepEqual(await heldAddresses(ipamDir, "cbr0"), []);
});

Deno.test("CNI DEL of a pod added by upstream's plugin (container-ID-only file) releases it", async () => {
  await using lab = await cniLab();
  const node = await lab.netns("fltn");
  const pod = await lab.netns("fltp");
  const subnetFile = await lab.subnetEnv("subnet.env", SUBNET_ENV);
  const ipamDir = `${lab.dir}/ipam`;
  const dataDir = `${lab.dir}/flannel`;
  const conf = {
    cniVersion: "1.0.0",
    name: "cbr0",
    type: "flannel",
    subnetFile,
    dataDir,
    ipam: { dataDir: ipamDir },
  };
  const inv = { command: "ADD", containerId: "old", netns: `/run/netns/${pod.name}`, stdin: conf };
  assert.equal((await lab.invoke(node, inv)).code, 0);
  // Make it look like upstream's plugin added it.
  await Deno.rename(`${dataDir}/old@eth0`, `${dataDir}/old`);
  const del = await lab.invoke(node, { ...inv, command: "DEL" });
  assert.equal(del.code, 0, del.stdout);
  assert.deepEqual(await listDir(dataDir), []);
  assert.deepEqual(await heldAddresses(ipamDir, "cbr0"), []);
  assert.equal(await ipv4Of(pod, "eth0"), undefined);
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
