/**
 * The lease writer of the control-plane benchmark, run as its own process inside the etcd namespace (the only
 * place that reaches etcd, since labs never route the host's namespace into theirs). It talks to etcd's v3
 * JSON gateway with `fetch` and prints one JSON line per timed event, stamped with
 * `performance.timeOrigin + performance.now()`: the same system clock the benchmark reads in its own process.
 *
 * Usage: `deno run -A control_writer.ts <endpoint> <prefix> <backend> <mode> <from> <count> [gapMs]`, where mode
 * is `pace-put` or `pace-del` (one request at a time, `gapMs` apart, each timed), `burst-put` (transactions of
 * 128 puts, 8 in flight) or `burst-del` (one range delete of every synthetic lease).
 *
 * The leases are those of `synthetic.ts`.
 *
 * @module
 */

import { type SyntheticBackend, syntheticPeer } from "./synthetic.ts";

const now = () => performance.timeOrigin + performance.now();
const b64 = (s: string) => btoa(s);
let endpoint = "";

/** Posts one request to the gateway. */
async function call(path: string, body: unknown): Promise<Record<string, unknown>> {
  const r = await fetch(`${endpoint}${path}`, { method: "POST", body: JSON.stringify(body) });
  const text = await r.text();
  if (!r.ok) throw new Error(`${path}: HTTP ${r.status} ${text}`);
  return JSON.parse(text);
}

const stdout = new TextEncoder();
const print = (o: unknown) => Deno.stdout.writeSync(stdout.encode(JSON.stringify(o) + "\n"));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

if (import.meta.main) {
  const [url, prefix, backendText, mode, fromText, countText, gapText] = Deno.args;
  if (!url || !prefix || !backendText || !mode || !fromText || !countText) {
    throw new TypeError(
      "usage: control_writer.ts <endpoint> <prefix> <backend> <mode> <from> <count> [gapMs]",
    );
  }
  endpoint = url;
  const backend = backendText as SyntheticBackend;
  const [from, count, gapMs] = [Number(fromText), Number(countText), Number(gapText ?? 20)];
  const peer = (i: number) => syntheticPeer(prefix, backend, i);
  // Agents bind their leases to an etcd lease (upstream reads its TTL as the expiration); so do we.
  const leaseId = (await call("/v3/lease/grant", { TTL: 3600 })).ID as string;
  switch (mode) {
    case "pace-put":
      for (let i = from; i < from + count; i++) {
        const p = peer(i);
        const t = now();
        await call("/v3/kv/put", { key: b64(p.key), value: b64(p.value), lease: leaseId });
        print({ i, t });
        await sleep(gapMs);
      }
      break;
    case "pace-del":
      for (let i = from; i < from + count; i++) {
        const t = now();
        await call("/v3/kv/deleterange", { key: b64(peer(i).key) });
        print({ i, t });
        await sleep(gapMs);
      }
      break;
    case "burst-put": {
      const t = now();
      const jobs: Promise<unknown>[] = [];
      for (let start = from; start < from + count; start += 128) {
        const success = [];
        for (let i = start; i < Math.min(from + count, start + 128); i++) {
          const p = peer(i);
          success.push({ request_put: { key: b64(p.key), value: b64(p.value), lease: leaseId } });
        }
        jobs.push(call("/v3/kv/txn", { success }));
        if (jobs.length >= 8) await Promise.all(jobs.splice(0));
      }
      await Promise.all(jobs);
      print({ t, written: now() });
      break;
    }
    case "burst-del": {
      const t = now();
      await call("/v3/kv/deleterange", {
        key: b64(`${prefix}/subnets/10.1.`),
        range_end: b64(`${prefix}/subnets/10.5.`),
      });
      print({ t, written: now() });
      break;
    }
    default:
      throw new TypeError(`unknown mode ${mode}`);
  }
}
