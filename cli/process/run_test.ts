import assert from "node:assert/strict";
import { CommandError, TAIL_CHARS } from "./command_error.ts";
import { run } from "./run.ts";

Deno.test("run: returns stdout, stderr and the exit code of a command that succeeds", async () => {
  const res = await run(["sh", "-c", "echo out; echo err >&2"]);
  assert.equal(res.code, 0);
  assert.equal(res.stdout, "out\n");
  assert.equal(res.stderr, "err\n");
  assert.ok(res.durationMs >= 0);
});

Deno.test("run: writes stdin to the command and closes it", async () => {
  const res = await run(["sh", "-c", "tr a-z A-Z; echo done"], { stdin: "hello\n" });
  assert.equal(res.stdout, "HELLO\ndone\n");
  const bytes = await run(["wc", "-c"], { stdin: new Uint8Array(100_000) });
  assert.equal(bytes.stdout.trim(), "100000");
});

Deno.test("run: a command that exits without reading a large stdin is judged by its exit code", async () => {
  const res = await run(["sh", "-c", "exit 0"], { stdin: "x".repeat(1 << 20) });
  assert.equal(res.code, 0);
});

Deno.test("run: a non-zero exit throws a CommandError with the code and the end of stderr", async () => {
  const error = await run(["sh", "-c", "echo some output; echo it broke >&2; exit 3"]).catch((e) => e);
  assert.ok(error instanceof CommandError);
  assert.equal(error.code, 3);
  assert.equal(error.signal, null);
  assert.equal(error.timedOut, false);
  assert.equal(error.aborted, false);
  assert.equal(error.stderrTail, "it broke\n");
  assert.equal(error.stdoutTail, "some output\n");
  assert.deepEqual(error.command, ["sh", "-c", "echo some output; echo it broke >&2; exit 3"]);
  assert.match(error.message, /^Command ".*" exited 3: it broke$/);
});

Deno.test("run: with check false a non-zero exit is returned, not thrown", async () => {
  const res = await run(["sh", "-c", "echo x >&2; exit 7"], { check: false });
  assert.equal(res.code, 7);
  assert.equal(res.stderr, "x\n");
});

Deno.test("run: the error keeps only a bounded tail of a long output, the result keeps all of it", async () => {
  // 20000 lines of "line N": far beyond the tail bound, the last line must survive.
  const script = "i=0; while [ $i -lt 20000 ]; do echo line $i; i=$((i+1)); done; ";
  const error = await run(["sh", "-c", script + "exec >&2; " + script + "exit 1"]).catch((e) => e);
  assert.ok(error instanceof CommandError);
  assert.equal(error.stderrTail.length, TAIL_CHARS + 1);
  assert.ok(error.stderrTail.startsWith("…"));
  assert.ok(error.stderrTail.endsWith("line 19999\n"));
  assert.equal(error.stdoutTail.length, TAIL_CHARS + 1);
  assert.ok(error.message.length < 2 * TAIL_CHARS);
  const res = await run(["sh", "-c", script], { check: false });
  assert.equal(res.stdout.split("\n").length, 20001);
});

Deno.test("run: a command past its timeout is stopped with SIGTERM and throws timedOut", async () => {
  const started = performance.now();
  const error = await run(["sleep", "30"], { timeoutMs: 100 }).catch((e) => e);
  assert.ok(error instanceof CommandError);
  assert.equal(error.timedOut, true);
  assert.equal(error.signal, "SIGTERM");
  assert.match(error.message, /timed out after \d+ ms/);
  assert.ok(performance.now() - started < 2000);
});

Deno.test("run: with check false a timed-out command is returned with its signal's exit code", async () => {
  const res = await run(["sleep", "30"], { timeoutMs: 50, check: false });
  assert.equal(res.code, 143);
});

