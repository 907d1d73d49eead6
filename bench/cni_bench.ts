/**
 * Benchmark B9: CNI ADD and DEL latency of the `flannel` plugin for N pods (default 50), next to the floor — the
 * Debian `bridge` plugin invoked directly with the same delegate configuration — and, when its binary is given,
 * upstream's flannel plugin (flannel-io/cni-plugin, Go). Each call is timed from spawn to exit, including the
 * `ip netns exec` into the node namespace that every variant pays alike.
 *
 * Root; everything happens in throwaway namespaces and a temp directory.
 *
 *     deno run -A bench/cni_bench.ts [--pods 50] [--upstream /path/to/flannel-upstream]
 *
 * writes bench/results/cni.json.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { buildDelegateConfig, renderDelegateConfig } from "../agent/cni/delegate_config.ts";
import { installPlugin } from "../agent/cni/install.ts";
import { parseFlannelNetConf } from "../agent/cni/netconf.ts";
import { parseSubnetEnv } from "../agent/cni/subnet_env.ts";
import { type Benchmark, type BenchReport, type Headline, scaled } from "./report.ts";
import { Netns } from "../harness/netns.ts";
import { run } from "../cli/process/mod.ts";
import { tempDir, uniqueName } from "../tests/helpers/tmpdir.ts";

/** Latency summary of one kind of call, in milliseconds. */
export interface Latency {
  readonly p50: number;
  readonly p99: number;
  readonly mean: number;
  readonly min: number;
  readonly max: number;
}

/** One plugin's figures. */
export interface VariantResult {
  readonly add: Latency;
  readonly del: Latency;
}

/** What {@linkcode cniBench} returns (and writes to bench/results/cni.json when run alone). */
export interface CniBenchResult {
  readonly name: "cni";
  readonly pods: number;
  readonly unit: "ms";
  readonly variants: Readonly<Record<string, VariantResult>>;
  /** ours ÷ baseline, for p50 and p99 of ADD and DEL. */
  readonly ratios: Readonly<Record<string, Readonly<Record<string, number>>>>;
  readonly notes: readonly string[];
}

/** Options of {@linkcode cniBench}. */
export interface CniBenchOptions {
  /** Pods added then deleted per variant (default 50). */
  readonly pods?: number;
  /** Upstream's flannel CNI plugin binary, for the ours ÷ upstream ratio. */
  readonly upstream?: string | undefined;
  /** Progress lines (default: none). */
  readonly log?: (line: string) => void;
}

const SUBNET_ENV =
  "FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.1.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n";

