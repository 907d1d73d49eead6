/**
 * flannel-lab: a flannel-compatible overlay agent and a containerlab test harness in one program.
 * This module only dispatches subcommands; each one is loaded on demand, so the CNI plugin, which starts once
 * per pod, loads neither the etcd client nor the netlink layer.
 *
 * @module
 */
import { UsageError } from "./cli/errors.ts";
import { println, reportError } from "./cli/output.ts";
import { VERSION } from "./cli/version.ts";

type Main = (args: string[]) => Promise<number>;

interface Command {
  readonly summary: string;
  readonly load: () => Promise<Main>;
}

const COMMANDS: Readonly<Record<string, Command>> = {
  agent: {
    summary: "run the flannel agent (takes flanneld's flags and FLANNELD_* variables)",
    load: async () => (await import("./agent/main.ts")).main,
  },
  cni: {
    summary: "act as the `flannel` CNI plugin (also chosen whenever CNI_COMMAND is set)",
    load: async () => (await import("./agent/cni/main.ts")).main,
  },
  demo: {
    summary: "start etcd and two agents in throwaway network namespaces, show their leases, clean up",
    load: async () => (await import("./harness/demo.ts")).main,
  },
  up: {
    summary: "deploy a topology, start etcd, agents and pods, and leave them running (alias: deploy)",
    load: async () => (await import("./harness/commands/mod.ts")).upMain,
  },
  deploy: {
    summary: "same as up",
    load: async () => (await import("./harness/commands/mod.ts")).upMain,
  },
  down: {
    summary: "stop a lab's processes, remove it and its leftovers, also after a crash (alias: destroy)",
    load: async () => (await import("./harness/commands/mod.ts")).downMain,
  },
  destroy: {
    summary: "same as down",
    load: async () => (await import("./harness/commands/mod.ts")).downMain,
  },
  test: {
    summary: "stand a topology up, run its scenario, report (JUnit, HTML), tear it all down",
    load: async () => (await import("./harness/commands/mod.ts")).testMain,
  },
  inspect: {
    summary: "show running labs: nodes, etcd, agents (pid, alive, lease), pods (table or JSON)",
    load: async () => (await import("./harness/commands/mod.ts")).inspectMain,
  },
  exec: {
    summary: "run a command inside a lab node or pod: exec TOPOLOGY NODE|NODE/pN -- CMD",
    load: async () => (await import("./harness/commands/mod.ts")).execMain,
  },
  doctor: {
    summary: "check this host: privileges, kernel features, impairments available, tools, leftovers",
    load: async () => (await import("./harness/commands/mod.ts")).doctorMain,
  },
  generate: {
    summary: "write a scale lab (topology + scenario): N nodes over K subnets behind a router",
    load: async () => (await import("./harness/generate.ts")).main,
  },
  trace: {
    summary:
      "follow one probe pod to pod through a lab that is up: every hop, encapsulation, where it is lost",
    load: async () => (await import("./harness/trace/cli.ts")).main,
  },
  repro: {
    summary: "a library of flannel failures users hit, run with our agent and upstream: list, show, run, new",
    load: async () => (await import("./harness/repro/cli.ts")).main,
  },
  tools: {
    summary: "install and check the upstream test tools (containerlab, flanneld, dockerd, node image)",
    load: async () => (await import("./harness/upstream/main.ts")).main,
  },
};

function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((k) => k.length));
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`);
  return [
    `flannel-lab ${VERSION}: a flannel-compatible overlay agent and a containerlab test harness`,
    "",
    "Usage: flannel-lab <command> [options]",
    "",
    "Commands:",
    ...lines,
    "",
    "Run `flannel-lab <command> --help` for a command's options.",
  ].join("\n");
}

async function run(args: string[]): Promise<number> {
  // Installed as /opt/cni/bin/flannel, the runtime invokes us with CNI_COMMAND set and no arguments.
  const name = Deno.env.get("CNI_COMMAND") ? "cni" : args[0];
  const rest = Deno.env.get("CNI_COMMAND") ? args : args.slice(1);
  if (name === undefined || name === "help" || name === "--help" || name === "-h") {
    println(usage());
    return name === undefined ? 2 : 0;
  }
  if (name === "version" || name === "--version" || name === "-version") {
    println(`flannel-lab ${VERSION}`);
    return 0;
  }
  const command = COMMANDS[name];
  if (!command) {
    reportError(new UsageError(`Unknown command "${name}"`));
    println(usage());
    return 2;
  }
  const main = await command.load();
  return await main(rest);
}

if (import.meta.main) {
  let code: number;
  try {
    code = await run(Deno.args);
  } catch (error) {
    code = reportError(error, { verbose: Deno.args.includes("-v") });
  }
  Deno.exit(code);
}
