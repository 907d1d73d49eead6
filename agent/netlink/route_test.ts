import assert from "node:assert/strict";
import { decodeRoute, routeDumpRequest, routeGetRequest, routeRequest } from "./route.ts";
import {
  NLM_F_CREATE,
  NLM_F_EXCL,
  NLM_F_REPLACE,
  RT_SCOPE_LINK,
  RT_SCOPE_NOWHERE,
  RT_SCOPE_UNIVERSE,
  RTM_DELROUTE,
  RTM_NEWROUTE,
  RTPROT_BOOT,
} from "./consts.ts";
import type { NetlinkMessage } from "./codec.ts";
import { decodeRtMsg } from "./family_headers.ts";
import { fixture } from "./testdata/fixtures.ts";

const asMessage = (payload: Uint8Array): NetlinkMessage => ({
  header: { len: 0, type: RTM_NEWROUTE, flags: 0, seq: 0, pid: 0 },
  payload,
});

Deno.test("decodeRoute reads onlink, metric, mtu and IPv6 routes from a captured dump", () => {
  const routes = fixture("route_dump.hex").filter((m) => m.header.type === RTM_NEWROUTE).map(decodeRoute);
  const onlink = routes.find((r) => r.dst === "10.42.7.0/24")!;
  assert.deepEqual([onlink.gateway, onlink.onlink, onlink.scope, onlink.protocol, onlink.table], [
    "10.42.7.0",
    true,
    0,
    RTPROT_BOOT,
    254,
  ]);
  const metric = routes.find((r) => r.dst === "10.44.0.0/16")!;
  assert.deepEqual([metric.gateway, metric.priority, metric.mtu, metric.onlink], [
    "10.199.0.2",
    100,
    1400,
    false,
  ]);
  const v6 = routes.find((r) => r.dst === "fd00:42::/64")!;
  assert.deepEqual([v6.family, v6.gateway], [10, "fd00:199::2"]);
  assert.ok(routes.some((r) => r.table === 255), "local table present in an all-tables dump");
});

Deno.test("routeRequest uses iproute2's defaults for add and wildcards for delete", () => {
  const add = routeRequest("add", { dst: "10.42.7.0/24", gateway: "10.42.7.0", oif: 5, onlink: true });
  assert.equal(add.flags, NLM_F_CREATE | NLM_F_EXCL);
  const h = decodeRtMsg(add.payload);
  assert.deepEqual([h.dstLen, h.table, h.protocol, h.scope, h.type, h.flags], [
    24,
    254,
    RTPROT_BOOT,
    RT_SCOPE_UNIVERSE,
    1,
    4,
  ]);
  const r = decodeRoute(asMessage(add.payload));
  assert.deepEqual([r.dst, r.gateway, r.oif, r.onlink, r.table], ["10.42.7.0/24", "10.42.7.0", 5, true, 254]);
  assert.equal(add.summary, "10.42.7.0/24 via 10.42.7.0 dev 5 onlink");
  assert.equal(decodeRtMsg(routeRequest("add", { dst: "10.1.0.0/16", oif: 2 }).payload).scope, RT_SCOPE_LINK);
  assert.equal(routeRequest("replace", { dst: "10.1.0.0/16", oif: 2 }).flags, NLM_F_CREATE | NLM_F_REPLACE);
  const del = routeRequest("delete", { dst: "10.1.0.0/16" });
  assert.equal(del.type, RTM_DELROUTE);
  const dh = decodeRtMsg(del.payload);
  assert.deepEqual([dh.scope, dh.protocol, dh.type], [RT_SCOPE_NOWHERE, 0, 0]);
});

Deno.test("routeRequest carries table, metric, mtu and IPv6", () => {
  const req = routeRequest("add", {
    dst: "fd00:1::/64",
    gateway: "fd00::1",
    table: 1000,
    priority: 7,
    mtu: 1280,
  });
  const h = decodeRtMsg(req.payload);
  assert.equal(h.table, 0, "tables above 255 go only in RTA_TABLE");
  const r = decodeRoute(asMessage(req.payload));
  assert.deepEqual([r.family, r.dst, r.gateway, r.table, r.priority, r.mtu], [
    10,
    "fd00:1::/64",
    "fd00::1",
    1000,
    7,
    1280,
  ]);
  assert.throws(() => routeRequest("add", { dst: "10.0.0.0/8", gateway: "fd00::1" }), TypeError);
});

Deno.test("default route has no RTA_DST and decodes as 0.0.0.0/0", () => {
  const r = decodeRoute(asMessage(routeRequest("add", { dst: "0.0.0.0/0", gateway: "10.0.0.1" }).payload));
  assert.equal(r.dst, "0.0.0.0/0");
});

Deno.test("routeGetRequest and routeDumpRequest build strict-check-clean headers", () => {
  const g = decodeRtMsg(routeGetRequest("10.199.0.2").payload);
  assert.deepEqual([g.family, g.dstLen, g.table, g.flags], [2, 32, 0, 0]);
  const d = decodeRtMsg(routeDumpRequest({ family: 10 }).payload);
  assert.deepEqual([d.family, d.dstLen, d.scope, d.table], [10, 0, 0, 254]);
});
