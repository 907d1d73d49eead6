/**
 * `agent`: a node's agent killed (with a signal), stopped, started or restarted; `restart-after` brings a
 * killed or stopped agent back after a pause. Waiting for the new process to be up is the fault step's job
 * (`steps/fault.ts`), so that the background probe covers its start-up.
 *
 * @module
 */
import { sleep } from "../failed.ts";
import type { FaultKind } from "./_kind.ts";

export const agent: FaultKind<"agent"> = {
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
