import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import {
  diffEmpty,
  diffState,
  expectedState,
  EXT_INDEX,
  formatDiff,
  leaseKeyOf,
  leasesFromKvs,
  observedState,
  reachFromRouteGet,
} from "./kernel_state.ts";

const kv = (subnet: string, ip: string, type: string, mac?: string) => ({
  key: `/coreos.com/network/subnets/${subnet}`,
  value: JSON.stringify({
    PublicIP: ip,
    BackendType: type,
    ...(mac ? { BackendData: { VNI: 1, VtepMAC: mac } } : {}),
  }),
});

const leases = leasesFromKvs([
  kv("10.244.1.0-24", "192.168.50.1", "vxlan", "aa:aa:aa:aa:aa:01"),
  kv("10.244.2.0-24", "192.168.50.2", "vxlan", "aa:aa:aa:aa:aa:02"),
  kv("10.244.3.0-24", "192.168.60.3", "vxlan", "aa:aa:aa:aa:aa:03"),
  { key: "/coreos.com/network/subnets/garbage", value: "{" },
]);

const base = {
  backend: "vxlan",
  vni: 1,
  port: 8472,
  directRouting: false,
  network: "10.244.0.0/16",
  ownKey: "10.244.1.0-24",
  extName: "eth1",
  leases,
  reach: () => ({ kind: "direct" as const, oif: EXT_INDEX }),
  deviceMtu: 1450,
};

Deno.test("expected vxlan state comes from the agent's plan: route, neighbour and FDB per peer, and the device", () => {
  assertEquals(leases.size, 3);
  const e = expectedState(base);
  const lines = e.entries.map((x) => `${x.kind} ${x.key} ${x.value}`);
  assertEquals(lines, [
    "device flannel.1 vni 1 port 8472 local 192.168.50.1 dev eth1 nolearning mtu 1450 address aa:aa:aa:aa:aa:01",
    "route 10.244.2.0/24 via 10.244.2.0 dev flannel.1 onlink",
    "route 10.244.3.0/24 via 10.244.3.0 dev flannel.1 onlink",
    "neigh 10.244.2.0 dev flannel.1 lladdr aa:aa:aa:aa:aa:02 PERMANENT",
    "neigh 10.244.3.0 dev flannel.1 lladdr aa:aa:aa:aa:aa:03 PERMANENT",
    "fdb aa:aa:aa:aa:aa:02 dev flannel.1 dst 192.168.50.2 self permanent",
    "fdb aa:aa:aa:aa:aa:03 dev flannel.1 dst 192.168.60.3 self permanent",
  ]);
});

Deno.test("DirectRouting sends adjacent peers a direct route, others the tunnel", () => {
  const e = expectedState({
    ...base,
    directRouting: true,
    reach: (ip) =>
      ip.startsWith("192.168.50.")
        ? { kind: "direct", oif: EXT_INDEX }
        : { kind: "gateway", oif: EXT_INDEX, gateway: "192.168.50.254" },
  });
  const routes = e.entries.filter((x) => x.kind === "route").map((x) => `${x.key} ${x.value}`);
  assertEquals(routes, [
    "10.244.2.0/24 via 192.168.50.2 dev eth1",
    "10.244.3.0/24 via 10.244.3.0 dev flannel.1 onlink",
  ]);
});

Deno.test("host-gw across a router expects no route and says why", () => {
  const hg = leasesFromKvs([
    kv("10.244.1.0-24", "192.168.61.1", "host-gw"),
    kv("10.244.2.0-24", "192.168.62.2", "host-gw"),
  ]);
  const e = expectedState({
    ...base,
    backend: "host-gw",
    leases: hg,
    reach: () => reachFromRouteGet([{ dev: "eth1", gateway: "192.168.61.254" }], "eth1"),
  });
  assertEquals(e.entries, []);
  assert(e.notes[0]!.includes("directly connected"), e.notes[0]!);
});

Deno.test("udp expects one route to the network through flannel0", () => {
  const e = expectedState({ ...base, backend: "udp" });
  assertEquals(e.entries.map((x) => `${x.key} ${x.value}`), ["10.244.0.0/16 dev flannel0"]);
});

