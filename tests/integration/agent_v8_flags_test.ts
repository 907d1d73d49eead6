import assert from "node:assert/strict";
import { waitFor } from "../helpers/mini_lab.ts";
import { Netns } from "../../harness/netns.ts";
import { uniqueName } from "../helpers/tmpdir.ts";
import { AGENT_V8_FLAGS, agentV8FlagsArg } from "../../agent/v8_flags.ts";

const root = new URL("../../", import.meta.url);

Deno.test("v8 flags: the wrapper and `deno task compile` pass the agent's flags exactly", async () => {
  const joined = AGENT_V8_FLAGS.join(",");
  assert.equal(agentV8FlagsArg(), `--v8-flags=${joined}`);
  const wrapper = await Deno.readTextFile(new URL("flannel-lab", root));
  assert.match(wrapper, new RegExp(`^agent_v8_flags="${joined}"$`, "m"), "the wrapper's copy differs");
  const config = JSON.parse(await Deno.readTextFile(new URL("deno.json", root)));
  assert.ok(
    (config.tasks.compile as string).includes(` --v8-flags=${joined} `),
    "the compile task's copy differs",
  );
});

Deno.test({
  name: "v8 flags: an agent started by the wrapper runs with them, and without deno.json",
  sanitizeResources: false,
  sanitizeOps: false,
}, async () => {
  // Inside a throwaway namespace, against an etcd that is not there: the agent waits, and its argv shows.
  await using ns = await Netns.create(`v8f-${uniqueName()}`);
  const agent = await ns.spawn([
    new URL("flannel-lab", root).pathname,
    "agent",
    "--etcd-endpoints=http://127.0.0.1:1",
    "--iface=lo",
  ]);
  try {
    const argv = await waitFor("the agent to start", async () => {
      const text = await Deno.readTextFile(`/proc/${agent.pid}/cmdline`).catch(() => "");
      return text.includes("mod.ts") ? text.split("\0") : undefined;
    }, 30_000);
    assert.ok(argv.includes(agentV8FlagsArg()), argv.join(" "));
    assert.ok(argv.includes("--no-config"), `the agent runs without deno.json: ${argv.join(" ")}`);
  } finally {
    await agent.stop();
  }
});
