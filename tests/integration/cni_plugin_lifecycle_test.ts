/**
 * The flannel CNI plugin's life cycle against the real reference plugins (`bridge`, `host-local` from
 * /usr/lib/cni), as root: ADD, CHECK and DEL of pods on one node (addresses, routes, MTU, everything released),
 * CNI 1.1.0 through a 1.0-era bridge with STATUS and GC, and DEL of a pod added by upstream's plugin. The plugin always runs inside a throwaway "node" namespace
 * (`ip netns exec`), so cni0 and the veths are created there, never in the main namespace; host-local's state
 * and the plugin's dataDir live in a temp directory (`tests/helpers/cni_lab.ts`).
 */
import assert from "node:assert/strict";
import { cniLab, exists, heldAddresses, ipv4Of, listDir, SUBNET_ENV, vethCount } from "../helpers/cni_lab.ts";

Deno.test("CNI ADD/CHECK/DEL: two pods on one node get addresses, routes and MTU; DEL releases everything", async () => {
  await using lab = await cniLab();
  const node = await lab.netns("fltn");
  const pods = [await lab.netns("fltp"), await lab.netns("fltp")];
  const subnetFile = await lab.subnetEnv("subnet.env", SUBNET_ENV);
  const ipamDir = `${lab.dir}/ipam`;
  const dataDir = `${lab.dir}/flannel`;
  const conf = {
    cniVersion: "1.0.0",
    name: "cbr0",
    type: "flannel",
    subnetFile,
    dataDir,
    ipam: { dataDir: ipamDir },
    delegate: { hairpinMode: true, isDefaultGateway: true },
  };
  const results: Record<string, unknown>[] = [];
  const addresses: string[] = [];
  for (const [i, pod] of pods.entries()) {
    const add = await lab.invoke(node, {
      command: "ADD",
      containerId: `pod${i}`,
      netns: `/run/netns/${pod.name}`,
      stdin: conf,
    });
    assert.equal(add.code, 0, add.stdout + add.stderr);
    const result = add.json!;
    results.push(result);
    assert.equal(result["cniVersion"], "1.0.0");
    const [ip] = result["ips"] as { address: string; gateway: string; interface: number }[];
    assert.match(ip!.address, /^10\.244\.1\.\d+\/24$/);
    assert.equal(ip!.gateway, "10.244.1.1");
    addresses.push(ip!.address);

    const eth0 = await ipv4Of(pod, "eth0");
    assert.deepEqual(eth0, { addrs: [ip!.address], mtu: 1400 });
    const routes = await pod.ipJson<{ dst: string; gateway?: string }[]>(["route", "show"]);
    assert.ok(routes.some((r) => r.dst === "default" && r.gateway === "10.244.1.1"), JSON.stringify(routes));
    assert.ok(
      routes.some((r) => r.dst === "10.244.0.0/16" && r.gateway === "10.244.1.1"),
      JSON.stringify(routes),
    );
  }
  assert.notEqual(addresses[0], addresses[1]);
  assert.deepEqual((await ipv4Of(node, "cni0"))?.addrs, ["10.244.1.1/24"]);
  assert.equal(await vethCount(node), 2);
  assert.deepEqual(await listDir(dataDir), ["pod0@eth0", "pod1@eth0"]);
  assert.deepEqual(await heldAddresses(ipamDir, "cbr0"), addresses.map((a) => a.split("/")[0]!).sort());

  // The pods reach each other over cni0.
  const ping = await pods[0]!.exec(["ping", "-c", "1", "-W", "2", addresses[1]!.split("/")[0]!], {
    check: false,
  });
  assert.equal(ping.code, 0, ping.stdout);

  for (const [i, pod] of pods.entries()) {
    const check = await lab.invoke(node, {
      command: "CHECK",
      containerId: `pod${i}`,
      netns: `/run/netns/${pod.name}`,
      stdin: { ...conf, prevResult: results[i] },
    });
    assert.equal(check.code, 0, check.stdout + check.stderr);
    assert.equal(check.stdout, "");
  }

  // CHECK catches a pod whose address was taken away.
  await pods[1]!.ip(["addr", "flush", "dev", "eth0"]);
  const broken = await lab.invoke(node, {
    command: "CHECK",
    containerId: "pod1",
    netns: `/run/netns/${pods[1]!.name}`,
    stdin: { ...conf, prevResult: results[1] },
  });
  assert.equal(broken.code, 1);
  assert.match(String(broken.json?.["msg"]), /^delegate "bridge" CHECK failed/);

  const del = { command: "DEL", containerId: "pod0", netns: `/run/netns/${pods[0]!.name}`, stdin: conf };
  const first = await lab.invoke(node, del);
  assert.equal(first.code, 0, first.stdout + first.stderr);
  assert.equal(first.stdout, "");
  assert.equal(await ipv4Of(pods[0]!, "eth0"), undefined);
  assert.equal(await vethCount(node), 1);
  assert.equal(await exists(`${dataDir}/pod0@eth0`), false);
  assert.deepEqual(await heldAddresses(ipamDir, "cbr0"), [addresses[1]!.split("/")[0]!]);

  const second = await lab.invoke(node, del);
  assert.equal(second.code, 0, second.stdout + second.stderr);
  // DEL without a namespace (the runtime lost it) also succeeds.
  const noNetns = await lab.invoke(node, { ...del, netns: undefined });
  assert.equal(noNetns.code, 0, noNetns.stdout);

  const checkGone = await lab.invoke(node, {
    command: "CHECK",
    containerId: "pod0",
    netns: `/run/netns/${pods[0]!.name}`,
    stdin: { ...conf, prevResult: results[0] },
  });
  assert.equal(checkGone.json?.["code"], 3);

  const del1 = await lab.invoke(node, { ...del, containerId: "pod1", netns: `/run/netns/${pods[1]!.name}` });
  assert.equal(del1.code, 0, del1.stdout);
  assert.deepEqual(await heldAddresses(ipamDir, "cbr0"), []);
  assert.deepEqual(await listDir(dataDir), []);
  assert.equal(await vethCount(node), 0);
});

