/**
 * The lease manager and the etcd registry against a real etcd (Debian's, on a free loopback port).
 */
import assert from "node:assert/strict";
import { memoryLogger } from "../../cli/log.ts";
import { type NetworkConfig, parseNetworkConfig } from "../../agent/config/mod.ts";
import { formatCidr, type IpNet, netOverlaps, parseIp } from "../../agent/ip.ts";
import { EtcdRegistry } from "../../agent/subnet/etcd_registry.ts";
import type { Lease, LeaseAttrs } from "../../agent/subnet/lease.ts";
import { LeaseManager } from "../../agent/subnet/manager.ts";
import type { Registry } from "../../agent/subnet/registry.ts";
import { waitFor } from "../helpers/mini_lab.ts";
import { type Etcd, startEtcd } from "../../harness/etcd.ts";

const PREFIX = "/coreos.com/network";
const CONFIG = '{"Network":"10.5.0.0/16","Backend":{"Type":"host-gw"}}';

function attrsFor(ip: string, backendType = "host-gw"): LeaseAttrs {
  return { publicIp: parseIp(ip), backendType };
}

interface Node extends AsyncDisposable {
  readonly manager: LeaseManager;
  readonly registry: EtcdRegistry;
  readonly log: ReturnType<typeof memoryLogger>;
  readonly controller: AbortController;
  /** Starts the watch and renew loops. */
  run(): void;
}

async function node(
  etcd: Etcd,
  ip: string,
  options: {
    config?: NetworkConfig;
    previous?: { subnet?: IpNet };
    wrap?: (r: Registry) => Registry;
    ttlSeconds?: number;
    renewMarginMs?: number;
  } = {},
): Promise<Node> {
  const registry = await EtcdRegistry.connect({
    endpoints: [etcd.endpoint],
    prefix: PREFIX,
    callTimeoutMs: 2000,
  });
  const log = memoryLogger();
  const controller = new AbortController();
  const manager = new LeaseManager({
    registry: options.wrap ? options.wrap(registry) : registry,
    config: options.config ?? parseNetworkConfig(CONFIG),
    logger: log,
    attrs: () => attrsFor(ip),
    ...(options.previous ? { previous: options.previous } : {}),
    ...(options.ttlSeconds ? { ttlSeconds: options.ttlSeconds } : {}),
    ...(options.renewMarginMs ? { renewMarginMs: options.renewMarginMs } : {}),
  });
  let running: Promise<void> | undefined;
  return {
    manager,
    registry,
    log,
    controller,
    run() {
      running = manager.run(controller.signal);
    },
    async [Symbol.asyncDispose]() {
      controller.abort();
      await running?.catch(() => {});
      await registry[Symbol.asyncDispose]();
    },
  };
}

async function withEtcd(fn: (etcd: Etcd) => Promise<void>): Promise<void> {
  await using etcd = await startEtcd();
  await etcd.ctl(["put", `${PREFIX}/config`, CONFIG]);
  await fn(etcd);
}

function subnetOf(lease: Lease): string {
  return formatCidr(lease.subnet!);
}

async function ttlOf(etcd: Etcd, key: string): Promise<{ id: string; ttl: number; granted: number }> {
  // Lease ids exceed 2^53: read them from the text, not through JSON.parse.
  const raw = await etcd.ctl(["get", key, "-w", "json"]);
  const id = BigInt(/"lease":(\d+)/.exec(raw)?.[1] ?? "0").toString(16);
  if (id === "0") return { id, ttl: -1, granted: 0 };
  const out = JSON.parse(await etcd.ctl(["lease", "timetolive", id, "-w", "json"])) as {
    ttl: number;
    "granted-ttl": number;
  };
  return { id, ttl: out.ttl, granted: out["granted-ttl"] };
}

Deno.test("lease manager: two nodes get distinct subnets inside the pool", () =>
  withEtcd(async (etcd) => {
    await using a = await node(etcd, "192.168.1.1");
    await using b = await node(etcd, "192.168.1.2");
    const la = await a.manager.acquire(a.controller.signal);
    const lb = await b.manager.acquire(b.controller.signal);
    assert.notEqual(subnetOf(la), subnetOf(lb));
    for (const l of [la, lb]) {
      assert.equal(l.subnet!.prefixLen, 24);
      assert.match(subnetOf(l), /^10\.5\.\d+\.0\/24$/);
      assert.notEqual(subnetOf(l), "10.5.0.0/24", "the first subnet is skipped, as upstream does");
    }
  }));

