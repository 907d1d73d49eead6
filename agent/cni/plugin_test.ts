import assert from "node:assert/strict";
import { runPlugin } from "./plugin.ts";
import type { ExecResult, PluginIo } from "./plugin_io.ts";

const SUBNET_ENV =
  "FLANNEL_NETWORK=10.1.0.0/16\nFLANNEL_SUBNET=10.1.17.1/24\nFLANNEL_MTU=1472\nFLANNEL_IPMASQ=true\n";
const SAVED = '{"cniVersion":"1.0.0","ipMasq":false,"ipam":{"ranges":[[{"subnet":"10.1.17.0/24"}]],' +
  '"routes":[{"dst":"10.1.0.0/16"}],"type":"host-local"},"isGateway":true,"mtu":1472,"name":"cbr0","type":"bridge"}';
const RESULT = {
  cniVersion: "1.0.0",
  interfaces: [{ name: "cni0" }, { name: "veth0" }, { name: "eth0", sandbox: "/run/netns/p" }],
  ips: [{ interface: 2, address: "10.1.17.2/24", gateway: "10.1.17.1" }],
};

interface Call {
  readonly program: string;
  readonly command: string;
  readonly stdin: string;
  readonly env: Record<string, string>;
}

type Delegate = (call: Call) => ExecResult;

const ok = (stdout = ""): ExecResult => ({ code: 0, stdout, stderr: "" });
const fail = (code: number, msg: string): ExecResult => ({
  code: 1,
  stdout: JSON.stringify({ code, msg }),
  stderr: "",
});

/** An in-memory world: files, environment, a CNI_PATH with `bridge`, and a scripted delegate. */
function fakeIo(options: {
  env?: Record<string, string | undefined>;
  stdin?: string | Record<string, unknown>;
  files?: Record<string, string>;
  delegate?: Delegate;
  path?: Record<string, string>;
}) {
  const files = new Map(Object.entries(options.files ?? {}));
  const calls: Call[] = [];
  const logs: string[] = [];
  const env: Record<string, string | undefined> = {
    CNI_CONTAINERID: "c1",
    CNI_NETNS: "/run/netns/p",
    CNI_IFNAME: "eth0",
    CNI_PATH: "/opt/cni/bin",
    ...options.env,
  };
  const stdin = typeof options.stdin === "string" ? options.stdin : JSON.stringify(
    options.stdin ??
      { cniVersion: "1.0.0", name: "cbr0", type: "flannel", subnetFile: "/run/s.env", dataDir: "/d" },
  );
  const path = options.path ?? { bridge: "/opt/cni/bin/bridge" };
  const io: PluginIo = {
    getenv: (n) => env[n],
    readStdin: () => Promise.resolve(stdin),
    readFile: (p) => Promise.resolve(files.get(p)),
    writeFile: (p, t) => {
      files.set(p, t);
      return Promise.resolve();
    },
    removeFile: (p) => {
      files.delete(p);
      return Promise.resolve();
    },
    listDir: (dir) =>
      Promise.resolve(
        [...files.keys()].filter((k) => k.startsWith(dir + "/")).map((k) => k.slice(dir.length + 1)),
      ),
    findInPath: (name) => Promise.resolve(path[name]),
    exec: (program, o) => {
      const call = {
        program,
        command: o.env["CNI_COMMAND"] ?? env["CNI_COMMAND"] ?? "",
        stdin: o.stdin,
        env: o.env,
      };
      calls.push(call);
      return Promise.resolve((options.delegate ?? (() => ok(JSON.stringify(RESULT))))(call));
    },
    log: (l) => logs.push(l),
  };
  return { io, files, calls, logs };
}

function parse(stdout: string): Record<string, unknown> {
  return JSON.parse(stdout) as Record<string, unknown>;
}

