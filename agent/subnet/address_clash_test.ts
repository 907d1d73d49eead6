import assert from "node:assert/strict";
import { parseCidr, parseIp } from "../ip.ts";
import { findAddressClashes } from "./address_clash.ts";
import type { Lease, LeaseAttrs } from "./lease.ts";

const ATTRS: LeaseAttrs = {
  publicIp: parseIp("10.0.2.15"),
  backendType: "vxlan",
  backendData: { VtepMAC: "aa" },
};
const OWN: Lease = { subnet: parseCidr("10.5.1.0/24"), attrs: ATTRS, etcdLeaseId: "1", revision: 1n };

Deno.test("findAddressClashes: another lease with our PublicIP clashes; other nodes' leases do not", () => {
  const clashes = findAddressClashes(
    [
      OWN,
      { ...OWN, subnet: parseCidr("10.5.2.0/24") },
      { ...OWN, subnet: parseCidr("10.5.3.0/24"), attrs: { ...ATTRS, publicIp: parseIp("10.0.2.16") } },
    ],
    OWN,
    ATTRS,
  );
  assert.deepEqual(clashes, ["lease 10.5.2.0-24 carries our PublicIP too"]);
});

Deno.test("findAddressClashes: our lease rewritten with data neither written nor about to be is a clash", () => {
  const foreign = { ...OWN, attrs: { ...ATTRS, backendData: { VtepMAC: "bb" } } };
  assert.deepEqual(findAddressClashes([foreign], OWN, ATTRS), [
    "our lease 10.5.1.0-24 was rewritten by another host with our PublicIP",
  ]);
  // What we are about to publish (a new VTEP MAC) is no clash, nor is what we wrote last.
  const next = { ...ATTRS, backendData: { VtepMAC: "cc" } };
  assert.deepEqual(findAddressClashes([{ ...OWN, attrs: next }], OWN, next), []);
  assert.deepEqual(findAddressClashes([OWN], OWN, next), []);
});