Deno.test("lease manager: the key, value and TTL are what upstream writes", () =>
  withEtcd(async (etcd) => {
    await using a = await node(etcd, "10.199.0.1");
    const lease = await a.manager.acquire(a.controller.signal);
    const keyName = `${formatCidr(lease.subnet!).replace("/", "-")}`;
    const key = `${PREFIX}/subnets/${keyName}`;
    assert.equal(
      await etcd.ctl(["get", key, "--print-value-only"]),
      `{"PublicIP":"10.199.0.1","PublicIPv6":null,"BackendType":"host-gw"}\n`,
    );
    const ttl = await ttlOf(etcd, key);
    assert.equal(ttl.granted, 86400);
    assert.ok(ttl.ttl > 86000);
  }));

Deno.test("lease manager: a restarted node gets the same subnet back with a fresh lease, and the old etcd lease is revoked", () =>
  withEtcd(async (etcd) => {
    let first: Lease;
    let firstLeaseId: string;
    {
      await using a = await node(etcd, "192.168.1.1");
      first = await a.manager.acquire(a.controller.signal);
      firstLeaseId = first.etcdLeaseId!;
    }
    await using again = await node(etcd, "192.168.1.1");
    const second = await again.manager.acquire(again.controller.signal);
    assert.equal(subnetOf(second), subnetOf(first));
    assert.notEqual(second.etcdLeaseId, firstLeaseId);
    const leases = await etcd.ctl(["lease", "list"]);
    assert.ok(!leases.includes(BigInt(firstLeaseId).toString(16)), `old lease still listed: ${leases}`);
  }));

Deno.test("lease manager: the previous subnet from subnet.env is re-created when it is free", () =>
  withEtcd(async (etcd) => {
    const previous = { subnet: { addr: parseIp("10.5.77.0"), prefixLen: 24 } };
    await using a = await node(etcd, "192.168.1.1", { previous });
    assert.equal(subnetOf(await a.manager.acquire(a.controller.signal)), "10.5.77.0/24");
  }));

Deno.test("lease manager: 20 nodes acquiring at once never collide", () =>
  withEtcd(async (etcd) => {
    // A small pool makes collisions likely: 10.6.0.0/19 with /24 subnets has 31 candidates.
    const config = parseNetworkConfig(
      '{"Network":"10.6.0.0/19","SubnetLen":24,"Backend":{"Type":"host-gw"}}',
    );
    const nodes = await Promise.all(
      Array.from({ length: 20 }, (_, i) => node(etcd, `192.168.2.${i + 1}`, { config })),
    );
    try {
      const leases = await Promise.all(nodes.map((n) => n.manager.acquire(n.controller.signal)));
      const subnets = leases.map(subnetOf);
      assert.equal(new Set(subnets).size, 20, `duplicates in ${subnets.join(" ")}`);
      const listed = JSON.parse(
        await etcd.ctl(["get", "--prefix", `${PREFIX}/subnets/`, "--keys-only", "-w", "json"]),
      );
      assert.equal(listed.kvs.length, 20);
    } finally {
      await Promise.all(nodes.map((n) => n[Symbol.asyncDispose]()));
    }
  }));