Deno.test("CNI 1.1.0: ADD/CHECK/DEL through a 1.0-era bridge, STATUS readiness, GC of stale attachments", async () => {
  await using lab = await cniLab();
  const node = await lab.netns("fltn");
  const pods = [await lab.netns("fltp"), await lab.netns("fltp")];
  const subnetFile = `${lab.dir}/subnet.env`;
  const ipamDir = `${lab.dir}/ipam`;
  const dataDir = `${lab.dir}/flannel`;
  const conf = {
    cniVersion: "1.1.0",
    name: "cbr0",
    type: "flannel",
    subnetFile,
    dataDir,
    ipam: { dataDir: ipamDir },
  };

  const notReady = await lab.invoke(node, { command: "STATUS", stdin: conf });
  assert.equal(notReady.json?.["code"], 50, notReady.stdout);
  assert.match(String(notReady.json?.["details"]), /is the flannel agent running/);
  await Deno.writeTextFile(subnetFile, SUBNET_ENV);
  const ready = await lab.invoke(node, { command: "STATUS", stdin: conf });
  assert.equal(ready.code, 0, ready.stdout);

  const results: Record<string, unknown>[] = [];
  for (const [i, pod] of pods.entries()) {
    const add = await lab.invoke(node, {
      command: "ADD",
      containerId: `p${i}`,
      netns: `/run/netns/${pod.name}`,
      stdin: conf,
    });
    assert.equal(add.code, 0, add.stdout + add.stderr);
    assert.equal(add.json?.["cniVersion"], "1.1.0");
    results.push(add.json!);
  }
  const check = await lab.invoke(node, {
    command: "CHECK",
    containerId: "p0",
    netns: `/run/netns/${pods[0]!.name}`,
    stdin: { ...conf, prevResult: results[0] },
  });
  assert.equal(check.code, 0, check.stdout + check.stderr);

  // The runtime says only p0 is still in use: GC releases p1's address.
  const gc = await lab.invoke(node, {
    command: "GC",
    stdin: { ...conf, "cni.dev/valid-attachments": [{ containerID: "p0", ifname: "eth0" }] },
  });
  assert.equal(gc.code, 0, gc.stdout + gc.stderr);
  assert.deepEqual(await listDir(dataDir), ["p0@eth0"]);
  const held = await heldAddresses(ipamDir, "cbr0");
  const p0 = (results[0]!["ips"] as { address: string }[])[0]!.address.split("/")[0]!;
  assert.deepEqual(held, [p0]);

  const del = await lab.invoke(node, {
    command: "DEL",
    containerId: "p0",
    netns: `/run/netns/${pods[0]!.name}`,
    stdin: conf,
  });
  assert.equal(del.code, 0, del.stdout);
  assert.deepEqual(await heldAddresses(ipamDir, "cbr0"), []);
});

Deno.test("CNI DEL of a pod added by upstream's plugin (container-ID-only file) releases it", async () => {
  await using lab = await cniLab();
  const node = await lab.netns("fltn");
  const pod = await lab.netns("fltp");
  const subnetFile = await lab.subnetEnv("subnet.env", SUBNET_ENV);
  const ipamDir = `${lab.dir}/ipam`;
  const dataDir = `${lab.dir}/flannel`;
  const conf = {
    cniVersion: "1.0.0",
    name: "cbr0",
    type: "flannel",
    subnetFile,
    dataDir,
    ipam: { dataDir: ipamDir },
  };
  const inv = { command: "ADD", containerId: "old", netns: `/run/netns/${pod.name}`, stdin: conf };
  assert.equal((await lab.invoke(node, inv)).code, 0);
  // Make it look like upstream's plugin added it.
  await Deno.rename(`${dataDir}/old@eth0`, `${dataDir}/old`);
  const del = await lab.invoke(node, { ...inv, command: "DEL" });
  assert.equal(del.code, 0, del.stdout);
  assert.deepEqual(await listDir(dataDir), []);
  assert.deepEqual(await heldAddresses(ipamDir, "cbr0"), []);
  assert.equal(await ipv4Of(pod, "eth0"), undefined);
});