Deno.test("ADD saves the delegate config keyed by container and interface, runs bridge ADD, prints its result", async () => {
  const w = fakeIo({ env: { CNI_COMMAND: "ADD" }, files: { "/run/s.env": SUBNET_ENV } });
  const out = await runPlugin(w.io);
  assert.equal(out.exitCode, 0, out.stdout);
  assert.deepEqual(parse(out.stdout), RESULT);
  assert.equal(w.files.get("/d/c1@eth0"), SAVED);
  assert.deepEqual(w.calls.map((c) => [c.program, c.command, c.stdin]), [[
    "/opt/cni/bin/bridge",
    "ADD",
    SAVED,
  ]]);
});

Deno.test("ADD with a missing subnet.env fails with code 11 naming the agent, and saves nothing", async () => {
  const w = fakeIo({ env: { CNI_COMMAND: "ADD" } });
  const out = await runPlugin(w.io);
  assert.equal(out.exitCode, 1);
  const err = parse(out.stdout);
  assert.equal(err["code"], 11);
  assert.equal(err["cniVersion"], "1.0.0");
  assert.match(err["msg"] as string, /\/run\/s\.env does not exist/);
  assert.match(
    err["details"] as string,
    /is the flannel agent running on this node\? it writes \/run\/s\.env/,
  );
  assert.equal(w.files.size, 0);
  assert.equal(w.calls.length, 0);
});

Deno.test("ADD with a half-written subnet.env fails with code 11 listing the missing keys", async () => {
  const w = fakeIo({
    env: { CNI_COMMAND: "ADD" },
    files: { "/run/s.env": "FLANNEL_NETWORK=10.1.0.0/16\nFLANNEL_SUB" },
  });
  const err = parse((await runPlugin(w.io)).stdout);
  assert.equal(err["code"], 11);
  assert.match(
    err["msg"] as string,
    /is missing FLANNEL_SUBNET, FLANNEL_IPV6_SUBNET, FLANNEL_MTU, FLANNEL_IPMASQ/,
  );
  assert.match(err["details"] as string, /half-written/);
});

Deno.test("ADD with the delegate missing from CNI_PATH fails before saving anything", async () => {
  const w = fakeIo({ env: { CNI_COMMAND: "ADD" }, files: { "/run/s.env": SUBNET_ENV }, path: {} });
  const err = parse((await runPlugin(w.io)).stdout);
  assert.equal(err["code"], 999);
  assert.match(err["msg"] as string, /failed to find plugin "bridge" in path \[\/opt\/cni\/bin\]/);
  assert.match(err["details"] as string, /install the reference CNI plugins/);
  assert.deepEqual([...w.files.keys()], ["/run/s.env"]);
});

Deno.test("a failed delegate ADD is undone with the delegate's DEL and the saved file is removed", async () => {
  const w = fakeIo({
    env: { CNI_COMMAND: "ADD" },
    files: { "/run/s.env": SUBNET_ENV },
    delegate: (c) =>
      c.command === "ADD"
        ? fail(11, 'failed to set bridge addr: "cni0" already has an IP address different from 10.1.17.1/24')
        : ok(),
  });
  const out = await runPlugin(w.io);
  assert.equal(out.exitCode, 1);
  const err = parse(out.stdout);
  assert.equal(err["code"], 11); // the delegate's code is kept
  assert.match(err["msg"] as string, /^delegate "bridge" ADD failed: failed to set bridge addr/);
  assert.match(err["details"] as string, /ip link delete cni0/);
  assert.deepEqual(w.calls.map((c) => [c.command, c.stdin]), [["ADD", SAVED], ["DEL", SAVED]]);
  assert.equal(w.files.has("/d/c1@eth0"), false);
});

Deno.test("when the cleanup DEL fails too, the saved file is kept for the runtime's DEL", async () => {
  const w = fakeIo({
    env: { CNI_COMMAND: "ADD" },
    files: { "/run/s.env": SUBNET_ENV },
    delegate: () => ({ code: 1, stdout: "", stderr: "panic: boom" }),
  });
  const err = parse((await runPlugin(w.io)).stdout);
  assert.equal(err["code"], 999);
  assert.match(err["msg"] as string, /delegate "bridge" ADD failed with exit code 1: panic: boom/);
  assert.match(err["details"] as string, /\/d\/c1@eth0 was kept/);
  assert.equal(w.files.get("/d/c1@eth0"), SAVED);
});

