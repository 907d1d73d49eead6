import assert from "node:assert/strict";
import { CommandError } from "./command_error.ts";
import { spawn } from "./spawn.ts";

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("spawn: stdout and stderr are appended to the log file, status resolves on exit", async () => {
  await withTempDir(async (dir) => {
    const log = `${dir}/out.log`;
    await Deno.writeTextFile(log, "before\n");
    const proc = await spawn(["sh", "-c", "echo one; echo two >&2; exit 4"], { logFile: log });
    const status = await proc.status;
    assert.equal(status.code, 4);
    const text = await Deno.readTextFile(log);
    assert.ok(text.startsWith("before\n"));
    assert.ok(text.includes("one\n") && text.includes("two\n"));
  });
});

Deno.test("spawn: stop sends SIGTERM and resolves with the exit status", async () => {
  const proc = await spawn(["sleep", "30"]);
  assert.ok(proc.pid > 0);
  const status = await proc.stop();
  assert.equal(status.signal, "SIGTERM");
});

Deno.test("spawn: stop escalates to SIGKILL after graceMs for a process that ignores SIGTERM", async () => {
  await withTempDir(async (dir) => {
    const log = `${dir}/out.log`;
    const proc = await spawn(["sh", "-c", "trap '' TERM; echo ready; while :; do sleep 0.05; done"], {
      logFile: log,
      graceMs: 300,
    });
    while (!(await Deno.readTextFile(log)).includes("ready")) await new Promise((r) => setTimeout(r, 10));
    const started = performance.now();
    const status = await proc.stop();
    const took = performance.now() - started;
    assert.equal(status.signal, "SIGKILL");
    assert.ok(took >= 250 && took < 3000, `took ${took} ms`);
  });
});

Deno.test("spawn: await using stops the process at the end of the block", async () => {
  let status: Promise<Deno.CommandStatus>;
  {
    await using proc = await spawn(["sleep", "30"], { graceMs: 500 });
    status = proc.status;
  }
  assert.equal((await status).signal, "SIGTERM");
});

Deno.test("spawn: an abort signal stops the process; status resolves with its exit status", async () => {
  const controller = new AbortController();
  const proc = await spawn(["sleep", "30"], { signal: controller.signal });
  controller.abort();
  assert.equal((await proc.status).signal, "SIGTERM");
});

Deno.test("spawn: an already aborted signal rejects without starting the process", async () => {
  const error = await spawn(["sleep", "30"], { signal: AbortSignal.abort() }).catch((e) => e);
  assert.ok(error instanceof CommandError);
  assert.equal(error.aborted, true);
});

Deno.test("spawn: kill on a process that already exited is not an error", async () => {
  const proc = await spawn(["true"]);
  await proc.status;
  proc.kill();
  assert.equal((await proc.stop()).code, 0);
});
