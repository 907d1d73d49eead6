import assert from "node:assert/strict";
import { UserError } from "../cli/errors.ts";
import { type HostAddr, type HostLink, type HostView, selectInterface, type SelectOptions } from "./iface.ts";
import { formatIp, parseIp } from "./ip.ts";

function addr(ip: string, prefixLen: number, extra: Partial<HostAddr> = {}): HostAddr {
  return {
    ip: parseIp(ip),
    prefixLen,
    scope: 0,
    permanent: true,
    deprecated: false,
    temporary: false,
    ...extra,
  };
}

const lo: HostLink = { index: 1, name: "lo", mtu: 65536, addrs: [addr("127.0.0.1", 8, { scope: 254 })] };
const eth0: HostLink = { index: 2, name: "eth0", mtu: 1500, addrs: [addr("172.20.20.2", 24)] };
const eth1: HostLink = {
  index: 3,
  name: "eth1",
  mtu: 9000,
  addrs: [
    addr("169.254.3.3", 16, { scope: 253 }),
    addr("192.168.64.5", 24, { permanent: false }),
    addr("192.168.64.6", 24),
  ],
};
const view: HostView = { links: [lo, eth0, eth1], defaultRoute4: 2 };
const none: SelectOptions = {
  iface: [],
  ifaceRegex: [],
  ifaceCanReach: "",
  publicIp: "",
  publicIpv6: "",
  ipv4: true,
  ipv6: false,
};

Deno.test("selectInterface: without flags the default route's interface and its first address", () => {
  const ext = selectInterface(view, none);
  assert.equal(ext.link.name, "eth0");
  assert.equal(formatIp(ext.publicIp), "172.20.20.2");
  assert.equal(ext.mtu, 1500);
});

Deno.test("selectInterface: --iface by name prefers global, permanent addresses", () => {
  const ext = selectInterface(view, { ...none, iface: ["eth1"] });
  assert.equal(ext.link.name, "eth1");
  assert.equal(formatIp(ext.ifaceAddr!), "192.168.64.6");
  assert.equal(ext.mtu, 9000);
});

Deno.test("selectInterface: --iface by address uses that address", () => {
  const ext = selectInterface(view, { ...none, iface: ["192.168.64.5"] });
  assert.equal(ext.link.name, "eth1");
  assert.equal(formatIp(ext.publicIp), "192.168.64.5");
});

Deno.test("selectInterface: the first --iface that matches wins, in order", () => {
  assert.equal(selectInterface(view, { ...none, iface: ["eth9", "eth1", "eth0"] }).link.name, "eth1");
});

Deno.test("selectInterface: --iface-regex matches addresses before names", () => {
  assert.equal(selectInterface(view, { ...none, ifaceRegex: ["^192\\.168\\."] }).link.name, "eth1");
  assert.equal(selectInterface(view, { ...none, ifaceRegex: ["th0$"] }).link.name, "eth0");
});

Deno.test("selectInterface: --iface-can-reach uses the kernel's route and source", () => {
  const ext = selectInterface({ ...view, canReach: { index: 3, src: parseIp("192.168.64.5") } }, {
    ...none,
    ifaceCanReach: "192.168.64.1",
  });
  assert.equal(ext.link.name, "eth1");
  assert.equal(formatIp(ext.publicIp), "192.168.64.5");
});

Deno.test("selectInterface: --public-ip picks the interface that owns it, else stays the published address", () => {
  assert.equal(selectInterface(view, { ...none, publicIp: "192.168.64.6" }).link.name, "eth1");
  const nat = selectInterface(view, { ...none, iface: ["eth0"], publicIp: "203.0.113.9" });
  assert.equal(formatIp(nat.publicIp), "203.0.113.9");
  assert.equal(formatIp(nat.ifaceAddr!), "172.20.20.2");
});

Deno.test("selectInterface: nothing matching the given flags is an error that lists the interfaces", () => {
  assert.throws(() => selectInterface(view, { ...none, iface: ["eth7"] }), (e: unknown) => {
    assert.ok(e instanceof UserError);
    assert.match(e.message, /--iface=eth7/);
    assert.match(e.hint!, /lo, eth0, eth1/);
    return true;
  });
});

Deno.test("selectInterface: no default route and no flags says to pass --iface", () => {
  assert.throws(() => selectInterface({ links: [lo, eth1] }, none), /default IPv4 route/);
});

Deno.test("selectInterface: an interface without IPv4 is refused when IPv4 is on", () => {
  const bare: HostLink = { index: 4, name: "eth2", mtu: 1500, addrs: [] };
  assert.throws(() => selectInterface({ links: [bare] }, { ...none, iface: ["eth2"] }), /no usable IPv4/);
});

Deno.test("selectInterface: an invalid regex or public IP is a user error", () => {
  assert.throws(() => selectInterface(view, { ...none, ifaceRegex: ["("] }), UserError);
  assert.throws(() => selectInterface(view, { ...none, publicIp: "10.0.0" }), /--public-ip/);
});