Deno.test("an unreadable delegate result is treated as a failed ADD", async () => {
  const w = fakeIo({
    env: { CNI_COMMAND: "ADD" },
    files: { "/run/s.env": SUBNET_ENV },
    delegate: (c) => ok(c.command === "ADD" ? "garbage" : ""),
  });
  const out = await runPlugin(w.io);
  assert.equal(out.exitCode, 1);
  assert.match(parse(out.stdout)["msg"] as string, /printed an unreadable result/);
  assert.equal(w.files.has("/d/c1@eth0"), false);
});

Deno.test("ADD at cniVersion 1.1.0 falls back to 1.0.0 for a delegate that refuses 1.1.0", async () => {
  const w = fakeIo({
    env: { CNI_COMMAND: "ADD" },
    stdin: { cniVersion: "1.1.0", name: "cbr0", subnetFile: "/run/s.env", dataDir: "/d" },
    files: { "/run/s.env": SUBNET_ENV },
    delegate: (c) => {
      if (c.command === "VERSION") return ok('{"cniVersion":"1.0.0","supportedVersions":["0.4.0","1.0.0"]}');
      const v = (JSON.parse(c.stdin) as { cniVersion: string }).cniVersion;
      return v === "1.1.0" ? fail(1, "incompatible CNI versions") : ok(JSON.stringify(RESULT));
    },
  });
  const out = await runPlugin(w.io);
  assert.equal(out.exitCode, 0, out.stdout);
  assert.equal(parse(out.stdout)["cniVersion"], "1.1.0");
  assert.deepEqual(w.calls.map((c) => c.command), ["ADD", "VERSION", "ADD"]);
  assert.equal(w.files.get("/d/c1@eth0"), SAVED); // the version actually spoken, for DEL and CHECK
});

Deno.test("ADD with a prevResult chains it before the delegate's result", async () => {
  const prevResult = {
    cniVersion: "1.0.0",
    interfaces: [{ name: "x" }],
    ips: [{ interface: 0, address: "192.0.2.1/32" }],
  };
  const w = fakeIo({
    env: { CNI_COMMAND: "ADD" },
    stdin: { cniVersion: "1.0.0", name: "cbr0", subnetFile: "/run/s.env", dataDir: "/d", prevResult },
    files: { "/run/s.env": SUBNET_ENV },
  });
  const result = parse((await runPlugin(w.io)).stdout);
  assert.equal((result["interfaces"] as unknown[]).length, 4);
  assert.deepEqual((result["ips"] as { interface: number }[]).map((i) => i.interface), [0, 3]);
  assert.equal(w.files.get("/d/c1@eth0"), SAVED); // the prevResult is not part of the saved configuration
});

Deno.test("DEL runs the delegate's DEL with the saved bytes and removes the file", async () => {
  const w = fakeIo({ env: { CNI_COMMAND: "DEL" }, files: { "/d/c1@eth0": SAVED } });
  const out = await runPlugin(w.io);
  assert.deepEqual(out, { stdout: "", exitCode: 0 });
  assert.deepEqual(w.calls.map((c) => [c.command, c.stdin]), [["DEL", SAVED]]);
  assert.equal(w.files.size, 0);
});

Deno.test("DEL with nothing saved succeeds without running the delegate", async () => {
  const w = fakeIo({ env: { CNI_COMMAND: "DEL", CNI_NETNS: "" } });
  assert.deepEqual(await runPlugin(w.io), { stdout: "", exitCode: 0 });
  assert.equal(w.calls.length, 0);
});