function percentile(sorted: readonly number[], p: number): number {
  // Nearest rank: with 50 samples p99 is the largest.
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

function summarize(samples: readonly number[]): Latency {
  const s = [...samples].sort((a, b) => a - b);
  const round = (n: number) => Math.round(n * 100) / 100;
  return {
    p50: round(percentile(s, 50)),
    p99: round(percentile(s, 99)),
    mean: round(s.reduce((a, b) => a + b, 0) / s.length),
    min: round(s[0]!),
    max: round(s.at(-1)!),
  };
}

/**
 * Runs the benchmark.
 *
 * @param options pods, upstream binary, progress output
 * @returns the figures
 * @example Registering it in a bench runner
 * ```ts ignore
 * import { cniBench } from "./cni_bench.ts";
 * const result = await cniBench({ pods: 50 });
 * console.log(result.ratios);
 * ```
 */
export async function cniBench(options: CniBenchOptions = {}): Promise<CniBenchResult> {
  const pods = options.pods ?? 50;
  const log = options.log ?? (() => {});
  await using dir = await tempDir("flannel-cni-bench-");
  const bin = `${dir.path}/bin`;
  await installPlugin({ dir: bin });
  for (const p of ["bridge", "host-local"]) await Deno.symlink(`/usr/lib/cni/${p}`, `${bin}/${p}`);
  const subnetFile = `${dir.path}/subnet.env`;
  await Deno.writeTextFile(subnetFile, SUBNET_ENV);

  const owned: Netns[] = [];
  try {
    const podNs: Netns[] = [];
    for (let i = 0; i < pods; i++) {
      const ns = await Netns.create(uniqueName("fltb"));
      owned.push(ns);
      podNs.push(ns);
    }

    /** Times ADD for every pod, then DEL for every pod, with `program` run inside a fresh node namespace. */
    const measure = async (name: string, program: string, stdinFor: (i: number) => string) => {
      const node = await Netns.create(uniqueName("fltn"));
      owned.push(node);
      const times: Record<"ADD" | "DEL", number[]> = { ADD: [], DEL: [] };
      for (const command of ["ADD", "DEL"] as const) {
        for (let i = 0; i < pods; i++) {
          const started = performance.now();
          const res = await run([
            "ip",
            "netns",
            "exec",
            node.name,
            "env",
            `CNI_COMMAND=${command}`,
            `CNI_CONTAINERID=bench${i}`,
            `CNI_NETNS=/run/netns/${podNs[i]!.name}`,
            "CNI_IFNAME=eth0",
            `CNI_PATH=${bin}`,
            program,
          ], { stdin: stdinFor(i), check: false, timeoutMs: 30_000 });
          times[command].push(performance.now() - started);
          if (res.code !== 0) {
            throw new Error(`${name} ${command} pod ${i} failed: ${res.stdout}${res.stderr}`);
          }
        }
      }
      const result = { add: summarize(times.ADD), del: summarize(times.DEL) };
      log(
        `${name}: ADD p50 ${result.add.p50} ms p99 ${result.add.p99} ms; DEL p50 ${result.del.p50} ms p99 ${result.del.p99} ms`,
      );
      return result;
    };

    const netconf = (variant: string) => ({
      cniVersion: "1.0.0",
      name: "cbr0",
      type: "flannel",
      subnetFile,
      dataDir: `${dir.path}/flannel-${variant}`,
      ipam: { dataDir: `${dir.path}/ipam-${variant}` },
      delegate: { hairpinMode: true, isDefaultGateway: true },
    });
    const delegateText = (variant: string) =>
      renderDelegateConfig(
        buildDelegateConfig(parseFlannelNetConf(netconf(variant)), parseSubnetEnv(SUBNET_ENV, subnetFile)),
      );

    const variants: Record<string, VariantResult> = {};
    // Warm-up: the first `deno run` of the entry fills the code cache.
    await measureWarmup(bin, JSON.stringify(netconf("warm")));
    variants["flannel-lab"] = await measure(
      "flannel-lab",
      `${bin}/flannel`,
      () => JSON.stringify(netconf("ours")),
    );
    const bridgeConf = delegateText("bridge");
    variants["bridge (direct)"] = await measure("bridge (direct)", `${bin}/bridge`, () => bridgeConf);
    if (options.upstream) {
      const up = JSON.stringify(netconf("upstream"));
      variants["upstream flannel"] = await measure("upstream flannel", options.upstream, () => up);
    }

    const ratio = (a: number, b: number) => Math.round((a / b) * 100) / 100;
    const ratiosAgainst = (base: VariantResult) => {
      const ours = variants["flannel-lab"]!;
      return {
        add_p50: ratio(ours.add.p50, base.add.p50),
        add_p99: ratio(ours.add.p99, base.add.p99),
        del_p50: ratio(ours.del.p50, base.del.p50),
        del_p99: ratio(ours.del.p99, base.del.p99),
      };
    };
    const ratios: Record<string, Record<string, number>> = {
      "flannel-lab / bridge (direct)": ratiosAgainst(variants["bridge (direct)"]!),
    };
    if (variants["upstream flannel"]) {
      ratios["flannel-lab / upstream flannel"] = ratiosAgainst(variants["upstream flannel"]);
    }
    return {
      name: "cni",
      pods,
      unit: "ms",
      variants,
      ratios,
      notes: [
        `Deno ${Deno.version.deno}; our plugin runs as \`deno run\` through the launcher from \`flannel-lab cni install\``,
        "each call timed from spawn to exit, including `ip netns exec` into the node namespace (same for all variants)",
        "bridge (direct) gets the delegate configuration our plugin renders; it is the floor: flannel only translates and delegates",
        "all variants use host-local with a dataDir in a temp dir; each variant has its own node namespace and cni0",
      ],
    };
  } finally {
    for (const ns of owned.reverse()) await ns.delete();
  }
}

/** One VERSION call through the launcher, so the first timed ADD does not pay for a cold code cache. */
async function measureWarmup(bin: string, stdin: string): Promise<void> {
  await run([`${bin}/flannel`], { stdin, env: { CNI_COMMAND: "VERSION" }, check: false });
}

/** The CNI benchmark for `deno task bench`: a row per variant, ratios to the bridge plugin (the floor). */
export const cniBenchmark: Benchmark = {
  name: "cni",
  async run(): Promise<BenchReport> {
    const result = await cniBench({ pods: scaled(50, 5), upstream: Deno.env.get("FLANNEL_UPSTREAM_CNI") });
    const rows = Object.entries(result.variants).map(([name, v]) => [
      name,
      v.add.p50,
      v.add.p99,
      v.del.p50,
      v.del.p99,
    ]);
    const ratioNotes = Object.entries(result.ratios).map(([k, r]) =>
      `${k}: ` + Object.entries(r).map(([m, x]) => `${m} ${x}`).join(", ")
    );
    const ours = result.variants["flannel-lab"]!;
    const bridge = result.variants["bridge (direct)"]!;
    const headlines: Headline[] = [{
      figure: "CNI ADD p50 (deno run)",
      ratio: ours.add.p50 / bridge.add.p50,
      baseline: "the bridge plugin, direct",
      detail: `${ours.add.p50} vs ${bridge.add.p50} ms; upstream's Go plugin is not built here`,
    }, {
      figure: "CNI DEL p50 (deno run)",
      ratio: ours.del.p50 / bridge.del.p50,
      baseline: "the bridge plugin, direct",
      detail: `${ours.del.p50} vs ${bridge.del.p50} ms`,
    }];
    return {
      headlines,
      title: `CNI ADD/DEL latency, ${result.pods} pods (ms)`,
      columns: ["plugin", "ADD p50", "ADD p99", "DEL p50", "DEL p99"],
      rows,
      notes: [...ratioNotes, ...result.notes],
      data: result,
    };
  },
};

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: { pods: { type: "string" }, upstream: { type: "string" } },
  });
  const upstream = values.upstream ?? Deno.env.get("FLANNEL_UPSTREAM_CNI");
  const result = await cniBench({
    pods: values.pods ? Number(values.pods) : 50,
    upstream,
    log: (l) => Deno.stderr.writeSync(new TextEncoder().encode(l + "\n")),
  });
  const out = new URL("./results/cni.json", import.meta.url);
  await Deno.mkdir(new URL("./results/", import.meta.url), { recursive: true });
  await Deno.writeTextFile(out, JSON.stringify(result, null, 2) + "\n");
  Deno.stdout.writeSync(
    new TextEncoder().encode(JSON.stringify(result.ratios, null, 2) + `\nwrote ${out.pathname}\n`),
  );
}