Deno.test("lease manager: losing the create race retries with another subnet instead of exiting", () =>
  withEtcd(async (etcd) => {
    let raced = 0;
    const wrap = (inner: Registry): Registry => ({
      getNetworkConfig: () => inner.getNetworkConfig(),
      putNetworkConfigIfAbsent: (text) => inner.putNetworkConfigIfAbsent(text),
      listLeases: () => inner.listLeases(),
      getLease: (s) => inner.getLease(s),
      updateLease: (...args) => inner.updateLease(...args),
      deleteLease: (...args) => inner.deleteLease(...args),
      watchLeases: (...args) => inner.watchLeases(...args),
      [Symbol.asyncDispose]: () => Promise.resolve(),
      createLease: async (...args) => {
        if (raced++ === 0) {
          // Another node writes the same key between our listing and our create.
          await inner.createLease(args[0], attrsFor("192.168.9.9"), { ttlSeconds: 60 });
        }
        return await inner.createLease(...args);
      },
    });
    await using a = await node(etcd, "192.168.1.1", { wrap });
    const lease = await a.manager.acquire(a.controller.signal);
    assert.equal(raced, 2);
    const stored = await etcd.ctl(["get", "--prefix", `${PREFIX}/subnets/`, "--print-value-only"]);
    assert.match(stored, /192\.168\.9\.9/);
    assert.match(stored, /192\.168\.1\.1/);
    assert.ok(a.log.lines.some((l) => l.includes("Another node took the subnet first")));
    assert.ok(lease.subnet);
  }));

Deno.test("lease manager: another node's lease appearing and vanishing shows in the snapshot within a second", () =>
  withEtcd(async (etcd) => {
    await using a = await node(etcd, "192.168.1.1");
    await a.manager.acquire(a.controller.signal);
    a.run();
    const key = `${PREFIX}/subnets/10.5.200.0-24`;
    const t0 = performance.now();
    await etcd.ctl(["put", key, '{"PublicIP":"192.168.1.50","PublicIPv6":null,"BackendType":"host-gw"}']);
    await waitFor(
      "the peer in the snapshot",
      () => a.manager.snapshot.has("10.5.200.0-24") || undefined,
      1000,
    );
    const added = performance.now() - t0;
    await etcd.ctl(["del", key]);
    await waitFor("the peer gone", () => !a.manager.snapshot.has("10.5.200.0-24") || undefined, 1000);
    assert.ok(added < 1000);
  }));

Deno.test("lease manager: a malformed foreign lease is skipped and logged once", () =>
  withEtcd(async (etcd) => {
    await etcd.ctl(["put", `${PREFIX}/subnets/10.5.9.0-24`, "{not json"]);
    await using a = await node(etcd, "192.168.1.1");
    const lease = await a.manager.acquire(a.controller.signal);
    assert.notEqual(subnetOf(lease), "10.5.9.0/24", "a malformed key still occupies its subnet");
    a.run();
    await etcd.ctl([
      "put",
      `${PREFIX}/subnets/10.5.10.0-24`,
      '{"PublicIP":"192.168.1.60","PublicIPv6":null}',
    ]);
    await waitFor("the good lease", () => a.manager.snapshot.has("10.5.10.0-24") || undefined, 2000);
    assert.equal(a.manager.snapshot.has("10.5.9.0-24"), false);
    const warnings = a.log.lines.filter((l) => l.includes("malformed") && l.includes("10.5.9.0-24"));
    assert.equal(warnings.length, 1, a.log.lines.join("\n"));
  }));

Deno.test("lease manager: our lease deleted by hand is re-created with the same subnet", () =>
  withEtcd(async (etcd) => {
    await using a = await node(etcd, "192.168.1.1");
    const lease = await a.manager.acquire(a.controller.signal);
    a.run();
    const keyName = subnetOf(lease).replace("/", "-");
    await new Promise((r) => setTimeout(r, 200));
    await etcd.ctl(["del", `${PREFIX}/subnets/${keyName}`]);
    await waitFor("our lease back in etcd", async () => {
      const v = await etcd.ctl(["get", `${PREFIX}/subnets/${keyName}`, "--print-value-only"]);
      return v.includes("192.168.1.1") || undefined;
    }, 5000);
    assert.equal(subnetOf(a.manager.lease), subnetOf(lease));
  }));

Deno.test("lease manager: a reservation (a key without TTL) is used and stays without TTL", () =>
  withEtcd(async (etcd) => {
    const key = `${PREFIX}/subnets/10.5.42.0-24`;
    await etcd.ctl(["put", key, '{"PublicIP":"192.168.1.1","PublicIPv6":null,"BackendType":"host-gw"}']);
    await using a = await node(etcd, "192.168.1.1");
    const lease = await a.manager.acquire(a.controller.signal);
    assert.equal(subnetOf(lease), "10.5.42.0/24");
    await a.manager.renew(a.controller.signal);
    assert.equal((await ttlOf(etcd, key)).ttl, -1, "the reservation must not get a TTL");
    assert.equal(a.manager.expiresAt, undefined);
  }));

