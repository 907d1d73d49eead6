import assert from "node:assert/strict";
import { CniError } from "./errors.ts";
import { decodeNetConf, parseFlannelNetConf, readCniEnv, validateIfname } from "./netconf.ts";

/** Runs `fn` and returns what it threw (failing when it threw nothing). */
function caught(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error("expected an exception");
}

const code = (n: number) => (e: unknown) => e instanceof CniError && e.code === n;

function env(vars: Record<string, string>) {
  return (name: string) => vars[name];
}

const FULL = {
  CNI_CONTAINERID: "c1",
  CNI_NETNS: "/run/netns/p",
  CNI_IFNAME: "eth0",
  CNI_PATH: "/opt/cni/bin",
};

Deno.test("readCniEnv reads the variables of an ADD", () => {
  const e = readCniEnv(env({ CNI_COMMAND: "ADD", ...FULL, CNI_ARGS: "K8S_POD_NAME=x" }));
  assert.deepEqual(e, {
    command: "ADD",
    containerId: "c1",
    netns: "/run/netns/p",
    ifname: "eth0",
    args: "K8S_POD_NAME=x",
    path: "/opt/cni/bin",
  });
});

Deno.test("readCniEnv lists every missing variable with code 4", () => {
  const err = caught(() => readCniEnv(env({ CNI_COMMAND: "ADD", CNI_PATH: "/x" })));
  assert.ok(err instanceof CniError);
  assert.equal(err.message, "required env variables [CNI_CONTAINERID,CNI_NETNS,CNI_IFNAME] missing");
  assert.match(err.details, /container runtime sets CNI_COMMAND/);
  assert.throws(() => readCniEnv(env({})), /\[CNI_COMMAND\] missing/);
});

Deno.test("readCniEnv needs no CNI_NETNS for DEL, only CNI_PATH for STATUS and GC, nothing for VERSION", () => {
  assert.equal(readCniEnv(env({ CNI_COMMAND: "DEL", ...FULL, CNI_NETNS: "" })).netns, "");
  assert.equal(readCniEnv(env({ CNI_COMMAND: "STATUS", CNI_PATH: "/x" })).command, "STATUS");
  assert.equal(readCniEnv(env({ CNI_COMMAND: "GC", CNI_PATH: "/x" })).command, "GC");
  assert.equal(readCniEnv(env({ CNI_COMMAND: "VERSION" })).command, "VERSION");
  assert.throws(() => readCniEnv(env({ CNI_COMMAND: "GC" })), /\[CNI_PATH\] missing/);
});

Deno.test("readCniEnv refuses an unknown command and bad IDs and interface names", () => {
  assert.throws(() => readCniEnv(env({ CNI_COMMAND: "UP", ...FULL })), /unknown CNI_COMMAND: UP/);
  assert.throws(() => readCniEnv(env({ CNI_COMMAND: "ADD", ...FULL, CNI_CONTAINERID: "a/b" })), code(4));
  assert.throws(() => readCniEnv(env({ CNI_COMMAND: "ADD", ...FULL, CNI_CONTAINERID: "-a" })), code(4));
  assert.throws(() => readCniEnv(env({ CNI_COMMAND: "ADD", ...FULL, CNI_IFNAME: "a:b" })), code(4));
  assert.throws(() => validateIfname("0123456789abcdef"), /too long/);
  assert.throws(() => validateIfname(".."), /\. or \.\./);
  assert.throws(() => validateIfname("a b"), /whitespace/);
  validateIfname("eth0");
});

Deno.test("decodeNetConf refuses empty stdin, garbage and non-objects with code 6", () => {
  assert.throws(
    () => decodeNetConf(""),
    (e: unknown) => code(6)(e) && /empty network configuration/.test(`${e}`),
  );
  assert.throws(() => decodeNetConf("  \n"), code(6));
  assert.throws(() => decodeNetConf("{not json"), /error decoding the network configuration on stdin/);
  assert.throws(() => decodeNetConf("[1]"), /expected a JSON object, got an array/);
  assert.throws(() => decodeNetConf("null"), code(6));
  assert.throws(() => decodeNetConf('{"name": 3}'), code(6));
});

Deno.test("decodeNetConf needs a valid network name (code 7)", () => {
  assert.throws(
    () => decodeNetConf('{"type":"flannel"}'),
    (e: unknown) => code(7)(e) && /missing network name/.test(`${e}`),
  );
  assert.throws(() => decodeNetConf('{"name":"a b"}'), /invalid characters found in network name/);
  assert.equal(decodeNetConf('{"name":"cbr0"}')["name"], "cbr0");
});

Deno.test("parseFlannelNetConf applies upstream's defaults and checks field types", () => {
  const conf = parseFlannelNetConf({ name: "cbr0", cniVersion: "0.3.1", delegate: null });
  assert.equal(conf.subnetFile, "/run/flannel/subnet.env");
  assert.equal(conf.dataDir, "/var/lib/cni/flannel");
  assert.equal(conf.delegate, undefined);
  assert.equal(conf.cniVersion, "0.3.1");
  assert.equal(parseFlannelNetConf({ name: "n" }).cniVersion, "");
  assert.throws(() => parseFlannelNetConf({ name: "n", delegate: "bridge" }), code(7));
  assert.throws(() => parseFlannelNetConf({ name: "n", ipam: [] }), /"ipam" must be a JSON object/);
  assert.throws(() => parseFlannelNetConf({ name: "n", dataDir: 5 }), /"dataDir" must be a string/);
});
