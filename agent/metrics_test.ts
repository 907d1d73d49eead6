/** The Prometheus exposition of the agent's metrics, and `/metrics` on the healthz handler. */
import assert from "node:assert/strict";
import { handleHealth } from "./health.ts";
import { agentMetrics, Metrics } from "./metrics.ts";

Deno.test("Metrics: counters, gauges and histograms render in the text exposition format", () => {
  const m = new Metrics();
  m.counter("a_total", "A counter.");
  m.gauge("g", "A gauge.");
  m.histogram("h_seconds", "A histogram.", [0.01, 0.1]);
  m.inc("a_total", { backend: "vxlan", peer: 'x"y' });
  m.inc("a_total", { peer: 'x"y', backend: "vxlan" }, 2);
  m.set("g", {}, 5);
  m.observe("h_seconds", { backend: "vxlan" }, 0.05);
  m.observe("h_seconds", { backend: "vxlan" }, 1);
  assert.equal(
    m.render(),
    [
      "# HELP a_total A counter.",
      "# TYPE a_total counter",
      'a_total{backend="vxlan",peer="x\\"y"} 3',
      "# HELP g A gauge.",
      "# TYPE g gauge",
      "g 5",
      "# HELP h_seconds A histogram.",
      "# TYPE h_seconds histogram",
      'h_seconds_bucket{backend="vxlan",le="0.01"} 0',
      'h_seconds_bucket{backend="vxlan",le="0.1"} 1',
      'h_seconds_bucket{backend="vxlan",le="+Inf"} 2',
      'h_seconds_sum{backend="vxlan"} 1.05',
      'h_seconds_count{backend="vxlan"} 2',
      "",
    ].join("\n"),
  );
});

Deno.test("/metrics: served with the Prometheus content type when the source has metrics, 404 otherwise", async () => {
  const m = agentMetrics();
  m.collect(() => m.set("flannel_leases_known", {}, 3));
  const source = { ready: () => true, status: () => ({}), metrics: () => m.render() };
  const res = handleHealth(new Request("http://x/metrics"), source);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("content-type"), "text/plain; version=0.0.4; charset=utf-8");
  assert.match(await res.text(), /^flannel_leases_known 3$/m);
  const none = handleHealth(new Request("http://x/metrics"), { ready: () => true, status: () => ({}) });
  assert.equal(none.status, 404);
  await none.body?.cancel();
});
