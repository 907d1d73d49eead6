import assert from "node:assert/strict";
import { Attrs, IFLA_TXQLEN, linkAddRequest } from "../../netlink/mod.ts";
import { type VxlanDeviceSpec, vxlanLinkSpec } from "./device.ts";

const SPEC: VxlanDeviceSpec = {
  name: "flannel.1",
  vni: 1,
  mtu: 1450,
  local: "192.168.77.1",
  link: 2,
  port: 0,
  learning: false,
  gbp: false,
};

/** ifinfomsg is 16 bytes; the attributes follow. */
const IFINFOMSG_LEN = 16;

Deno.test("vxlanLinkSpec: sends IFLA_TXQLEN 0 like upstream's zero LinkAttrs, so the device has no qlen", () => {
  // Found by tests/integration/interop_vxlan_test.ts: upstream's flannel.1 shows no `qlen` in `ip -d link`,
  // ours showed qlen 1000 (the kernel's default when the attribute is not sent).
  const spec = vxlanLinkSpec(SPEC, "72:24:08:c1:71:25");
  assert.equal(spec.txQueueLen, 0);
  const attrs = new Attrs(linkAddRequest(spec).payload.subarray(IFINFOMSG_LEN));
  assert.equal(attrs.u32(IFLA_TXQLEN), 0);
});

Deno.test("vxlanLinkSpec: carries upstream's vxlan attributes, port only when configured, GBP only when on", () => {
  const spec = vxlanLinkSpec(SPEC, "72:24:08:c1:71:25");
  assert.equal(spec.kind, "vxlan");
  assert.equal(spec.mtu, 1450);
  assert.equal(spec.mac, "72:24:08:c1:71:25");
  assert.deepEqual(spec.kind === "vxlan" ? spec.vxlan : undefined, {
    vni: 1,
    link: 2,
    local: "192.168.77.1",
    ttl: 0,
    tos: 0,
    learning: false,
    proxy: false,
    l2miss: false,
    l3miss: false,
    udpZeroCsum6Tx: false,
    udpZeroCsum6Rx: false,
  });
  const custom = vxlanLinkSpec({ ...SPEC, port: 4789, gbp: true }, "72:24:08:c1:71:25");
  assert.equal(custom.kind === "vxlan" ? custom.vxlan.port : undefined, 4789);
  assert.equal(custom.kind === "vxlan" ? custom.vxlan.gbp : undefined, true);
});
