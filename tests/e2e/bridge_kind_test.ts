/**
 * containerlab's `kind: bridge` under the netns runtime: the bridge is a Linux bridge named as the node inside a
 * lab-owned namespace (never in the main namespace), its link ends are its ports, two linux nodes ping each
 * other across it, and destroy removes every namespace.
 *
 * @module
 */
import { ok as assert } from "node:assert/strict";
import { run } from "../../cli/process/mod.ts";
import { listNetns } from "../../harness/netns.ts";
import { NetnsRuntime, ownedNamespaces } from "../../harness/runtime/mod.ts";
import { labDir, longName, resolveTopology } from "../../harness/topology/mod.ts";

interface Link {
  ifname: string;
  master?: string;
  operstate?: string;
}

async function links(args: string[]): Promise<Link[]> {
  return JSON.parse((await run(["ip", "-j", ...args], { timeoutMs: 10_000 })).stdout || "[]") as Link[];
}

Deno.test({
  name:
    "e2e: a kind: bridge node is a bridge inside a lab namespace; nodes ping across it; destroy removes it",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const base = await Deno.makeTempDir({ prefix: "flannel-lab-e2e-bridge-" });
    const lab = `bridge-e2e${Deno.pid}`;
    const file = `${base}/${lab}.clab.yml`;
    const text = `name: ${lab}
topology:
  defaults: {kind: linux, cmd: sleep infinity}
  nodes:
    n1: {exec: [ip addr add 10.99.0.1/24 dev eth1]}
    n2: {exec: [ip addr add 10.99.0.2/24 dev eth1]}
    br1: {kind: bridge}
  links:
    - endpoints: ["n1:eth1", "br1:p1"]
      mtu: 1500
    - endpoints: ["n2:eth1", "br1:p2"]
      mtu: 1500
`;
    await Deno.writeTextFile(file, text);
    const topo = resolveTopology(file, text);
    const rt = new NetnsRuntime();
    const mainBridgesBefore = (await links(["link", "show", "type", "bridge"])).map((l) => l.ifname);
    try {
      const r = await rt.deploy(topo, { labDir: labDir(topo) });
      assert(r.created.length === 3, JSON.stringify(r));
      const ns = longName(topo, "br1");
      const owner = (await ownedNamespaces()).find((o) => o.ns === ns);
      assert(owner?.lab === lab && owner.node === "br1", `${ns} carries the lab's marker`);
      // The bridge, named as the node, is inside the lab namespace with both ports enslaved and up.
      const bridges = await links(["-n", ns, "link", "show", "type", "bridge"]);
      assert(bridges.length === 1 && bridges[0]!.ifname === "br1", JSON.stringify(bridges));
      const ports = (await links(["-n", ns, "link", "show", "master", "br1"])).map((l) => l.ifname).sort();
      assert(JSON.stringify(ports) === '["p1","p2"]', JSON.stringify(ports));
      // …and nothing of it in the main namespace.
      const mainBridges = (await links(["link", "show", "type", "bridge"])).map((l) => l.ifname);
      assert(!mainBridges.includes("br1"), `br1 in the main namespace: ${mainBridges.join(" ")}`);
      assert(JSON.stringify(mainBridges) === JSON.stringify(mainBridgesBefore), "main namespace unchanged");
      const ping = await rt.exec(topo, "n1", ["ping", "-c", "1", "-W", "3", "10.99.0.2"], {
        check: false,
        timeoutMs: 15_000,
      });
      assert(ping.code === 0, ping.stdout + ping.stderr);
      // Deploying again (a half-made lab heals) keeps one bridge with its ports.
      await rt.deploy(topo, { labDir: labDir(topo) });
      const again = (await links(["-n", ns, "link", "show", "master", "br1"])).map((l) => l.ifname).sort();
      assert(JSON.stringify(again) === '["p1","p2"]', JSON.stringify(again));
      const status = await rt.inspect({ topology: topo });
      assert(status.find((s) => s.node === "br1")?.kind === "bridge", JSON.stringify(status));
      const down = await rt.destroy({ topology: topo });
      assert(down.removed.length === 3, JSON.stringify(down));
      const left = (await listNetns()).filter((n) => n.startsWith(`clab-${lab}-`));
      assert(left.length === 0, `left behind: ${left.join(", ")}`);
      const netnsList = (await run(["ip", "netns", "list"], { timeoutMs: 10_000 })).stdout;
      assert(!netnsList.includes(lab), netnsList);
    } finally {
      await rt.destroy({ topology: topo }).catch(() => {});
      await Deno.remove(base, { recursive: true }).catch(() => {});
    }
  },
});
