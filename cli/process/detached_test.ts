import assert from "node:assert/strict";
import { CommandError } from "./command_error.ts";
import { attachDetached, isAlive, spawnDetached, stopDetached } from "./detached.ts";

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function waitFor(what: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 300 && !(await what()); i++) await new Promise((r) => setTimeout(r, 10));
}

Deno.test("spawnDetached: the process leads its own process group and logs to the file", async () => {
  await withTempDir(async (dir) => {
    const log = `${dir}/p.log`;
    const proc = await spawnDetached(["sh", "-c", 'echo "hello $LAB_WORD"; exec sleep 30'], {
      logFile: log,
      env: { LAB_WORD: "world" },
    });
    try {
      assert.ok(await proc.alive());
      // Field 5 of /proc/PID/stat, the process group: set once the shell has exec'd setsid.
      const group = async () =>
        (await Deno.readTextFile(`/proc/${proc.pid}/stat`)).split(") ")[1]!.split(" ")[2];
      await waitFor(async () => (await group()) === String(proc.pid));
      assert.equal(await group(), String(proc.pid), "process group id");
      await waitFor(async () => (await Deno.readTextFile(log)).includes("hello world"));
      assert.equal(await Deno.readTextFile(log), "hello world\n");
    } finally {
      await proc.stop("SIGTERM", 1000);
    }
    assert.equal(await proc.alive(), false);
  });
});

Deno.test("stopDetached: stops the whole process group, escalating to SIGKILL when TERM is ignored", async () => {
  await withTempDir(async (dir) => {
    const proc = await spawnDetached(
      ["sh", "-c", "trap '' TERM; sleep 30 & echo $! > " + `${dir}/child; wait`],
      { logFile: `${dir}/p.log` },
    );
    await waitFor(async () => (await Deno.readTextFile(`${dir}/child`).catch(() => "")).endsWith("\n"));
    const grandchild = Number((await Deno.readTextFile(`${dir}/child`)).trim());
    const started = performance.now();
    await stopDetached(proc, { graceMs: 200 });
    const took = performance.now() - started;
    assert.equal(isAlive(proc), false);
    assert.ok(took >= 150 && took < 4000, `took ${took} ms`);
    const stat = await Deno.readTextFile(`/proc/${grandchild}/stat`).catch(() => undefined);
    assert.ok(stat === undefined || stat.split(") ")[1]!.startsWith("Z"), "grandchild still runs");
  });
});

Deno.test("attachDetached: a reference whose start time differs is neither alive nor stopped", async () => {
  await withTempDir(async (dir) => {
    const proc = await spawnDetached(["sleep", "30"], { logFile: `${dir}/p.log` });
    try {
      const stale = attachDetached({ ...proc, startTime: "1" });
      assert.equal(await stale.alive(), false);
      await stale.stop();
      assert.equal(await proc.alive(), true);
    } finally {
      await proc.stop();
    }
  });
});

Deno.test("spawnDetached: an already aborted signal rejects without starting anything", async () => {
  const error = await spawnDetached(["sleep", "30"], { logFile: "/dev/null", signal: AbortSignal.abort() })
    .catch((e) => e);
  assert.ok(error instanceof CommandError);
  assert.equal(error.aborted, true);
});
