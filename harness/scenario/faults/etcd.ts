/**
 * `etcd`: the lab's etcd stopped or started: agents must keep the data plane they have and catch up after.
 *
 * @module
 */
import { type FaultKind, PROBE_EXPECT } from "./_kind.ts";

/** `etcd: stop|start`. */
export const etcd: FaultKind<"etcd"> = {
  trigger: "etcd",
  form: "etcd: stop|start",
  selects: () => true,
  keys: ["etcd"],
  parse(r, o, path, win) {
    if (o["etcd"] !== "stop" && o["etcd"] !== "start") {
      return r.fail([...path, "etcd"], "must be stop or start");
    }
    if (!r.only(o, path, ["etcd", "for"], `etcd ${o["etcd"]}`)) return undefined;
    return { kind: "etcd", action: o["etcd"], ...win };
  },
  describe: (f) => `etcd ${f.action}`,
  what: (f) => `etcd ${f.action}`,
  expectKeys: PROBE_EXPECT,
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
