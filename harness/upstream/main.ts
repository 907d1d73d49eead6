/**
 * `flannel-lab tools`: install the test tools, show their state, start or stop the Docker daemon.
 *
 * ```
 * flannel-lab tools install [all|containerlab|flanneld|docker|node-image|chromium]...
 * flannel-lab tools status [--json]
 * flannel-lab tools dockerd start|stop
 * ```
 *
 * @module
 */
import { parseArgs } from "node:util";
import { UsageError } from "../../cli/errors.ts";
import { eprintln, println } from "../../cli/output.ts";
import { ensureContainerlab } from "./containerlab.ts";
import { ensureDockerd, stopDockerd } from "./docker.ts";
import type { ToolName } from "./errors.ts";
import { ensureFlanneld } from "./flanneld.ts";
import { ensureNodeImage } from "./node_image.ts";
import { ensureChromium } from "./chromium.ts";
import { toolStatus } from "./status.ts";

const USAGE = `Usage:
  flannel-lab tools install [all|containerlab|flanneld|docker|node-image|chromium]... [--force]
  flannel-lab tools status [--json]
  flannel-lab tools dockerd start|stop`;

const ALL: readonly ToolName[] = ["containerlab", "flanneld", "docker", "node-image", "chromium"];

function log(line: string): void {
  eprintln(`flannel-lab tools: ${line}`);
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

async function install(tool: ToolName, force: boolean): Promise<void> {
  const opts = { log, force };
  switch (tool) {
    case "containerlab":
    case "flanneld": {
      const t = tool === "containerlab" ? await ensureContainerlab(opts) : await ensureFlanneld(opts);
      println(`${tool} ${t.version}: ${t.path} (${t.built ? "built" : "current"}, ${seconds(t.durationMs)})`);
      return;
    }
    case "docker": {
      // Installs docker.io and proves the daemon starts; one started only for this is stopped again.
      const started = performance.now();
      await using d = await ensureDockerd({ log });
      println(`docker: dockerd ${d.version} answers (${seconds(performance.now() - started)})`);
      return;
    }
    case "chromium": {
      // The headless browser the HTML report is checked in.
      const started = performance.now();
      const c = await ensureChromium({ log });
      println(
        `chromium: ${c.version} (${c.installed ? "installed" : "current"}, ${
          seconds(performance.now() - started)
        })`,
      );
      return;
    }
    case "node-image": {
      const image = await ensureNodeImage(opts);
      println(
        `node-image: ${image.tag} (${image.built ? "built" : "current"}, ${seconds(image.durationMs)})`,
      );
      return;
    }
  }
}

/**
 * Runs `flannel-lab tools …`.
 *
 * @param args the arguments after `tools`
 * @returns the exit code
 */
export async function main(args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      options: {
        json: { type: "boolean" },
        force: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    throw new UsageError((error as Error).message, { hint: USAGE });
  }
  const [verb, ...rest] = parsed.positionals;
  if (parsed.values.help || verb === undefined) {
    println(USAGE);
    return verb === undefined && !parsed.values.help ? 2 : 0;
  }
  switch (verb) {
    case "install": {
      const names = rest.length === 0 || rest.includes("all") ? ALL : rest;
      for (const name of names) {
        if (!ALL.includes(name as ToolName)) {
          throw new UsageError(`Unknown tool "${name}"`, { hint: `tools: ${ALL.join(", ")}` });
        }
      }
      // One daemon for the docker check and the image import; stopped at the end if started here.
      await using _dockerd = names.includes("docker") || names.includes("node-image")
        ? await ensureDockerd({ log })
        : undefined;
      for (const name of names) await install(name as ToolName, parsed.values.force ?? false);
      return 0;
    }
    case "status": {
      const all = await toolStatus();
      if (parsed.values.json) {
        println(JSON.stringify(all, null, 2));
      } else {
        for (const s of all) {
          println(`${s.tool.padEnd(12)} ${s.state.padEnd(7)} ${s.detail}${s.fix ? `  (fix: ${s.fix})` : ""}`);
        }
      }
      return all.every((s) => s.state === "present" || s.state === "stale") ? 0 : 1;
    }
    case "dockerd": {
      if (rest[0] === "start") {
        const d = await ensureDockerd({ log });
        println(
          d.startedHere
            ? `dockerd ${d.version} started (pid ${d.pid}, log ${d.logFile}); stop it with \`flannel-lab tools dockerd stop\``
            : `dockerd ${d.version} already answers`,
        );
        return 0;
      }
      if (rest[0] === "stop") {
        println((await stopDockerd()) ? "dockerd stopped" : "no dockerd started by flannel-lab runs");
        return 0;
      }
      throw new UsageError(`Unknown dockerd action "${rest[0] ?? ""}"`, { hint: USAGE });
    }
    default:
      throw new UsageError(`Unknown tools command "${verb}"`, { hint: USAGE });
  }
}
