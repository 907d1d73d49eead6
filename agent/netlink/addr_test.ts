import assert from "node:assert/strict";
import { addrAddRequest, addrDeleteRequest, decodeAddr } from "./addr.ts";
import { IFA_F_NODAD, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REPLACE, RTM_DELADDR, RTM_NEWADDR } from "./consts.ts";
import { fixture } from "./testdata/fixtures.ts";

Deno.test("decodeAddr reads IPv4 and IPv6 addresses from a captured dump", () => {
  const addrs = fixture("addr_dump.hex").filter((m) => m.header.type === RTM_NEWADDR).map(decodeAddr);
  const cidrs = addrs.map((a) => a.cidr);
  assert.ok(cidrs.includes("10.199.0.1/24"), cidrs.join());
  assert.ok(cidrs.includes("fd00:199::1/64"), cidrs.join());
  const v4 = addrs.find((a) => a.cidr === "10.199.0.1/24")!;
  assert.equal(v4.family, 2);
  assert.equal(v4.scope, 0);
  assert.equal(v4.label, "eth1");
  assert.equal(v4.broadcast, undefined);
  const v6 = addrs.find((a) => a.cidr === "fd00:199::1/64")!;
  assert.ok(v6.flags & IFA_F_NODAD);
});

Deno.test("addrAddRequest round-trips and chooses exclusive or replace", () => {
  const req = addrAddRequest({ index: 4, cidr: "10.42.10.0/32", label: "flannel.1" });
  assert.equal(req.type, RTM_NEWADDR);
  assert.equal(req.flags, NLM_F_CREATE | NLM_F_EXCL);
  const a = decodeAddr({
    header: { len: 0, type: RTM_NEWADDR, flags: 0, seq: 0, pid: 0 },
    payload: req.payload,
  });
  assert.deepEqual([a.index, a.cidr, a.peer, a.label, a.scope], [
    4,
    "10.42.10.0/32",
    undefined,
    "flannel.1",
    0,
  ]);
  assert.equal(
    addrAddRequest({ index: 4, cidr: "fd00::1/64" }, { replace: true }).flags,
    NLM_F_CREATE | NLM_F_REPLACE,
  );
  assert.equal(addrDeleteRequest({ index: 4, cidr: "fd00::1/64" }).type, RTM_DELADDR);
});

Deno.test("addrAddRequest sends IFA_FLAGS for nodad", () => {
  const req = addrAddRequest({ index: 2, cidr: "fd00::1/64", noDad: true, noPrefixRoute: true });
  const a = decodeAddr({
    header: { len: 0, type: RTM_NEWADDR, flags: 0, seq: 0, pid: 0 },
    payload: req.payload,
  });
  assert.equal(a.flags, 0x202);
});
