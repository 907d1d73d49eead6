/**
 * `flannel-lab trace` on labs that are up, as a user runs it, with our agent and with upstream flanneld: the hops
 * of an ICMP, UDP and TCP probe through the vxlan lab across a router, in order, with the outer VXLAN header on
 * the underlay, exit 0 and the SVG written; and on host-gw across a router, the probe lost at n1 with the
 * kernel's reason, exit 1. Nothing is left behind.
 */
import { ok as assert } from "node:assert/strict";
import { flannelLab, leftovers } from "../helpers/run_cli.ts";

const TOPOLOGIES = new URL("../../topologies/", import.meta.url).pathname;

const cli = (args: string[]) => flannelLab(args);

/** The request's hops as `where:iface`, from trace's output. */
function requestHops(out: string): string[] {
  const lines = out.split("\n");
  const from = lines.findIndex((l) => l === "request:");
  const to = lines.findIndex((l, i) => i > from && /^(errors|reply|findings):$/.test(l));
  return lines.slice(from + 1, to < 0 ? undefined : to).map((l) => {
    const w = l.trim().split(/\s+/);
    // "+0.011 ms 11 µs n1 veth…": the time, the step since the hop before (not on the first), where, iface.
    const i = w[3] === "µs" ? 4 : 2;
    return `${w[i]}:${w[i + 1]}`;
  });
}

for (const agent of ["ours", "upstream"]) {
  Deno.test({
    name:
      `e2e: trace follows icmp, udp and tcp probes through a vxlan lab and a lost one through host-gw (${agent})`,
    sanitizeResources: false,
    sanitizeOps: false,
    async fn() {
      const base = await Deno.makeTempDir({ prefix: `flannel-lab-trace-${agent}-` });
      const labs: [string, string][] = [];
      try {
        const vx = `${TOPOLOGIES}vxlan-split-subnet.clab.yml`;
        const vxName = `trace-vx-${agent}-${Deno.pid}`;
        labs.push([vx, vxName]);
        const up = await cli(["up", vx, "--name", vxName, "--lab-dir", base, "--agent", agent]);
        assert(up.code === 0, up.stdout + up.stderr);
        for (const proto of ["icmp", "udp", "tcp"]) {
          const t = await cli([
            "trace",
            vx,
            "n1/p1",
            "n2/p1",
            "--proto",
            proto,
            "--name",
            vxName,
            "--lab-dir",
            base,
          ]);
          const out = t.stdout + t.stderr;
          assert(t.code === 0, out);
          const hops = requestHops(out);
          const want = [
            "n1/p1:eth0",
            "n1:flannel.1",
            "n1:eth1",
            "r1:eth1",
            "r1:eth2",
            "n2:eth1",
            "n2:flannel.1",
            "n2/p1:eth0",
          ];
          let at = 0;
          for (const w of want) {
            const i = hops.indexOf(w, at);
            assert(i >= 0, `${proto}: ${w} after ${hops[at - 1]} in ${hops.join(" ")}\n${out}`);
            at = i + 1;
          }
          assert(/n1\s+eth1\s.*\[VXLAN VNI 1 192\.168\.61\.1:\d+ > 192\.168\.62\.2:8472/.test(out), out);
          assert(/^reply:$/m.test(out), `${proto}: the answer is traced back`);
          const dir = /pcaps, trace\.json and trace\.svg: (\S+)/.exec(out)?.[1];
          assert(
            dir && (await Deno.readTextFile(`${dir}/trace.svg`)).startsWith("<svg"),
            "the SVG is written",
          );
        }
        const down = await cli(["down", vx, "--name", vxName, "--lab-dir", base]);
        assert(down.code === 0, down.stdout + down.stderr);

        const hg = `${TOPOLOGIES}hostgw-split-subnet.clab.yml`;
        const hgName = `trace-hg-${agent}-${Deno.pid}`;
        labs.push([hg, hgName]);
        const up2 = await cli(["up", hg, "--name", hgName, "--lab-dir", base, "--agent", agent]);
        assert(up2.code === 0, up2.stdout + up2.stderr);
        const t = await cli(["trace", hg, "n1/p1", "n2/p1", "--name", hgName, "--lab-dir", base]);
        const out = t.stdout + t.stderr;
        assert(t.code === 1, out);
        assert(
          /lost before n2\/p1/.test(out) &&
            /lost at n1: .* cannot forward it to 10\.244\.\S+: network is unreachable/.test(out),
          out,
        );
        assert(/destination net unreachable/.test(out), out);
        if (agent === "ours") assert(/n1's agent says: .*host-gw needs peer/.test(out), out);
      } finally {
        for (const [file, name] of labs) await cli(["down", file, "--name", name, "--lab-dir", base]);
        for (const [, name] of labs) {
          const left = await leftovers(name, `${base}/clab-${name}`);
          assert(left.length === 0, `${name} left behind: ${left.join(", ")}`);
        }
        await Deno.remove(base, { recursive: true }).catch(() => {});
      }
    },
  });
}
