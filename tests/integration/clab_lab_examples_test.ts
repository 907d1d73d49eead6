/**
 * containerlab v0.79.0's own `lab-examples` (from the Go module cache, where `tools install` leaves the source it
 * builds) through `flannel-lab test --dry-run`, as containerlab users would try them: every file that
 * `containerlab validate` accepts is accepted as far as containerlab's own rules go. A file with a kind the
 * harness cannot run (network operating systems, VMs) is refused with every such kind named; a file of linux
 * and bridge nodes only resolves, with what only containerlab could honour (bind mounts) listed as notes. No
 * file is refused for a schema rule that containerlab itself does not enforce.
 */
import { ok as assert } from "node:assert/strict";
import { parse as parseYaml } from "yaml";
import { run } from "../../cli/process/mod.ts";
import { ensureContainerlab } from "../../harness/upstream/mod.ts";

const MOD = new URL("../../mod.ts", import.meta.url).pathname;

async function labExamples(): Promise<string> {
  const cache = (await run(["go", "env", "GOMODCACHE"])).stdout.trim();
  return `${cache}/github.com/srl-labs/containerlab@v0.79.0/lab-examples`;
}

async function files(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    const p = `${dir}/${e.name}`;
    if (e.isDirectory) out.push(...await files(p));
    else if (/\.clab\.ya?ml$/.test(e.name)) out.push(p);
  }
  return out.sort();
}

/** Every kind a file names (nodes, defaults, kinds, groups). */
function kindsOf(text: string): Set<string> {
  const doc = parseYaml(text) as { topology?: Record<string, unknown> };
  const t = doc.topology ?? {};
  const kinds = new Set<string>();
  const add = (o: unknown) => {
    const k = (o as { kind?: unknown } | null)?.kind;
    if (typeof k === "string") kinds.add(k);
  };
  add(t["defaults"]);
  for (const g of Object.values((t["groups"] ?? {}) as Record<string, unknown>)) add(g);
  for (const n of Object.values((t["nodes"] ?? {}) as Record<string, unknown>)) add(n);
  return kinds;
}

Deno.test({
  name:
    "integration: containerlab's lab-examples are accepted as containerlab accepts them, unsupported kinds named",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const clab = await ensureContainerlab();
    const all = await files(await labExamples());
    assert(all.length >= 40, `found ${all.length} lab examples`);
    let accepted = 0;
    let resolved = 0;
    for (const file of all) {
      const v = await run([clab.path, "validate", "-t", file], { check: false, timeoutMs: 60_000 });
      if (v.code !== 0) continue; // containerlab refuses it itself (cvx02 wants /lib/modules on the host)
      accepted++;
      const text = await Deno.readTextFile(file);
      const r = await run([Deno.execPath(), "run", "-A", "--no-check", MOD, "test", file, "--dry-run"], {
        check: false,
        timeoutMs: 60_000,
      });
      const out = r.stdout + r.stderr;
      const name = file.split("/lab-examples/")[1];
      assert(
        !/containerlab schema/.test(out),
        `${name} refused for a schema rule containerlab does not enforce:\n${out}`,
      );
      const unsupported = [...kindsOf(text)].filter((k) => k !== "linux" && k !== "bridge");
      if (unsupported.length) {
        assert(r.code !== 0, `${name} has kinds ${unsupported.join(", ")} but was not refused`);
        for (const k of unsupported) {
          assert(out.includes(`kind "${k}" is not supported`), `${name}: ${k} named:\n${out}`);
        }
      } else {
        assert(r.code === 0, `${name} has only linux/bridge nodes and must resolve:\n${out}`);
        resolved++;
      }
    }
    assert(accepted >= 40, `containerlab accepted ${accepted} examples`);
    assert(resolved >= 1, "at least one linux-only example resolves");
  },
});
