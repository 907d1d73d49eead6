import assert from "node:assert/strict";
import { refuses } from "./_testing.ts";
import type { BackendConfig } from "./backend.ts";
import { parseNetworkConfig } from "./network.ts";

Deno.test("parseNetworkConfig without a Backend key defaults to vxlan and says so (upstream: udp)", () => {
  const c = parseNetworkConfig(`{"Network":"10.5.0.0/16"}`);
  assert.equal(c.backendDefaulted, true);
  assert.deepEqual(
    c.backend,
    {
      type: "vxlan",
      vni: 1,
      port: 0,
      mtu: undefined,
      gbp: false,
      learning: false,
      directRouting: false,
    } satisfies BackendConfig,
  );
});

Deno.test("parseNetworkConfig reads backend options case-insensitively with upstream defaults", () => {
  const c = parseNetworkConfig(
    `{"Network":"10.5.0.0/16","backend":{"TYPE":"VXLAN","vni":2,"PORT":4789,"Mtu":1400,"gbp":true,"LEARNING":true,"directrouting":true,"MacPrefix":"0E-2A"}}`,
  );
  assert.deepEqual(c.backend, {
    type: "vxlan",
    vni: 2,
    port: 4789,
    mtu: 1400,
    gbp: true,
    learning: true,
    directRouting: true,
  });
  const nulls = parseNetworkConfig(
    `{"Network":"10.5.0.0/16","Backend":{"Type":"vxlan","VNI":null,"Port":null,"MTU":null,"GBP":null}}`,
  );
  assert.deepEqual(nulls.backend, {
    type: "vxlan",
    vni: 1,
    port: 0,
    mtu: undefined,
    gbp: false,
    learning: false,
    directRouting: false,
  });
  assert.deepEqual(
    parseNetworkConfig(`{"Network":"10.5.0.0/16","Backend":{"Type":"host-gw","Port":1}}`).backend,
    {
      type: "host-gw",
    },
  );
  assert.deepEqual(parseNetworkConfig(`{"Network":"10.5.0.0/16","Backend":{"Type":"udp"}}`).backend, {
    type: "udp",
    port: 8285,
  });
  assert.deepEqual(
    parseNetworkConfig(`{"Network":"10.5.0.0/16","Backend":{"Type":"UDP","port":9000}}`).backend,
    {
      type: "udp",
      port: 9000,
    },
  );
  assert.equal(
    parseNetworkConfig(`{"Network":"10.5.0.0/16","Backend":{"Type":"vxlan","VNI":0}}`).backend.type,
    "vxlan",
  );
  const max = parseNetworkConfig(
    `{"Network":"10.5.0.0/16","Backend":{"Type":"vxlan","VNI":16777215,"MTU":0}}`,
  );
  assert.deepEqual(max.backend.type === "vxlan" && [max.backend.vni, max.backend.mtu], [16777215, undefined]);
});

Deno.test("parseNetworkConfig refuses bad backends, listing the known types", () => {
  refuses(
    `{"Network":"10.5.0.0/16","Backend":{}}`,
    "Backend.Type",
    /"Backend\.Type" is missing: set it to one of "vxlan", "host-gw", "udp"/,
  );
  refuses(`{"Network":"10.5.0.0/16","Backend":null}`, "Backend.Type", /missing/);
  refuses(`{"Network":"10.5.0.0/16","Backend":{"Type":""}}`, "Backend.Type", /missing/);
  refuses(
    `{"Network":"10.5.0.0/16","Backend":"vxlan"}`,
    "Backend",
    /must be an object such as \{"Type": "vxlan"\}/,
  );
  refuses(`{"Network":"10.5.0.0/16","Backend":{"Type":5}}`, "Backend.Type", /must be a string/);
  refuses(
    `{"Network":"10.5.0.0/16","Backend":{"Type":"vxlna"}}`,
    "Backend.Type",
    /"Backend\.Type" is "vxlna": unknown backend type; known types: "vxlan", "host-gw", "udp"/,
  );
  refuses(
    `{"Network":"10.5.0.0/16","Backend":{"Type":"wireguard"}}`,
    "Backend.Type",
    /not implemented by flannel-lab/,
  );
});

Deno.test("parseNetworkConfig refuses nonsense backend options", () => {
  const vx = (opts: string) => `{"Network":"10.5.0.0/16","Backend":{"Type":"vxlan",${opts}}}`;
  const e = refuses(
    vx(`"VNI":16777216`),
    "Backend.VNI",
    /is 16777216: must be a VXLAN network identifier, 0 to 16777215/,
  );
  assert.equal(e.value, 16777216);
  refuses(vx(`"VNI":-1`), "Backend.VNI", /0 to 16777215/);
  refuses(vx(`"VNI":"1"`), "Backend.VNI", /must be a number, not a string/);
  refuses(vx(`"VNI":1.5`), "Backend.VNI", /must be an integer/);
  refuses(vx(`"Port":65536`), "Backend.Port", /must be a UDP port/);
  refuses(vx(`"Port":-1`), "Backend.Port", /must be a UDP port/);
  refuses(vx(`"MTU":100`), "Backend.MTU", /118 to 65535/);
  refuses(vx(`"MTU":-1500`), "Backend.MTU", /118 to 65535/);
  refuses(vx(`"MTU":70000`), "Backend.MTU", /118 to 65535/);
  refuses(vx(`"GBP":"yes"`), "Backend.GBP", /must be true or false/);
  refuses(vx(`"DirectRouting":1`), "Backend.DirectRouting", /must be true or false/);
  refuses(
    `{"Network":"10.5.0.0/16","Backend":{"Type":"udp","Port":0}}`,
    "Backend.Port",
    /1 to 65535 \(default 8285\)/,
  );
  refuses(`{"Network":"10.5.0.0/16","Backend":{"Type":"udp","Port":70000}}`, "Backend.Port", /UDP port/);
});