Deno.test("observed state is read from ip -j output and diffs name missing, extra and different entries", () => {
  const actual = observedState({
    routes: [
      { dst: "default", gateway: "192.168.50.254", dev: "eth1" },
      { dst: "10.244.1.0/24", dev: "cni0" }, // own subnet: not the agent's
      { dst: "10.244.2.0/24", gateway: "10.244.2.0", dev: "flannel.1", flags: ["onlink"] },
      { dst: "10.244.3.0/24", gateway: "192.168.50.3", dev: "eth1" },
      { dst: "10.244.9.0/24", gateway: "10.244.9.0", dev: "flannel.1", flags: ["onlink"] },
      { dst: "192.168.50.0/24", dev: "eth1" },
    ],
    neighs: [{ dst: "10.244.2.0", dev: "flannel.1", lladdr: "AA:AA:AA:AA:AA:02", state: ["PERMANENT"] }],
    fdbs: [
      {
        mac: "aa:aa:aa:aa:aa:02",
        dev: "flannel.1",
        dst: "192.168.50.2",
        flags: ["self"],
        state: "permanent",
      },
      {
        mac: "aa:aa:aa:aa:aa:03",
        dev: "flannel.1",
        dst: "192.168.60.3",
        flags: ["self"],
        state: "permanent",
      },
      { mac: "ff:ff:ff:ff:ff:ff", dev: "flannel.1", flags: ["self"], state: "permanent" },
    ],
    device: {
      ifname: "flannel.1",
      mtu: 1450,
      address: "aa:aa:aa:aa:aa:01",
      linkinfo: { info_data: { id: 1, port: 8472, local: "192.168.50.1", learning: false, link: "eth1" } },
    },
  }, { network: "10.244.0.0/16", ownSubnet: "10.244.1.1/24", vni: 1, extName: "eth1" });
  const d = diffState(expectedState(base).entries, actual);
  assertEquals(d.missing.map((x) => `${x.kind} ${x.key}`), ["neigh 10.244.3.0 dev flannel.1"]);
  assertEquals(d.extra.map((x) => `${x.kind} ${x.key}`), ["route 10.244.9.0/24"]);
  assertEquals(d.different.map((x) => `${x.actual.kind} ${x.actual.key} ${x.actual.value}`), [
    "route 10.244.3.0/24 via 192.168.50.3 dev eth1",
  ]);
  const lines = formatDiff(d);
  assert(
    lines[0]!.startsWith("missing:") && lines[1]!.startsWith("extra:") && lines[2]!.startsWith("different:"),
  );
  assert(!diffEmpty(d));
  assert(diffEmpty(diffState(actual, actual)));
  assertEquals(leaseKeyOf("10.244.7.1/24"), "10.244.7.0-24");
});

Deno.test("device attributes compare as words, and a changed MAC is a difference", () => {
  const e = [{
    kind: "device" as const,
    key: "flannel.1",
    value: "vni 1 port 8472 nolearning address aa:01",
  }];
  const same = [{
    kind: "device" as const,
    key: "flannel.1",
    value: "address aa:01 nolearning vni 1 port 8472 mtu 1450",
  }];
  const other = [{
    kind: "device" as const,
    key: "flannel.1",
    value: "vni 1 port 8472 nolearning address aa:02",
  }];
  assert(diffEmpty(diffState(e, same)));
  assertEquals(diffState(e, other).different.length, 1);
});

Deno.test("a vxlan device without a Port is expected on the kernel's 8472; routes outside the network are not the agent's", () => {
  const device = expectedState({ ...base, port: 0 }).entries.find((x) => x.kind === "device")!;
  assert(device.value.includes("port 8472 local 192.168.50.1 "), device.value);
  const seen = observedState({
    routes: [
      { dst: "10.244.2.0/24", gateway: "10.244.2.0", dev: "flannel.1", flags: ["onlink"] },
      { dst: "10.244.2.5", dev: "flannel.1" },
      { dst: "10.0.0.0/8", dev: "eth1" }, // wider than the network: contains it, is not inside it
      { dst: "10.245.0.0/24", dev: "eth1" },
      { dst: "fd00::/64", dev: "eth1" },
      { dst: "not-a-prefix", dev: "eth1" },
    ],
    neighs: [],
    fdbs: [],
  }, { network: "10.244.0.0/16", vni: 1, extName: "eth1" });
  assertEquals(seen.map((e) => `${e.key} ${e.value}`), [
    "10.244.2.0/24 via 10.244.2.0 dev flannel.1 onlink",
    "10.244.2.5/32 dev flannel.1",
  ]);
});
