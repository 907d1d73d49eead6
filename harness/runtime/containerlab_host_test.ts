import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { removeHostsBlock } from "./containerlab_host.ts";

Deno.test("containerlab: a lab's /etc/hosts block is removed and nothing else", () => {
  const hosts = [
    "127.0.0.1 localhost",
    "###### CLAB-a-START ######",
    "172.20.20.2 clab-a-n1",
    "###### CLAB-a-END ######",
    "###### CLAB-ab-START ######",
    "172.20.20.3 clab-ab-n1",
    "###### CLAB-ab-END ######",
    "",
  ].join("\n");
  assertEquals(
    removeHostsBlock(hosts, "a"),
    "127.0.0.1 localhost\n###### CLAB-ab-START ######\n172.20.20.3 clab-ab-n1\n###### CLAB-ab-END ######\n",
  );
  assertEquals(removeHostsBlock(hosts, "zz"), hosts);
});
