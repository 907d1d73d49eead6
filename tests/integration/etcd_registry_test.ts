/**
 * The etcd registry on etcd's JSON gateway, against a real etcd (Debian's, on a loopback port) and against
 * loopback servers that misbehave: paged listings that stay one consistent snapshot while others write, a
 * compacted watch, endpoints that are down, silent or not etcd at all.
 */
import assert from "node:assert/strict";
import { EtcdRegistry, LIST_PAGE } from "../../agent/subnet/etcd_registry.ts";
import { RegistryUnavailableError } from "../../agent/subnet/registry.ts";
import { type Etcd, freePort, startEtcd } from "../../harness/etcd.ts";
import { countLeases, fetchGateway, putSyntheticLeases, syntheticPeer } from "../helpers/etcd_leases.ts";

const PREFIX = "/coreos.com/network";

function connect(etcd: Etcd | string, extra: Partial<Parameters<typeof EtcdRegistry.connect>[0]> = {}) {
  const endpoints = typeof etcd === "string" ? [etcd] : [etcd.endpoint];
  return EtcdRegistry.connect({ endpoints, prefix: PREFIX, ...extra });
}

Deno.test("etcd registry: a listing larger than a page is complete and taken at one revision", async () => {
  await using etcd = await startEtcd();
  const gateway = fetchGateway(etcd.endpoint);
  const total = LIST_PAGE * 2 + 500;
  await putSyntheticLeases(gateway, PREFIX, total);
  await using registry = await connect(etcd);

  // Keep writing more leases while listing: every page must still be read at the first page's revision.
  let writing = true;
  let next = total;
  const writer = (async () => {
    while (writing) next += 64, await putSyntheticLeases(gateway, PREFIX, 64, next - 64);
  })();
  let listing;
  try {
    listing = await registry.listLeases();
  } finally {
    writing = false;
    await writer;
  }
  assert.equal(listing.malformed.length, 0);
  assert.equal(listing.leases.length, await countLeases(gateway, PREFIX, listing.revision));
  assert.ok(listing.leases.length >= total, `${listing.leases.length} leases, want at least ${total}`);
  const keys = new Set(listing.leases.map((l) => `${l.subnet?.addr.value}`));
  assert.equal(keys.size, listing.leases.length, "no lease is listed twice across pages");
  const first = listing.leases.find((l) => l.attrs.publicIp.value === 0x64400001n);
  assert.ok(first, "the first synthetic lease is there");
  assert.equal(first.attrs.backendType, "vxlan");
  assert.deepEqual(first.attrs.backendData, JSON.parse(syntheticPeer(PREFIX, 0).value).BackendData);
  assert.ok(first.etcdLeaseId !== undefined, "the etcd lease id is read");
});

Deno.test("etcd registry: a watch from a compacted revision ends with an error that says so", async () => {
  await using etcd = await startEtcd();
  const gateway = fetchGateway(etcd.endpoint);
  await putSyntheticLeases(gateway, PREFIX, 10); // revision 2
  const revision = await putSyntheticLeases(gateway, PREFIX, 10, 10); // revision 3 or later
  assert.ok(revision > 2n);
  await gateway("/v3/kv/compaction", { revision: String(revision), physical: true });
  await using registry = await connect(etcd);
  const stop = new AbortController();
  await assert.rejects(
    async () => {
      for await (const _ of registry.watchLeases(2n, stop.signal)) { /* nothing arrives */ }
    },
    (error: Error) => error instanceof RegistryUnavailableError && /compacted/.test(error.message),
  );
});

Deno.test("etcd registry: the watch delivers puts and deletes, and ends quietly on abort", async () => {
  await using etcd = await startEtcd();
  const gateway = fetchGateway(etcd.endpoint);
  await using registry = await connect(etcd);
  const { revision } = await registry.listLeases();
  const stop = new AbortController();
  const seen: string[] = [];
  const watching = (async () => {
    for await (const batch of registry.watchLeases(revision + 1n, stop.signal)) {
      for (const e of batch.events) seen.push(e.kind);
      if (seen.length >= 2) stop.abort();
    }
  })();
  await putSyntheticLeases(gateway, PREFIX, 1);
  await gateway("/v3/kv/deleterange", { key: btoa(syntheticPeer(PREFIX, 0).key) });
  await watching;
  assert.deepEqual(seen, ["put", "delete"]);
});

Deno.test("etcd registry: a dead first endpoint is skipped for the next one", async () => {
  await using etcd = await startEtcd();
  await etcd.ctl(["put", `${PREFIX}/config`, '{"Network":"10.5.0.0/16"}']);
  await using registry = await EtcdRegistry.connect({
    endpoints: [`http://127.0.0.1:${freePort()}`, etcd.endpoint],
    prefix: PREFIX,
  });
  assert.equal(await registry.getNetworkConfig(), '{"Network":"10.5.0.0/16"}');
});

Deno.test("etcd registry: an endpoint that is not etcd fails at once with an actionable message", async () => {
  const port = freePort();
  await using _server = Deno.serve(
    { hostname: "127.0.0.1", port, onListen() {} },
    () => new Response("404 page not found\n", { status: 404 }),
  );
  await using registry = await connect(`http://127.0.0.1:${port}`);
  await assert.rejects(registry.getNetworkConfig(), (error: Error) => {
    assert.ok(!(error instanceof RegistryUnavailableError), "not worth retrying");
    assert.match(error.message, /not an etcd v3 JSON gateway/);
    assert.match(error.message, /--enable-grpc-gateway=false/);
    return true;
  });
});

Deno.test("etcd registry: a silent endpoint times out calls and the watch instead of hanging", async () => {
  // Accepts connections and never answers, as an etcd behind a dropped path would look once connected.
  const port = freePort();
  const listener = Deno.listen({ hostname: "127.0.0.1", port });
  const held: Deno.Conn[] = [];
  const accepting = (async () => {
    for await (const conn of listener) held.push(conn);
  })();
  try {
    await using registry = await connect(`http://127.0.0.1:${port}`, {
      callTimeoutMs: 300,
      watchCreateTimeoutMs: 300,
    });
    const t0 = performance.now();
    await assert.rejects(registry.listLeases(), RegistryUnavailableError);
    const stop = new AbortController();
    await assert.rejects(
      async () => {
        for await (const _ of registry.watchLeases(1n, stop.signal)) { /* nothing */ }
      },
      (error: Error) => error instanceof RegistryUnavailableError && /in time/.test(error.message),
    );
    assert.ok(performance.now() - t0 < 3000, "both gave up near their deadlines");
  } finally {
    listener.close();
    await accepting.catch(() => {});
    for (const c of held) c.close();
  }
});

Deno.test("etcd registry: invalid endpoints and half a client certificate are refused before any call", async () => {
  await assert.rejects(
    EtcdRegistry.connect({ endpoints: ["127.0.0.1:2379"], prefix: PREFIX }),
    /Invalid etcd endpoint/,
  );
  await assert.rejects(EtcdRegistry.connect({ endpoints: [], prefix: PREFIX }), /No etcd endpoint/);
  await assert.rejects(
    EtcdRegistry.connect({ endpoints: ["https://127.0.0.1:2379"], prefix: PREFIX, certFile: "/nonexistent" }),
    /--etcd-certfile and --etcd-keyfile must be given together/,
  );
  await assert.rejects(
    EtcdRegistry.connect({
      endpoints: ["https://127.0.0.1:2379"],
      prefix: PREFIX,
      certFile: "/nonexistent.crt",
      keyFile: "/nonexistent.key",
    }),
    /Cannot read --etcd-certfile "\/nonexistent.crt"/,
  );
});
