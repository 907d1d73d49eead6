/**
 * `agent`: a node's agent killed (with a signal), stopped, started or restarted; `restart-after` brings a
 * killed or stopped agent back after a pause. Waiting for the new process to be up is the fault step's job
 * (`steps/fault.ts`), so that the background probe covers its start-up.
 *
 * @module
 */
import type { ExpectKey } from "../expectations.ts";
import { sleep } from "../failed.ts";
import { type FaultKind, type FaultOf, PROBE_EXPECT } from "./_kind.ts";

/** The keys each action uses: a restart brings the agent back itself, a start has no signal to send. */
const KEYS = {
  kill: ["agent", "action", "signal", "restart-after", "for"],
  stop: ["agent", "action", "restart-after", "for"],
  start: ["agent", "action", "for"],
  restart: ["agent", "action"],
} as const satisfies Record<FaultOf<"agent">["action"], readonly string[]>;

/**
 * Whether the agent is running again, as a new process, once the fault is over: a restart, or a kill or stop
 * undone after `restart-after` or `for`. A start with `for` ends stopped, so it does not come back.
 */
export function comesBack(f: FaultOf<"agent">): boolean {
  return f.action === "restart" || f.restartAfterMs !== undefined ||
    (f.action !== "start" && f.forMs !== undefined);
}

/** What an agent fault may be expected to do: the probe's keys, and the agent's lease and entries. */
const EXPECT: readonly ExpectKey[] = [
  ...PROBE_EXPECT,
  "same-subnet",
  "same-vtep-mac",
  "gone-from-peers-within",
];

/** `agent: N, action: kill|stop|start|restart` (default restart), with `signal` and `restart-after`. */
export const agent: FaultKind<"agent"> = {
  trigger: "agent",
  form: "action: kill|stop|start|restart",
  selects: () => true,
  keys: ["agent", "action", "signal", "restart-after"],
  parse(r, o, path, win) {
    const node = r.node(o["agent"], [...path, "agent"], "node");
    const action = String(o["action"] ?? "restart");
    if (!Object.hasOwn(KEYS, action)) {
      return r.fail([...path, "action"], `must be kill, stop, start or restart`);
    }
    const act = action as FaultOf<"agent">["action"];
    if (!r.only(o, path, KEYS[act], `agent action ${action}`)) return undefined;
    if (o["restart-after"] !== undefined && o["for"] !== undefined) {
      return r.fail(path, `restart-after and for both bring the agent back; give one of them`);
    }
    const signal = `SIG${String(o["signal"] ?? (act === "kill" ? "KILL" : "TERM")).replace(/^SIG/, "")}`;
    const restartAfterMs = o["restart-after"] === undefined
      ? undefined
      : r.duration(o["restart-after"], [...path, "restart-after"]);
    if (!node) return undefined;
    return {
      kind: "agent",
      node,
      action: act,
      signal: signal as Deno.Signal,
      ...(restartAfterMs !== undefined ? { restartAfterMs } : {}),
      ...win,
    };
  },
  describe: (f) => `${f.action} ${f.node}'s agent${f.action === "kill" ? ` (${f.signal})` : ""}`,
  what: (f) => `agent action ${f.action}${f.restartAfterMs !== undefined ? " with restart-after" : ""}`,
  expectKeys: EXPECT,
  // An agent's subnet and MAC can be compared only when it comes back; its entries leave its peers only
  // when it does not.
  expects(f) {
    return EXPECT.filter((k) =>
      comesBack(f) ? k !== "gone-from-peers-within" : k !== "same-subnet" && k !== "same-vtep-mac"
    );
  },
  async inject({ cluster: c }, f, mark) {
    if (f.action === "start") {
      await c.startAgent(f.node);
      mark(`${f.node}'s agent started`);
      return `started ${f.node}'s agent`;
    }
    const how = f.action === "kill" ? `killed (${f.signal})` : "stopped";
    await c.stopAgent(f.node, f.action === "kill" ? f.signal : "SIGTERM");
    mark(`${f.node}'s agent ${how}`);
    let message = `${how} ${f.node}'s agent`;
    if (f.action === "restart" || f.restartAfterMs !== undefined) {
      await sleep(f.restartAfterMs ?? 0);
      await c.startAgent(f.node);
      mark(`${f.node}'s agent restarted`);
      message += `, restarted after ${f.restartAfterMs ?? 0} ms`;
    }
    return message;
  },
  async revert({ cluster: c }, f, mark) {
    if (f.action === "start") {
      await c.stopAgent(f.node);
      mark(`${f.node}'s agent stopped again`);
      return "agent stopped again";
    }
    await c.startAgent(f.node);
    mark(`${f.node}'s agent started again`);
    return "agent started again";
  },
};