Deno.test("lease manager: renewal extends the TTL with a new etcd lease and revokes the old one", () =>
  withEtcd(async (etcd) => {
    await using a = await node(etcd, "192.168.1.1", { ttlSeconds: 30 });
    const lease = await a.manager.acquire(a.controller.signal);
    const key = `${PREFIX}/subnets/${subnetOf(lease).replace("/", "-")}`;
    const before = await ttlOf(etcd, key);
    assert.equal(before.granted, 30);
    await new Promise((r) => setTimeout(r, 1100));
    await a.manager.renew(a.controller.signal);
    const after = await ttlOf(etcd, key);
    assert.notEqual(after.id, before.id);
    assert.ok(after.ttl >= 29, `ttl after renewal ${after.ttl}`);
    assert.ok(!(await etcd.ctl(["lease", "list"])).includes(before.id));
  }));

Deno.test("lease manager: the renew loop renews before the margin", () =>
  withEtcd(async (etcd) => {
    // TTL 3 s, margin 2 s: the loop must renew about 1 s after acquiring.
    await using a = await node(etcd, "192.168.1.1", { ttlSeconds: 3, renewMarginMs: 2000 });
    const lease = await a.manager.acquire(a.controller.signal);
    a.run();
    const first = lease.etcdLeaseId;
    await waitFor("a renewal", () => a.manager.lease.etcdLeaseId !== first || undefined, 4000);
    await new Promise((r) => setTimeout(r, 3500));
    const key = `${PREFIX}/subnets/${subnetOf(lease).replace("/", "-")}`;
    assert.ok((await etcd.ctl(["get", key])).includes(key), "the key outlived its first TTL");
  }));

Deno.test("lease manager: etcd stopped and restarted mid-run keeps the snapshot and resyncs", () =>
  withEtcd(async (etcd) => {
    await using a = await node(etcd, "192.168.1.1");
    const lease = await a.manager.acquire(a.controller.signal);
    a.run();
    await etcd.ctl([
      "put",
      `${PREFIX}/subnets/10.5.201.0-24`,
      '{"PublicIP":"192.168.1.51","PublicIPv6":null}',
    ]);
    await waitFor("peer 1", () => a.manager.snapshot.has("10.5.201.0-24") || undefined, 2000);
    await etcd.stop();
    await new Promise((r) => setTimeout(r, 1500));
    assert.ok(a.manager.snapshot.has("10.5.201.0-24"), "the snapshot survives the outage");
    assert.ok(a.manager.snapshot.has(subnetOf(lease).replace("/", "-")));
    await etcd.start();
    await etcd.ctl([
      "put",
      `${PREFIX}/subnets/10.5.202.0-24`,
      '{"PublicIP":"192.168.1.52","PublicIPv6":null}',
    ]);
    await waitFor(
      "peer 2 after the outage",
      () => a.manager.snapshot.has("10.5.202.0-24") || undefined,
      15_000,
    );
    assert.ok(a.manager.snapshot.has("10.5.201.0-24"), "peer 1 is still known after the resync");
  }));

Deno.test("lease manager: leases of every node never overlap across many rounds of churn", () =>
  withEtcd(async (etcd) => {
    const all: IpNet[] = [];
    for (let round = 0; round < 3; round++) {
      const nodes = await Promise.all(
        Array.from({ length: 5 }, (_, i) => node(etcd, `192.168.3.${round * 5 + i}`)),
      );
      try {
        for (const l of await Promise.all(nodes.map((n) => n.manager.acquire(n.controller.signal)))) {
          assert.ok(!all.some((x) => netOverlaps(x, l.subnet!)), `overlap at ${subnetOf(l)}`);
          all.push(l.subnet!);
        }
      } finally {
        await Promise.all(nodes.map((n) => n[Symbol.asyncDispose]()));
      }
    }
  }));
