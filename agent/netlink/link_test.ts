import assert from "node:assert/strict";
import { decodeLink, linkAddRequest, linkDeleteRequest, linkSetRequest } from "./link.ts";
import { IFF_UP, NLM_F_CREATE, NLM_F_EXCL, RTM_DELLINK, RTM_NEWLINK } from "./consts.ts";
import type { NetlinkMessage } from "./codec.ts";
import { decodeIfInfoMsg } from "./family_headers.ts";
import { fixture } from "./testdata/fixtures.ts";

const asMessage = (payload: Uint8Array, type = RTM_NEWLINK): NetlinkMessage => ({
  header: { len: 16 + payload.length, type, flags: 0, seq: 0, pid: 0 },
  payload,
});

Deno.test("decodeLink reads flannel.1's vxlan attributes from a captured dump", () => {
  const links = fixture("link_dump.hex").filter((m) => m.header.type === RTM_NEWLINK).map(decodeLink);
  assert.deepEqual(links.map((l) => l.name), ["lo", "eth1p", "eth1", "flannel.1", "br0"]);
  const eth1 = links.find((l) => l.name === "eth1")!;
  const vx = links.find((l) => l.name === "flannel.1")!;
  assert.equal(vx.kind, "vxlan");
  assert.equal(vx.up, true);
  assert.equal(vx.mtu, 1450);
  assert.match(vx.mac!, /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
  assert.equal(vx.vxlan?.vni, 1);
  assert.equal(vx.vxlan?.local, "10.199.0.1");
  assert.equal(vx.vxlan?.link, eth1.index);
  assert.equal(vx.vxlan?.port, 8472);
  assert.equal(vx.vxlan?.learning, false);
  assert.equal(vx.vxlan?.gbp, true);
  assert.equal(vx.vxlan?.ttl, 0);
  assert.equal(eth1.kind, "veth");
  assert.equal(links.find((l) => l.name === "br0")?.bridge?.stp, false);
  assert.equal(links.find((l) => l.name === "lo")?.kind, undefined);
});

Deno.test("linkAddRequest for vxlan decodes back to the same attributes", () => {
  const req = linkAddRequest({
    name: "flannel.1",
    kind: "vxlan",
    mtu: 1450,
    mac: "72:24:08:C1:71:25",
    up: true,
    vxlan: {
      vni: 4096,
      local: "10.199.0.1",
      link: 3,
      port: 4789,
      learning: true,
      gbp: true,
      udpCsum: false,
      ttl: 64,
    },
  });
  assert.equal(req.type, RTM_NEWLINK);
  assert.equal(req.flags, NLM_F_CREATE | NLM_F_EXCL);
  const l = decodeLink(asMessage(req.payload));
  assert.equal(l.name, "flannel.1");
  assert.equal(l.mtu, 1450);
  assert.equal(l.mac, "72:24:08:c1:71:25");
  assert.equal(l.up, true);
  assert.deepEqual(
    [
      l.vxlan?.vni,
      l.vxlan?.local,
      l.vxlan?.link,
      l.vxlan?.port,
      l.vxlan?.learning,
      l.vxlan?.gbp,
      l.vxlan?.udpCsum,
      l.vxlan?.ttl,
    ],
    [4096, "10.199.0.1", 3, 4789, true, true, false, 64],
  );
  assert.match(req.summary, /flannel\.1 type vxlan id 4096 local 10\.199\.0\.1 dev 3 dstport 4789/);
});

Deno.test("linkAddRequest writes the vxlan port big-endian", () => {
  const req = linkAddRequest({ name: "v", kind: "vxlan", vxlan: { vni: 1, port: 8472 } });
  const hex = Array.from(req.payload, (b) => b.toString(16).padStart(2, "0")).join("");
  // nla_len 6, type IFLA_VXLAN_PORT (15), value 0x2118 in network order.
  assert.ok(hex.includes("06000f002118"), hex);
});

Deno.test("linkAddRequest refuses an out-of-range VNI and an unresolved veth namespace name", () => {
  assert.throws(() => linkAddRequest({ name: "v", kind: "vxlan", vxlan: { vni: 1 << 24 } }), RangeError);
  assert.throws(
    () => linkAddRequest({ name: "a", kind: "veth", peer: { name: "b", netns: "other" } }),
    TypeError,
  );
});

Deno.test("linkSetRequest changes only IFF_UP and the given attributes", () => {
  const up = decodeIfInfoMsg(linkSetRequest(5, { up: true }).payload);
  assert.deepEqual([up.index, up.flags, up.change], [5, IFF_UP, IFF_UP]);
  const down = decodeIfInfoMsg(linkSetRequest(5, { up: false }).payload);
  assert.deepEqual([down.flags, down.change], [0, IFF_UP]);
  const mtu = linkSetRequest("eth0", { mtu: 1400, mac: "02:00:00:00:00:01" });
  const l = decodeLink(asMessage(mtu.payload));
  assert.deepEqual([l.name, l.mtu, l.mac, l.flags], ["eth0", 1400, "02:00:00:00:00:01", 0]);
  assert.throws(() => linkSetRequest("eth0", { name: "x" }), TypeError);
});

Deno.test("linkDeleteRequest names the link by index or name", () => {
  assert.equal(linkDeleteRequest(7).type, RTM_DELLINK);
  assert.equal(decodeLink(asMessage(linkDeleteRequest(7).payload)).index, 7);
  assert.equal(decodeLink(asMessage(linkDeleteRequest("br0").payload)).name, "br0");
});
