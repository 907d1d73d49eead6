/** Pure tests of the diff: minimal change sets, order, and foreign entries left alone. */
import assert from "node:assert/strict";
import fc from "fast-check";
import { parseCidr } from "../../ip.ts";
import {
  AF_BRIDGE,
  AF_INET,
  type Neigh,
  NTF_SELF,
  NUD_PERMANENT,
  NUD_STALE,
  type Route,
  RTPROT_BOOT,
  RTPROT_KERNEL,
} from "../../netlink/mod.ts";
import { type DesiredState, EMPTY_PLAN, indexPlan } from "./desired.ts";
import { type Change, changeRequest, diffPlan, diffState, type Observed } from "./changes.ts";

const DEV = 7;
const EXT = 2;
const SCOPE = { device: DEV, extIndex: EXT, networks: [parseCidr("10.244.0.0/16")] };

function route(dst: string, gateway: string | undefined, oif: number, extra: Partial<Route> = {}): Route {
  return {
    family: AF_INET,
    dst,
    gateway,
    oif,
    table: 254,
    scope: 0,
    protocol: RTPROT_BOOT,
    type: 1,
    priority: undefined,
    prefsrc: undefined,
    onlink: oif === DEV,
    flags: 0,
    mtu: undefined,
    ...extra,
  };
}

function neigh(dst: string, lladdr: string, extra: Partial<Neigh> = {}): Neigh {
  return {
    family: AF_INET,
    index: DEV,
    state: NUD_PERMANENT,
    flags: 0,
    type: 1,
    dst,
    lladdr,
    vlan: undefined,
    vni: undefined,
    port: undefined,
    master: undefined,
    ...extra,
  };
}

function fdb(lladdr: string, dst: string, extra: Partial<Neigh> = {}): Neigh {
  return neigh(dst, lladdr, { family: AF_BRIDGE, flags: NTF_SELF, ...extra });
}

function peer(
  n: number,
  mac = `02:00:00:00:00:0${n}`,
  ip = `192.168.77.${n}`,
  direct = false,
): DesiredState {
  const key = `10.244.${n}.0-24`;
  return {
    routes: [
      direct
        ? { dst: `10.244.${n}.0/24`, gateway: ip, oif: EXT, onlink: false, peer: key }
        : { dst: `10.244.${n}.0/24`, gateway: `10.244.${n}.0`, oif: DEV, onlink: true, peer: key },
    ],
    neighs: [{ index: DEV, dst: `10.244.${n}.0`, lladdr: mac, peer: key }],
    fdbs: [{ index: DEV, lladdr: mac, dst: ip, peer: key }],
    peers: new Map([[key, { state: "programmed", via: "tunnel" }]]),
  };
}

function merge(...ds: DesiredState[]): DesiredState {
  return {
    routes: ds.flatMap((d) => d.routes),
    neighs: ds.flatMap((d) => d.neighs),
    fdbs: ds.flatMap((d) => d.fdbs),
    peers: new Map(ds.flatMap((d) => [...d.peers])),
  };
}

/** What the kernel would hold after applying `desired` exactly (one entry per identity, as the kernel keeps). */
function kernelOf(d: DesiredState): Observed {
  const once = <T>(
    xs: readonly T[],
    key: (x: T) => string,
  ) => [...new Map(xs.map((x) => [key(x), x])).values()];
  return {
    routes: once(d.routes, (r) => r.dst).map((r) => route(r.dst, r.gateway, r.oif, { onlink: r.onlink })),
    neighs: once(d.neighs, (n) => n.dst).map((n) => neigh(n.dst, n.lladdr)),
    fdbs: once(d.fdbs, (f) => `${f.lladdr} ${f.dst}`).map((f) => fdb(f.lladdr, f.dst)),
  };
}

const summary = (cs: Change[]) =>
  cs.map((c) =>
    `${c.op} ${c.kind} ${"dst" in c.entry ? c.entry.dst : ""} ${"lladdr" in c.entry ? c.entry.lladdr : ""}`
      .trim()
  );

Deno.test("diffState: an empty kernel gets ARP, FDB and route per peer, in that order", () => {
  const cs = diffState(indexPlan(merge(peer(2), peer(3))), { routes: [], neighs: [], fdbs: [] }, SCOPE);
  assert.deepEqual(summary(cs), [
    "set neigh 10.244.2.0 02:00:00:00:00:02",
    "set neigh 10.244.3.0 02:00:00:00:00:03",
    "set fdb 192.168.77.2 02:00:00:00:00:02",
    "set fdb 192.168.77.3 02:00:00:00:00:03",
    "set route 10.244.2.0/24",
    "set route 10.244.3.0/24",
  ]);
});

