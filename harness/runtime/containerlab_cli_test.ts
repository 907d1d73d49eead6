import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { parseLabContainers } from "./containerlab_cli.ts";

Deno.test("containerlab: lab containers are read from docker ps labels; unlabelled ones are left out", () => {
  const line = (o: Record<string, string>) => JSON.stringify(o);
  const out = [
    line({
      ID: "1a",
      Names: "clab-a-n1",
      Labels:
        "clab-node-lab-dir=/l/containerlab/clab-a/n1,clab-node-name=n1,clab-topo-file=/l/containerlab/a.clab.yml,containerlab=a,flannel-lab.role=node",
    }),
    line({ ID: "2b", Names: "other", Labels: "com.example=x" }),
    line({ ID: "3c", Names: "clab-b-r1", Labels: "containerlab=b" }),
    "",
  ].join("\n");
  assertEquals(parseLabContainers(out), [
    {
      id: "1a",
      name: "clab-a-n1",
      lab: "a",
      node: "n1",
      labDir: "/l/containerlab/clab-a/n1",
      topoFile: "/l/containerlab/a.clab.yml",
      role: "node",
    },
    { id: "3c", name: "clab-b-r1", lab: "b", node: "clab-b-r1" },
  ]);
  assertEquals(parseLabContainers(""), []);
});