Deno.test("run: a command that ignores SIGTERM gets SIGKILL after the grace period", async () => {
  const started = performance.now();
  // The shell ignores TERM, and so does its `sleep` (an ignored signal stays ignored across exec); the short
  // sleeps keep the pipes' last holder from outliving the shell by much.
  const error = await run(
    ["sh", "-c", "trap '' TERM; echo ready; while :; do sleep 0.05; done"],
    { timeoutMs: 200, graceMs: 300 },
  ).catch((e) => e);
  const took = performance.now() - started;
  assert.ok(error instanceof CommandError);
  assert.equal(error.timedOut, true);
  assert.equal(error.signal, "SIGKILL");
  assert.equal(error.stdoutTail, "ready\n");
  assert.ok(took >= 450, `took ${took} ms: killed before the grace period ended`);
  assert.ok(took < 3000, `took ${took} ms`);
});

Deno.test("run: a stopped command's grandchild holding the pipes does not keep the caller waiting", async () => {
  const started = performance.now();
  // The orphaned `sleep` ignores TERM too and holds stdout and stderr until it ends by itself.
  const error = await run(["sh", "-c", "trap '' TERM; sleep 3"], { timeoutMs: 100, graceMs: 100 })
    .catch((e) => e);
  const took = performance.now() - started;
  assert.ok(error instanceof CommandError);
  assert.equal(error.signal, "SIGKILL");
  assert.ok(took < 2000, `took ${took} ms`);
});

Deno.test("run: an abort signal stops the command and rejects with aborted and the reason as cause", async () => {
  const controller = new AbortController();
  const reason = new Error("shutting down");
  setTimeout(() => controller.abort(reason), 100);
  const started = performance.now();
  const error = await run(["sleep", "30"], { signal: controller.signal, check: false }).catch((e) => e);
  assert.ok(error instanceof CommandError);
  assert.equal(error.aborted, true);
  assert.equal(error.timedOut, false);
  assert.equal(error.signal, "SIGTERM");
  assert.equal(error.cause, reason);
  assert.match(error.message, /^Command "sleep 30" was aborted \(shutting down\)$/);
  assert.ok(performance.now() - started < 2000);
});

Deno.test("run: an abort signal escalates to SIGKILL for a command that ignores SIGTERM", async () => {
  const controller = new AbortController();
  setTimeout(() => controller.abort(), 100);
  const error = await run(["sh", "-c", "trap '' TERM; while :; do sleep 0.05; done"], {
    signal: controller.signal,
    graceMs: 200,
  }).catch((e) => e);
  assert.ok(error instanceof CommandError);
  assert.equal(error.aborted, true);
  assert.equal(error.signal, "SIGKILL");
});

Deno.test("run: an already aborted signal rejects without starting the command", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const error = await run(["touch", `${dir}/ran`], { signal: AbortSignal.abort(new Error("too late")) })
      .catch((e) => e);
    assert.ok(error instanceof CommandError);
    assert.equal(error.aborted, true);
    assert.equal(error.code, -1);
    assert.match(error.message, /was not started: aborted \(too late\)/);
    await assert.rejects(Deno.stat(`${dir}/ran`), Deno.errors.NotFound);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("run: a signal that never aborts leaves a finished command alone", async () => {
  const controller = new AbortController();
  const res = await run(["sh", "-c", "echo fine"], { signal: controller.signal, timeoutMs: 10_000 });
  assert.equal(res.stdout, "fine\n");
  controller.abort(); // after the fact: nothing left to stop
});

Deno.test("run: env adds to the environment, clearEnv replaces it, cwd sets the directory", async () => {
  const added = await run(["sh", "-c", 'echo "$LAB_X:${HOME:+home}"'], { env: { LAB_X: "1" } });
  assert.equal(added.stdout, "1:home\n");
  const cleared = await run(["/bin/sh", "-c", 'echo "$LAB_X:${HOME:+home}"'], {
    env: { LAB_X: "2" },
    clearEnv: true,
  });
  assert.equal(cleared.stdout, "2:\n");
  const here = await run(["pwd"], { cwd: "/" });
  assert.equal(here.stdout, "/\n");
});

Deno.test("run: an empty command is a TypeError, a missing program Deno's NotFound", async () => {
  await assert.rejects(run([]), TypeError);
  await assert.rejects(run(["/nonexistent/flannel-lab-no-such-program"]), Deno.errors.NotFound);
});