Deno.test("diffState: a converged kernel needs no change", () => {
  const d = merge(peer(2), peer(3));
  assert.deepEqual(diffState(indexPlan(d), kernelOf(d), SCOPE), []);
});

Deno.test("diffState: a removed peer's entries are deleted, routes first", () => {
  const cs = diffState(indexPlan(peer(2)), kernelOf(merge(peer(2), peer(3))), SCOPE);
  assert.deepEqual(summary(cs), [
    "del route 10.244.3.0/24",
    "del neigh 10.244.3.0 02:00:00:00:00:03",
    "del fdb 192.168.77.3 02:00:00:00:00:03",
  ]);
});

Deno.test("diffState: a changed VtepMAC replaces ARP and leaves no stale FDB; a changed PublicIP moves the FDB", () => {
  const cs = diffState(indexPlan(peer(2, "02:00:00:00:00:99")), kernelOf(peer(2)), SCOPE);
  assert.deepEqual(summary(cs), [
    "del fdb 192.168.77.2 02:00:00:00:00:02",
    "set neigh 10.244.2.0 02:00:00:00:00:99",
    "set fdb 192.168.77.2 02:00:00:00:00:99",
  ]);
  const moved = diffState(indexPlan(peer(2, undefined, "192.168.77.22")), kernelOf(peer(2)), SCOPE);
  assert.deepEqual(summary(moved), [
    "del fdb 192.168.77.2 02:00:00:00:00:02",
    "set fdb 192.168.77.22 02:00:00:00:00:02",
  ]);
});

Deno.test("diffState: foreign entries are never touched", () => {
  const observed: Observed = {
    routes: [
      route("0.0.0.0/0", "192.168.77.254", EXT),
      route("10.244.0.0/16", "192.168.77.254", EXT), // the whole Network: not narrower, not ours
      route("10.244.1.0/24", undefined, 9, { protocol: RTPROT_KERNEL }), // cni0's own subnet
      route("10.99.0.0/24", "192.168.77.3", EXT), // outside the Network
      route("10.244.9.0/24", "192.168.77.9", 11), // inside the Network but on another device
      route("192.168.77.0/24", undefined, EXT, { protocol: RTPROT_KERNEL }),
    ],
    neighs: [
      neigh("10.244.8.0", "02:00:00:00:00:08", { state: NUD_STALE }), // learned, not permanent
      neigh("192.168.77.254", "02:00:00:00:00:fe", { index: EXT }), // on another device
    ],
    fdbs: [
      fdb("02:00:00:00:00:08", "192.168.77.8", { index: 11 }),
      fdb("33:33:00:00:00:01", "192.168.77.8", { flags: 0 }), // not "self"
    ],
  };
  assert.deepEqual(diffState(indexPlan(merge()), observed, SCOPE), []);
});

Deno.test("diffState: a route on our device that differs is replaced in place; ours on eth1 inside the Network is removed", () => {
  const observed: Observed = {
    routes: [
      route("10.244.2.0/24", "192.168.77.2", EXT), // was DirectRouting, now tunnel
      route("10.244.7.0/24", "192.168.77.7", EXT), // stale host-gw/DirectRouting route
    ],
    neighs: [neigh("10.244.2.0", "02:00:00:00:00:02")],
    fdbs: [fdb("02:00:00:00:00:02", "192.168.77.2")],
  };
  assert.deepEqual(summary(diffState(indexPlan(peer(2)), observed, SCOPE)), [
    "del route 10.244.7.0/24",
    "set route 10.244.2.0/24",
  ]);
});

