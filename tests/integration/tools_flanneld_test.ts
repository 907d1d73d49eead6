/**
 * Upstream flanneld v0.28.9 as built by harness/upstream: it reports its version, and in a throwaway pair of
 * namespaces (etcd in one, flanneld in the other, joined by a veth) it takes a lease from etcd, writes
 * subnet.env and creates its backend device — for the vxlan backend and for the udp backend, whose proxy needs
 * the cgo build. Root; nothing touches the main namespace. A missing flanneld is built, never skipped.
 */
import assert from "node:assert/strict";
import { startEtcd } from "../../harness/etcd.ts";
import { addVeth, Netns } from "../../harness/netns.ts";
import { run } from "../../cli/process/mod.ts";
import { ensureFlanneld, FLANNELD_VERSION } from "../../harness/upstream/mod.ts";
import { tempDir, uniqueName } from "../helpers/tmpdir.ts";

Deno.test("upstream flanneld (our build) reports its pinned version with -version", async () => {
  const flanneld = await ensureFlanneld();
  const r = await run([flanneld.path, "-version"], { timeoutMs: 10_000 });
  assert.equal((r.stdout + r.stderr).trim(), FLANNELD_VERSION);
});

interface Lease {
  readonly PublicIP: string;
  readonly BackendType?: string;
}

async function waitFor<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

// Upstream's udp backend acquires its lease with PublicIP only, so the JSON has no BackendType at all (a
// compatibility fact for our agent); vxlan's says "vxlan".
const BACKENDS = [
  { type: "vxlan", device: "flannel.1", leaseBackendType: "vxlan" },
  { type: "udp", device: "flannel0", leaseBackendType: undefined },
] as const;

for (const backend of BACKENDS) {
  Deno.test(`upstream flanneld (our build) takes an etcd lease and creates ${backend.device} with the ${backend.type} backend`, async () => {
    const flanneld = await ensureFlanneld();
    await using dir = await tempDir("flannel-lab-upstream-");
    const base = uniqueName("flu");
    await using nsEtcd = await Netns.create(`${base}-etcd`);
    await using nsNode = await Netns.create(`${base}-n1`);
    await addVeth(
      { ns: nsEtcd, name: "eth0", addrs: ["10.99.0.1/24"] },
      { ns: nsNode, name: "eth0", addrs: ["10.99.0.2/24"] },
      { mtu: 1500 },
    );
    await using etcd = await startEtcd({ netns: nsEtcd, host: "10.99.0.1" });
    await etcd.ctl([
      "put",
      "/coreos.com/network/config",
      JSON.stringify({ Network: "10.50.0.0/16", SubnetLen: 24, Backend: { Type: backend.type } }),
    ]);
    const subnetFile = `${dir.path}/subnet.env`;
    const logFile = `${dir.path}/flanneld.log`;
    await using proc = await nsNode.spawn([
      flanneld.path,
      `--etcd-endpoints=${etcd.endpoint}`,
      "--iface=eth0",
      `--subnet-file=${subnetFile}`,
      "--ip-masq=false",
    ], { logFile });
    const log = () => Deno.readTextFile(logFile).catch(() => "");
    const exited = proc.status.then(() => true);

    const env = await waitFor("subnet.env", 30_000, async () => {
      if (await Promise.race([exited, Promise.resolve(false)])) {
        throw new Error(`flanneld exited:\n${await log()}`);
      }
      const text = await Deno.readTextFile(subnetFile).catch(() => "");
      return /FLANNEL_SUBNET=/.test(text) ? text : undefined;
    }).catch(async (e) => {
      throw new Error(`${(e as Error).message}\n${await log()}`);
    });
    const subnet = /^FLANNEL_SUBNET=(10\.50\.\d+)\.1\/24$/m.exec(env)?.[1];
    assert.ok(subnet, `unexpected subnet.env:\n${env}`);
    assert.match(env, /^FLANNEL_NETWORK=10\.50\.0\.0\/16$/m);

    const key = `/coreos.com/network/subnets/${subnet}.0-24`;
    const value = await etcd.ctl(["get", "--print-value-only", key]);
    const lease = JSON.parse(value) as Lease;
    assert.equal(lease.PublicIP, "10.99.0.2");
    assert.equal(lease.BackendType, backend.leaseBackendType);

    const links = await nsNode.ipJson<{ ifname: string; linkinfo?: { info_kind?: string } }[]>([
      "-d",
      "link",
      "show",
      backend.device,
    ]);
    assert.equal(links[0]?.linkinfo?.info_kind, backend.type === "vxlan" ? "vxlan" : "tun");
    await proc.stop();
  });
}
