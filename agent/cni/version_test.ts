import assert from "node:assert/strict";
import { CniError } from "./errors.ts";
import {
  checkVersion,
  compareVersions,
  configVersion,
  fallbackVersion,
  parseVersion,
  versionInfo,
} from "./version.ts";

/** Runs `fn` and returns what it threw (failing when it threw nothing). */
function caught(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error("expected an exception");
}

Deno.test("parseVersion follows libcni: empty is 0.1.0, missing parts are zero, four parts fail", () => {
  assert.deepEqual(parseVersion(""), [0, 1, 0]);
  assert.deepEqual(parseVersion("1"), [1, 0, 0]);
  assert.deepEqual(parseVersion("0.4"), [0, 4, 0]);
  assert.throws(() => parseVersion("1.0.0.0"), (e: unknown) => e instanceof CniError && e.code === 6);
  assert.throws(() => parseVersion("1.x"), (e: unknown) => e instanceof CniError && e.code === 6);
});

Deno.test("compareVersions orders numerically", () => {
  assert.ok(compareVersions("0.10.0", "0.4.0") > 0);
  assert.equal(compareVersions("1.0", "1.0.0"), 0);
  assert.ok(compareVersions("0.3.1", "1.0.0") < 0);
});

Deno.test("configVersion defaults to 0.1.0 and refuses a non-string", () => {
  assert.equal(configVersion({}), "0.1.0");
  assert.equal(configVersion({ cniVersion: "" }), "0.1.0");
  assert.equal(configVersion({ cniVersion: "1.0.0" }), "1.0.0");
  assert.throws(
    () => configVersion({ cniVersion: 1 }),
    (e: unknown) => e instanceof CniError && e.code === 6,
  );
});

Deno.test("checkVersion accepts the supported versions for ADD and DEL", () => {
  for (const v of ["0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"]) {
    checkVersion("ADD", v);
    checkVersion("DEL", v);
  }
});

Deno.test("checkVersion refuses an unsupported version with code 1 and the list", () => {
  const err = caught(() => checkVersion("ADD", "1.2.0"));
  assert.ok(err instanceof CniError);
  assert.equal(err.code, 1);
  assert.equal(err.message, "incompatible CNI versions");
  assert.match(err.details, /config is "1.2.0", plugin supports \["0.1.0" .* "1.1.0"\]/);
});

Deno.test("checkVersion refuses CHECK before 0.4.0 and STATUS/GC before 1.1.0", () => {
  const code1 = (e: unknown) => e instanceof CniError && e.code === 1;
  assert.throws(() => checkVersion("CHECK", "0.3.1"), code1);
  checkVersion("CHECK", "0.4.0");
  assert.throws(() => checkVersion("STATUS", "1.0.0"), /does not allow STATUS/);
  assert.throws(() => checkVersion("GC", "1.0.0"), /does not allow GC/);
  checkVersion("GC", "1.1.0");
  assert.throws(() => checkVersion("CHECK", "x"), (e: unknown) => e instanceof CniError && e.code === 6);
});

Deno.test("versionInfo is libcni's VERSION answer", () => {
  assert.equal(
    versionInfo(),
    '{"cniVersion":"1.1.0","supportedVersions":["0.1.0","0.2.0","0.3.0","0.3.1","0.4.0","1.0.0","1.1.0"]}\n',
  );
});

Deno.test("fallbackVersion picks the newest 1.x the delegate speaks below the wanted version", () => {
  assert.equal(fallbackVersion("1.1.0", ["0.1.0", "0.4.0", "1.0.0"]), "1.0.0");
  assert.equal(fallbackVersion("1.1.0", ["0.4.0"]), undefined);
  assert.equal(fallbackVersion("1.0.0", ["0.4.0"]), undefined);
  assert.equal(fallbackVersion("1.1.0", ["junk", "1.0.0"]), "1.0.0");
});
