/**
 * `etcd`: the lab's etcd stopped or started: agents must keep the data plane they have and catch up after.
 *
 * @module
 */
import type { FaultKind } from "./_kind.ts";

export const etcd: FaultKind<"etcd"> = {
  async inject({ cluster: c }, f, mark) {
    if (f.action === "stop") await c.stopEtcd();
    else await c.startEtcd();
    const what = `etcd ${f.action === "stop" ? "stopped" : "started"}`;
    mark(what);
    return what;
  },
  async revert({ cluster: c }, f, mark) {
    if (f.action === "stop") await c.startEtcd();
    else await c.stopEtcd();
    const what = `etcd ${f.action === "stop" ? "started" : "stopped"} again`;
    mark(what);
    return what;
  },
};
