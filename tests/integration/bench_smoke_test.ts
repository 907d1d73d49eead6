/**
 * CI's smoke run of `deno task bench`: every registered benchmark runs end to end at a size that takes seconds
 * (`BENCH_SMOKE=1`), writing into a temporary folder, so that none can rot between the runs that produce the
 * committed figures. The figures themselves are not judged (timing never gates CI), only that each benchmark
 * finished, wrote its JSON and Markdown, and measured every cell of its table.
 */
import assert from "node:assert/strict";
import { BENCHMARKS } from "../../bench/mod.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

Deno.test({
  name: "bench: every benchmark runs end to end in its smoke size and writes its results",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "flannel-lab-bench-smoke-" });
    try {
      const out = await new Deno.Command(Deno.execPath(), {
        args: ["run", "--allow-all", "--unstable-net", `${ROOT}bench/mod.ts`],
        env: { BENCH_SMOKE: "1", BENCH_RESULTS_DIR: dir },
        cwd: ROOT,
        stdout: "piped",
        stderr: "piped",
      }).output();
      const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
      assert.equal(out.code, 0, text.slice(-4000));
      for (const b of BENCHMARKS) {
        const md = await Deno.readTextFile(`${dir}/${b.name}.md`);
        const json = JSON.parse(await Deno.readTextFile(`${dir}/${b.name}.json`));
        assert.equal(json.name, b.name);
        const rows = md.split("\n").filter((l) => l.startsWith("| ") && !/^\|[-| ]+\|$/.test(l)).slice(1);
        assert(rows.length > 0, `${b.name}: no rows in\n${md}`);
        assert(!/\bNaN\b|undefined/.test(rows.join("\n")), `${b.name}: a cell measured nothing\n${md}`);
      }
      const summary = JSON.parse(await Deno.readTextFile(`${dir}/summary.json`)) as { ratio: number }[];
      assert(summary.length >= 10, `the summary has only ${summary.length} headline figures`);
      assert(summary.every((h) => Number.isFinite(h.ratio) && h.ratio >= 0), JSON.stringify(summary));
      assert.match(await Deno.readTextFile(`${dir}/summary.svg`), /^<svg [^>]*>[\s\S]*<\/svg>\n$/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