Deno.test("DEL reads upstream's container-ID-only file when ours is absent", async () => {
  const w = fakeIo({ env: { CNI_COMMAND: "DEL" }, files: { "/d/c1": SAVED } });
  assert.equal((await runPlugin(w.io)).exitCode, 0);
  assert.equal(w.calls.length, 1);
  assert.equal(w.files.has("/d/c1"), false);
});

Deno.test("DEL keeps the saved file when the delegate's DEL fails, so it can be retried", async () => {
  const w = fakeIo({
    env: { CNI_COMMAND: "DEL" },
    files: { "/d/c1@eth0": SAVED },
    delegate: () => fail(5, "io"),
  });
  const out = await runPlugin(w.io);
  assert.equal(out.exitCode, 1);
  assert.equal(parse(out.stdout)["code"], 5);
  assert.equal(w.files.get("/d/c1@eth0"), SAVED);
});

Deno.test("DEL of a garbage saved file succeeds and leaves it, as upstream", async () => {
  const w = fakeIo({ env: { CNI_COMMAND: "DEL" }, files: { "/d/c1@eth0": "{oops" } });
  assert.equal((await runPlugin(w.io)).exitCode, 0);
  assert.equal(w.files.has("/d/c1@eth0"), true);
  assert.equal(w.calls.length, 0);
});

Deno.test("two interfaces of one container are saved and deleted independently", async () => {
  const files = { "/run/s.env": SUBNET_ENV };
  const a = fakeIo({ env: { CNI_COMMAND: "ADD", CNI_IFNAME: "eth0" }, files });
  await runPlugin(a.io);
  const b = fakeIo({ env: { CNI_COMMAND: "ADD", CNI_IFNAME: "net1" }, files: Object.fromEntries(a.files) });
  await runPlugin(b.io);
  assert.deepEqual([...b.files.keys()].sort(), ["/d/c1@eth0", "/d/c1@net1", "/run/s.env"]);
  const d = fakeIo({ env: { CNI_COMMAND: "DEL", CNI_IFNAME: "net1" }, files: Object.fromEntries(b.files) });
  await runPlugin(d.io);
  assert.deepEqual([...d.files.keys()].sort(), ["/d/c1@eth0", "/run/s.env"]);
});

Deno.test("CHECK runs the delegate's CHECK with the saved config plus prevResult", async () => {
  const w = fakeIo({
    env: { CNI_COMMAND: "CHECK" },
    stdin: { cniVersion: "1.0.0", name: "cbr0", subnetFile: "/run/s.env", dataDir: "/d", prevResult: RESULT },
    files: { "/d/c1@eth0": SAVED, "/run/s.env": SUBNET_ENV },
  });
  assert.deepEqual(await runPlugin(w.io), { stdout: "", exitCode: 0 });
  assert.equal(w.calls.length, 1);
  assert.equal(w.calls[0]!.command, "CHECK");
  const sent = JSON.parse(w.calls[0]!.stdin) as Record<string, unknown>;
  assert.deepEqual(sent["prevResult"], RESULT);
  assert.equal(sent["name"], "cbr0");
});

Deno.test("CHECK without prevResult is code 7, without a saved config code 3", async () => {
  const a = fakeIo({ env: { CNI_COMMAND: "CHECK" }, files: { "/d/c1@eth0": SAVED } });
  assert.equal(parse((await runPlugin(a.io)).stdout)["code"], 7);
  const b = fakeIo({
    env: { CNI_COMMAND: "CHECK" },
    stdin: { cniVersion: "1.0.0", name: "cbr0", dataDir: "/d", prevResult: RESULT },
  });
  const err = parse((await runPlugin(b.io)).stdout);
  assert.equal(err["code"], 3);
  assert.match(err["msg"] as string, /no flannel attachment for container c1 interface eth0/);
});

