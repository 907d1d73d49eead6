/**
 * The HTML report's pictures in a real browser (Debian's chromium, headless): a lab run through `flannel-lab
 * test` with a trace, the connectivity matrix, a fault with its background probe, throughput and latency; the
 * page is loaded, screenshotted, and its own text read back from the DOM the browser built: the topology, the
 * grid, the probe's timeline, the bars and the trace's sequence diagram are all there, and the file stays
 * self-contained (no script, nothing fetched).
 */
import { ok as assert } from "node:assert/strict";
import { ensureChromium, headless } from "../../harness/upstream/chromium.ts";
import { flannelLab, leftovers } from "../helpers/run_cli.ts";

const TOPOLOGY = new URL("../../topologies/vxlan-split-subnet.clab.yml", import.meta.url).pathname;

const SCENARIO = `description: every picture the report draws
network: { Network: 10.244.0.0/16, Backend: { Type: vxlan } }
pods: { per-node: 1 }
steps:
  - wait: agents-ready
    timeout: 60s
    critical: true
  - trace: { from: n1/p1, to: n2/p1 }
    expect: { encap: vxlan 8472 }
  - connectivity: all-pods
  - name: n2's agent restarted under a probe
    fault: { agent: n2, action: restart }
    expect: { recovers-within: 10s }
  - throughput: { from: n1/p1, to: n2/p1, seconds: 1, repeats: 1 }
  - latency: { from: n1/p1, to: n2/p1, count: 50, repeats: 1 }
`;

Deno.test({
  name: "e2e: the HTML report's pictures render in headless chromium, and its text reads back",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await ensureChromium();
    const base = await Deno.makeTempDir({ prefix: "flannel-lab-report-browser-" });
    const lab = `report-browser-${Deno.pid}`;
    try {
      await Deno.writeTextFile(`${base}/s.scenario.yml`, SCENARIO);
      const r = await flannelLab([
        "test",
        TOPOLOGY,
        "--scenario",
        `${base}/s.scenario.yml`,
        "--lab-dir",
        base,
        "--name",
        lab,
      ]);
      assert(r.code === 0, (r.stdout + r.stderr).slice(-4000));
      const html = `${base}/clab-${lab}/report.html`;
      const text = await Deno.readTextFile(html);
      assert(!/<script|src="http|href="http/.test(text), "self-contained: no script, nothing fetched");
      const dom = await headless(`file://${html}`, `${base}/shot.png`);
      const png = await Deno.readFile(`${base}/shot.png`);
      assert(
        png.length > 20_000 && png[1] === 0x50 && png[2] === 0x4e && png[3] === 0x47,
        "a PNG screenshot",
      );
      for (
        const want of [
          'aria-label="topology"', // the topology picture
          "pods 10.244.", // each node's pod subnet in it
          "device flannel.1",
          "from \\ to", // the matrix grid
          'class="mx-ok"',
          'aria-label="probe timeline"', // the fault's probe
          "n2's agent restarted",
          "pod to pod", // throughput bars
          "pod p50", // latency bars
          "n1/p1 → n2/p1 (icmp): reached, answered", // the trace's diagram
          "VXLAN VNI 1, UDP 8472",
        ]
      ) assert(dom.includes(want), `the page shows ${want}`);
      const left = await leftovers(lab, `${base}/clab-${lab}`);
      assert(left.length === 0, `left behind: ${left.join(", ")}`);
    } finally {
      await Deno.remove(base, { recursive: true }).catch(() => {});
    }
  },
});
