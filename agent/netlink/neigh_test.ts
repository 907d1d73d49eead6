import assert from "node:assert/strict";
import { decodeNeigh, fdbRequest, neighDumpRequest, neighRequest } from "./neigh.ts";
import {
  AF_BRIDGE,
  NLM_F_APPEND,
  NLM_F_CREATE,
  NLM_F_REPLACE,
  NTF_SELF,
  NUD_PERMANENT,
  RTM_DELNEIGH,
  RTM_NEWNEIGH,
} from "./consts.ts";
import type { NetlinkMessage } from "./codec.ts";
import { fixture } from "./testdata/fixtures.ts";

const asMessage = (payload: Uint8Array): NetlinkMessage => ({
  header: { len: 0, type: RTM_NEWNEIGH, flags: 0, seq: 0, pid: 0 },
  payload,
});

Deno.test("decodeNeigh reads permanent ARP and NDP entries from a captured dump", () => {
  const ns = fixture("neigh_dump.hex").filter((m) => m.header.type === RTM_NEWNEIGH).map(decodeNeigh);
  const arp = ns.find((n) => n.dst === "10.42.7.0")!;
  assert.deepEqual([arp.family, arp.lladdr, arp.state], [2, "72:24:08:c1:71:25", NUD_PERMANENT]);
  const ndp = ns.find((n) => n.dst === "fd00:199::9")!;
  assert.deepEqual([ndp.family, ndp.lladdr, ndp.state], [10, "02:00:00:00:00:09", NUD_PERMANENT]);
});

Deno.test("decodeNeigh reads a vxlan FDB entry from a captured dump", () => {
  const fdb = fixture("fdb_dump.hex").filter((m) => m.header.type === RTM_NEWNEIGH).map(decodeNeigh);
  const e = fdb.find((n) => n.lladdr === "72:24:08:c1:71:25" && n.dst !== undefined)!;
  // vxlan reports its static entries as NUD_PERMANENT | NUD_NOARP.
  assert.deepEqual([e.family, e.dst, e.state & NUD_PERMANENT, e.flags & NTF_SELF], [
    AF_BRIDGE,
    "10.199.0.2",
    NUD_PERMANENT,
    NTF_SELF,
  ]);
});

Deno.test("neighRequest builds ARP/NDP entries that decode back", () => {
  const req = neighRequest("replace", { index: 5, dst: "10.42.7.0", lladdr: "72:24:08:c1:71:25" });
  assert.equal(req.flags, NLM_F_CREATE | NLM_F_REPLACE);
  const n = decodeNeigh(asMessage(req.payload));
  assert.deepEqual([n.family, n.index, n.dst, n.lladdr, n.state, n.flags], [
    2,
    5,
    "10.42.7.0",
    "72:24:08:c1:71:25",
    NUD_PERMANENT,
    0,
  ]);
  const v6 = decodeNeigh(
    asMessage(neighRequest("add", { index: 5, dst: "fd00::9", lladdr: "02:00:00:00:00:09" }).payload),
  );
  assert.equal(v6.family, 10);
  assert.equal(neighRequest("delete", { index: 5, dst: "10.42.7.0" }).type, RTM_DELNEIGH);
});

Deno.test("fdbRequest builds AF_BRIDGE NTF_SELF entries with NDA_DST", () => {
  const req = fdbRequest("append", {
    index: 5,
    lladdr: "00:00:00:00:00:00",
    dst: "10.199.0.3",
    vni: 7,
    port: 4789,
  });
  assert.equal(req.flags, NLM_F_CREATE | NLM_F_APPEND);
  const n = decodeNeigh(asMessage(req.payload));
  assert.deepEqual([n.family, n.flags, n.state, n.dst, n.vni, n.port], [
    AF_BRIDGE,
    NTF_SELF,
    NUD_PERMANENT,
    "10.199.0.3",
    7,
    4789,
  ]);
  assert.equal(neighDumpRequest(AF_BRIDGE).payload[0], AF_BRIDGE);
});
