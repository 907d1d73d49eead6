/**
 * The ./flannel-lab wrapper's first-run install of Deno into .tools/deno: three wrappers started at once on a
 * fresh copy (no .tools/) install it once, under a lock, the others waiting for that install; and an install
 * that fails leaves no temporary directory behind. Uses npm (and its cache) to install the pinned Deno.
 */
import assert from "node:assert/strict";

const ROOT = new URL("../../", import.meta.url).pathname;
/** What `./flannel-lab --version` needs: the wrapper, the config and mod.ts with its static imports (cli/). */
const FILES = ["flannel-lab", "deno.json", "deno.lock", "mod.ts", "cli"];
const DENO_VERSION = /^DENO_VERSION=(\S+)$/m.exec(await Deno.readTextFile(`${ROOT}flannel-lab`))![1]!;

/** A fresh copy of the wrapper and what it runs, without .tools/. */
async function freshCopy(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "flannel-lab-wrapper-test-" });
  const cp = await new Deno.Command("cp", { args: ["-r", ...FILES.map((f) => ROOT + f), dir] }).output();
  assert.equal(cp.code, 0, new TextDecoder().decode(cp.stderr));
  return dir;
}

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

async function runIn(
  dir: string,
  cmd: string,
  args: string[],
  env?: Record<string, string>,
): Promise<Result> {
  const out = await new Deno.Command(cmd, { args, cwd: dir, env: env ?? {}, stdin: "null" }).output();
  const d = new TextDecoder();
  return { code: out.code, stdout: d.decode(out.stdout), stderr: d.decode(out.stderr) };
}

/** The entries of `dir`/.tools other than the lock file and the installed deno/. */
async function leftovers(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const e of Deno.readDir(`${dir}/.tools`)) names.push(e.name);
  return names.filter((n) => n !== ".deno-install.lock" && n !== "deno").sort();
}

Deno.test("wrapper: three first runs at once install Deno once; the others wait and then run", async () => {
  const dir = await freshCopy();
  try {
    const results = await Promise.all([1, 2, 3].map(() => runIn(dir, "./flannel-lab", ["--version"])));
    const log = results.map((r, i) => `--- run ${i + 1} (exit ${r.code})\n${r.stdout}${r.stderr}`).join("\n");
    for (const r of results) {
      assert.equal(r.code, 0, log);
      assert.equal(r.stdout.trim(), "flannel-lab 0.1.0", log);
    }
    const installs = results.map((r) => r.stderr.match(/^flannel-lab: installing Deno/gm)?.length ?? 0);
    assert.equal(installs.reduce((a, b) => a + b, 0), 1, `want exactly one install:\n${log}`);
    const waits = results.map((r) => r.stderr.match(/waiting for another flannel-lab/g)?.length ?? 0);
    assert.ok(waits.every((w) => w <= 1), log);

    const deno = await runIn(dir, ".tools/deno/bin/deno", ["--version"]);
    assert.equal(deno.code, 0, deno.stderr);
    assert.match(deno.stdout, new RegExp(`^deno ${DENO_VERSION.replaceAll(".", "\\.")} `));
    // Relative, so it survives the rename from the temporary directory (and moving the checkout).
    const link = await Deno.readLink(`${dir}/.tools/deno/bin/deno`);
    assert.ok(!link.startsWith("/"), `symlink is absolute: ${link}`);
    assert.deepEqual(await leftovers(dir), []);

    // Installed: the fast path neither installs nor waits.
    const again = await runIn(dir, "./flannel-lab", ["--version"]);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(again.stdout.trim(), "flannel-lab 0.1.0");
    assert.equal(again.stderr, "");
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});

Deno.test("wrapper: a failed install leaves neither .tools/deno nor a temporary directory", async () => {
  const dir = await freshCopy();
  try {
    // An npm that creates part of the install, then fails.
    await Deno.mkdir(`${dir}/fakebin`);
    await Deno.writeTextFile(
      `${dir}/fakebin/npm`,
      '#!/bin/sh\nwhile [ "$1" != --prefix ]; do shift; done\nmkdir -p "$2/node_modules/deno"\nexit 1\n',
      { mode: 0o755 },
    );
    const r = await runIn(dir, "./flannel-lab", ["--version"], {
      PATH: `${dir}/fakebin:${Deno.env.get("PATH") ?? "/usr/bin:/bin"}`,
    });
    assert.notEqual(r.code, 0, r.stderr);
    assert.match(r.stderr, /could not install deno@/);
    assert.deepEqual(await leftovers(dir), []);
    await assert.rejects(Deno.lstat(`${dir}/.tools/deno`), Deno.errors.NotFound);
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});