Deno.test("diffState (property): applying the change set to the kernel yields exactly the desired entries", () => {
  const peerArb = fc.record({
    n: fc.integer({ min: 2, max: 40 }),
    mac: fc.constantFrom("02:00:00:00:00:0a", "02:00:00:00:00:0b"),
    ip: fc.constantFrom("192.168.77.10", "192.168.77.11"),
  });
  const stateArb = fc.uniqueArray(peerArb, { selector: (p) => p.n, maxLength: 8 })
    .map((ps) => merge(...ps.map((p) => peer(p.n, p.mac, p.ip))));
  fc.assert(fc.property(stateArb, stateArb, (want, had) => {
    const observed = kernelOf(had);
    const cs = diffState(indexPlan(want), observed, SCOPE);
    // Simulate the kernel: deletes remove by identity, sets replace by key.
    const routes = new Map(observed.routes.map((r) => [r.dst, r]));
    const neighs = new Map(observed.neighs.map((n) => [n.dst!, n]));
    const fdbs = new Map(observed.fdbs.map((f) => [`${f.lladdr} ${f.dst}`, f]));
    for (const c of cs) {
      if (c.kind === "route") {
        c.op === "del"
          ? routes.delete(c.entry.dst)
          : routes.set(c.entry.dst, route(c.entry.dst, c.entry.gateway, c.entry.oif));
      }
      if (c.kind === "neigh") {
        c.op === "del"
          ? neighs.delete(c.entry.dst!)
          : neighs.set(c.entry.dst, neigh(c.entry.dst, c.entry.lladdr));
      }
      if (c.kind === "fdb") {
        const key = `${c.entry.lladdr} ${c.entry.dst}`;
        c.op === "del" ? fdbs.delete(key) : fdbs.set(key, fdb(c.entry.lladdr!, c.entry.dst!));
      }
    }
    const after: Observed = {
      routes: [...routes.values()],
      neighs: [...neighs.values()],
      fdbs: [...fdbs.values()],
    };
    assert.deepEqual(diffState(indexPlan(want), after, SCOPE), []);
    // Minimal: nothing set that was already right, nothing deleted that is wanted.
    const id = (
      kind: string,
      e: { dst?: string | undefined; lladdr?: string | undefined; gateway?: string | undefined },
    ) => `${kind} ${e.dst} ${kind === "route" ? e.gateway : e.lladdr}`;
    const hadIds = new Set([
      ...had.routes.map((r) => id("route", r)),
      ...had.neighs.map((n) => id("neigh", n)),
      ...had.fdbs.map((f) => id("fdb", f)),
    ]);
    const wantIds = new Set([
      ...want.routes.map((r) => id("route", r)),
      ...want.neighs.map((n) => id("neigh", n)),
      ...want.fdbs.map((f) => id("fdb", f)),
    ]);
    for (const c of cs) {
      const cid = id(c.kind, c.entry as { dst?: string; lladdr?: string; gateway?: string });
      if (c.op === "set") assert.ok(!hadIds.has(cid), `needless set ${cid}`);
      else assert.ok(!wantIds.has(cid), `wanted entry deleted ${cid}`);
    }
  }));
});

Deno.test("diffPlan: from no plan, a peer's ARP, FDB and route; back to none, its deletes, routes first", () => {
  const plan = indexPlan(peer(2));
  assert.deepEqual(summary(diffPlan(EMPTY_PLAN, plan, SCOPE)), [
    "set neigh 10.244.2.0 02:00:00:00:00:02",
    "set fdb 192.168.77.2 02:00:00:00:00:02",
    "set route 10.244.2.0/24",
  ]);
  assert.deepEqual(summary(diffPlan(plan, EMPTY_PLAN, SCOPE)), [
    "del route 10.244.2.0/24",
    "del neigh 10.244.2.0 02:00:00:00:00:02",
    "del fdb 192.168.77.2 02:00:00:00:00:02",
  ]);
  assert.deepEqual(diffPlan(plan, indexPlan(peer(2)), SCOPE), [], "an unchanged plan needs nothing");
});

Deno.test("diffPlan (property): the same netlink requests as diffState against a kernel holding the previous plan", () => {
  const peerArb = fc.record({
    n: fc.integer({ min: 2, max: 12 }),
    mac: fc.constantFrom("02:00:00:00:00:0a", "02:00:00:00:00:0b"),
    ip: fc.constantFrom("192.168.77.10", "192.168.77.11"),
    direct: fc.boolean(),
  });
  const stateArb = fc.uniqueArray(peerArb, { selector: (p) => p.n, maxLength: 8 })
    .map((ps) => merge(...ps.map((p) => peer(p.n, p.mac, p.ip, p.direct))));
  fc.assert(fc.property(stateArb, stateArb, (had, want) => {
    const dumped = diffState(indexPlan(want), kernelOf(had), SCOPE);
    const planned = diffPlan(indexPlan(had), indexPlan(want), SCOPE);
    assert.deepEqual(planned.map(changeRequest), dumped.map(changeRequest));
  }));
});
