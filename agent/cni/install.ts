/**
 * Installs the plugin as `<dir>/flannel`: a tiny launcher script that execs this program's `cni` command (or,
 * for a compiled binary, a symlink to it — the binary picks the plugin because CNI_COMMAND is set).
 *
 * @module
 */
import { parseArgs } from "node:util";

/** Options of {@linkcode installPlugin}. */
export interface InstallOptions {
  /** The CNI binary directory (e.g. /opt/cni/bin). */
  readonly dir: string;
  /** The file name; `flannel` unless given. */
  readonly name?: string;
}

function shellQuote(s: string): string {
  return `'${s.replaceAll("'", `'\\''`)}'`;
}

/** The Deno cache the launcher should use when the runtime's environment names none. */
function denoDir(): string | undefined {
  const env = Deno.env.toObject();
  if (env["DENO_DIR"]) return env["DENO_DIR"];
  if (env["XDG_CACHE_HOME"]) return `${env["XDG_CACHE_HOME"]}/deno`;
  if (env["HOME"]) return `${env["HOME"]}/.cache/deno`;
  return undefined;
}

/**
 * The launcher script for running `entry` (this project's mod.ts) with `deno`.
 *
 * @param deno the deno executable
 * @param entry the project's mod.ts
 * @param cache the DENO_DIR to fall back on
 * @returns the script's text
 */
export function launcherScript(deno: string, entry: string, cache: string | undefined): string {
  return [
    "#!/bin/sh",
    "# The flannel CNI plugin: runs `flannel-lab cni` (installed by `flannel-lab cni install`).",
    "# The container runtime calls it with CNI_COMMAND and the other CNI_* variables set, the config on stdin.",
    "export DENO_NO_UPDATE_CHECK=1",
    ...(cache ? [`export DENO_DIR="\${DENO_DIR:-${cache.replaceAll(/["\\$`]/g, (c) => `\\${c}`)}}"`] : []),
    `exec ${shellQuote(deno)} run --allow-all --quiet --no-config ${shellQuote(entry)} cni "$@"`,
    "",
  ].join("\n");
}

/**
 * Installs the plugin into a CNI binary directory, replacing what is there atomically.
 *
 * @param options where and under which name
 * @returns the installed path
 */
export async function installPlugin(options: InstallOptions): Promise<string> {
  const target = `${options.dir}/${options.name ?? "flannel"}`;
  await Deno.mkdir(options.dir, { recursive: true });
  const tmp = `${target}.tmp-${crypto.randomUUID().slice(0, 8)}`;
  const entryUrl = new URL("../../mod.ts", import.meta.url);
  const deno = Deno.execPath();
  const compiled = entryUrl.protocol !== "file:" || !/^deno(\.exe)?$/.test(deno.split("/").pop() ?? "");
  try {
    if (compiled) {
      await Deno.symlink(deno, tmp);
    } else {
      const script = launcherScript(deno, decodeURIComponent(entryUrl.pathname), denoDir());
      await Deno.writeTextFile(tmp, script, { mode: 0o755 });
      await Deno.chmod(tmp, 0o755);
    }
    await Deno.rename(tmp, target);
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    throw e;
  }
  return target;
}

/**
 * `flannel-lab cni install --dir DIR [--name NAME]`.
 *
 * @param args the arguments after `install`
 * @returns the exit code
 */
export async function installMain(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { dir: { type: "string" }, name: { type: "string" } },
    strict: true,
  });
  if (!values.dir) {
    Deno.stderr.writeSync(
      new TextEncoder().encode("flannel-lab cni install: --dir DIR is required (e.g. /opt/cni/bin)\n"),
    );
    return 2;
  }
  const path = await installPlugin(
    values.name ? { dir: values.dir, name: values.name } : { dir: values.dir },
  );
  Deno.stdout.writeSync(new TextEncoder().encode(`installed the flannel CNI plugin as ${path}\n`));
  return 0;
}
