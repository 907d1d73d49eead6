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
 * The peers are synthetic: lease i has subnet `10.(1 + i/256).(i%256).0/24`; for vxlan a PublicIP in
 * 100.64.0.0/10 and VTEP MAC `02:00:00:00:hi:lo`, for host-gw the PublicIP `192.168.77.(10 + i)` (on the
 * observed node's own subnet, as host-gw requires). Agents lease from 10.99.0.0/16, so the range
 * `10.1.`…`10.5.` of keys holds every synthetic lease (up to 1,024) and none of theirs.
 *
 * @module
 */

const [endpoint, prefix, backend, mode, fromText, countText, gapText] = Deno.args;
if (!endpoint || !prefix || !backend || !mode || !fromText || !countText) {
  throw new TypeError("usage: control_writer.ts <endpoint> <prefix> <backend> <mode> <from> <count> [gapMs]");
}
const from = Number(fromText);
const count = Number(countText);
const gapMs = Number(gapText ?? 20);
const now = () => performance.timeOrigin + performance.now();
const b64 = (s: string) => btoa(s);

/** Posts one request to the gateway. */
async function call(path: string, body: unknown): Promise<Record<string, unknown>> {
  const r = await fetch(`${endpoint}${path}`, { method: "POST", body: JSON.stringify(body) });
  const text = await r.text();
  if (!r.ok) throw new Error(`${path}: HTTP ${r.status} ${text}`);
  return JSON.parse(text);
}

/** The synthetic lease i: its subnet (the key's name) and its value. */
export function peer(kind: string, i: number): { subnet: string; key: string; value: string } {
  const subnet = `10.${1 + (i >> 8)}.${i & 255}.0`;
  const hex = (n: number) => n.toString(16).padStart(2, "0");
  const ip = i + 1;
  const value = kind === "host-gw"
    ? { PublicIP: `192.168.77.${10 + i}`, PublicIPv6: null, BackendType: "host-gw", BackendData: null }
    : {
      PublicIP: `100.${64 + (ip >> 16)}.${(ip >> 8) & 255}.${ip & 255}`,
      PublicIPv6: null,
      BackendType: "vxlan",
      BackendData: { VNI: 1, VtepMAC: `02:00:00:00:${hex(i >> 8)}:${hex(i & 255)}` },
    };
  return { subnet, key: `${prefix}/subnets/${subnet}-24`, value: JSON.stringify(value) };
}

const stdout = new TextEncoder();
const print = (o: unknown) => Deno.stdout.writeSync(stdout.encode(JSON.stringify(o) + "\n"));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

if (import.meta.main) {
  // Agents bind their leases to an etcd lease (upstream reads its TTL as the expiration); so do we.
  const leaseId = (await call("/v3/lease/grant", { TTL: 3600 })).ID as string;
  switch (mode) {
    case "pace-put":
      for (let i = from; i < from + count; i++) {
        const p = peer(backend, i);
        const t = now();
        await call("/v3/kv/put", { key: b64(p.key), value: b64(p.value), lease: leaseId });
        print({ i, t });
        await sleep(gapMs);
      }
      break;
    case "pace-del":
      for (let i = from; i < from + count; i++) {
        const t = now();
        await call("/v3/kv/deleterange", { key: b64(peer(backend, i).key) });
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
          const p = peer(backend, i);
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
