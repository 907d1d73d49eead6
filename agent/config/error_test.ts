import assert from "node:assert/strict";
import { refuses, VXLAN } from "./_testing.ts";

Deno.test("ConfigError is a SyntaxError carrying field and value", () => {
  const e = refuses(`{"Network":"10.5.0.0/16","SubnetLen":31,${VXLAN}}`, "SubnetLen", /31/);
  assert.ok(e instanceof SyntaxError);
  assert.equal(e.name, "ConfigError");
});