Deno.test("CHECK fails when the node's lease no longer contains the pod's range", async () => {
  const moved = SUBNET_ENV.replace("10.1.17.1/24", "10.1.99.1/24");
  const w = fakeIo({
    env: { CNI_COMMAND: "CHECK" },
    stdin: { cniVersion: "1.0.0", name: "cbr0", subnetFile: "/run/s.env", dataDir: "/d", prevResult: RESULT },
    files: { "/d/c1@eth0": SAVED, "/run/s.env": moved },
  });
  const err = parse((await runPlugin(w.io)).stdout);
  assert.match(
    err["msg"] as string,
    /come from 10\.1\.17\.0\/24, but this node's lease is now 10\.1\.99\.0\/24/,
  );
  assert.equal(w.calls.length, 0);
});

Deno.test("CHECK at 0.3.1 is refused with code 1", async () => {
  const w = fakeIo({
    env: { CNI_COMMAND: "CHECK" },
    stdin: { cniVersion: "0.3.1", name: "cbr0", prevResult: RESULT },
  });
  const err = parse((await runPlugin(w.io)).stdout);
  assert.equal(err["code"], 1);
  assert.equal(err["msg"], "config version does not allow CHECK");
});

Deno.test("VERSION ignores stdin and needs no other variable", async () => {
  const w = fakeIo({ env: { CNI_COMMAND: "VERSION", CNI_PATH: undefined }, stdin: "garbage" });
  const out = await runPlugin(w.io);
  assert.equal(out.exitCode, 0);
  assert.deepEqual(parse(out.stdout)["supportedVersions"], [
    "0.1.0",
    "0.2.0",
    "0.3.0",
    "0.3.1",
    "0.4.0",
    "1.0.0",
    "1.1.0",
  ]);
});

Deno.test("STATUS is ready with subnet.env and code 50 without it", async () => {
  const stdin = { cniVersion: "1.1.0", name: "cbr0", subnetFile: "/run/s.env" };
  const ready = fakeIo({ env: { CNI_COMMAND: "STATUS" }, stdin, files: { "/run/s.env": SUBNET_ENV } });
  assert.deepEqual(await runPlugin(ready.io), { stdout: "", exitCode: 0 });
  const down = fakeIo({ env: { CNI_COMMAND: "STATUS" }, stdin });
  const err = parse((await runPlugin(down.io)).stdout);
  assert.equal(err["code"], 50);
  assert.match(err["details"] as string, /is the flannel agent running/);
});

Deno.test("GC releases this network's attachments that are not valid any more", async () => {
  const other = SAVED.replace('"name":"cbr0"', '"name":"other"');
  const w = fakeIo({
    env: { CNI_COMMAND: "GC" },
    stdin: {
      cniVersion: "1.1.0",
      name: "cbr0",
      dataDir: "/d",
      "cni.dev/valid-attachments": [{ containerID: "keep", ifname: "eth0" }],
    },
    files: { "/d/keep@eth0": SAVED, "/d/gone@eth0": SAVED, "/d/x@eth0": other, "/d/legacy": SAVED },
  });
  assert.deepEqual(await runPlugin(w.io), { stdout: "", exitCode: 0 });
  assert.deepEqual(
    w.calls.map((c) => [c.command, c.env["CNI_CONTAINERID"], c.env["CNI_IFNAME"], c.env["CNI_NETNS"]]),
    [
      ["DEL", "gone", "eth0", ""],
    ],
  );
  assert.deepEqual([...w.files.keys()].sort(), ["/d/keep@eth0", "/d/legacy", "/d/x@eth0"]);
});

Deno.test("errors before the version is known report 1.1.0; after, the config's version", async () => {
  const a = fakeIo({ env: { CNI_COMMAND: "ADD" }, stdin: "" });
  const e1 = parse((await runPlugin(a.io)).stdout);
  assert.deepEqual([e1["cniVersion"], e1["code"]], ["1.1.0", 6]);
  const b = fakeIo({
    env: { CNI_COMMAND: "ADD" },
    stdin: { cniVersion: "0.3.1", name: "n", delegate: { name: "x" } },
  });
  const e2 = parse((await runPlugin(b.io)).stdout);
  assert.deepEqual([e2["cniVersion"], e2["code"]], ["0.3.1", 7]);
});
