/**
 * Entry of the `flannel` CNI plugin (`flannel-lab cni`, chosen automatically whenever CNI_COMMAND is set).
 *
 * Loaded once per pod, so it imports only the plugin's own modules and `agent/ip.ts`: no etcd client, no netlink
 * layer, no backend. With CNI_COMMAND set it is the plugin; without it, `flannel-lab cni install --dir DIR`
 * installs the plugin as `DIR/flannel`, and anything else prints what the plugin is.
 *
 * @module
 */
import { denoIo, writeStdout } from "./io.ts";
import { runPlugin } from "./plugin.ts";
import { SUPPORTED_VERSIONS } from "./version.ts";

const ABOUT = "CNI plugin flannel (flannel-lab): delegates to the bridge and host-local plugins, " +
  "using the node's subnet from the flannel agent's subnet.env";

const USAGE = `${ABOUT}
CNI protocol versions supported: ${SUPPORTED_VERSIONS.join(", ")}

Usage:
  CNI_COMMAND=ADD|DEL|CHECK|STATUS|GC|VERSION CNI_CONTAINERID=… CNI_NETNS=… CNI_IFNAME=… CNI_PATH=… \\
    flannel-lab cni < netconf.json
  flannel-lab cni install --dir DIR [--name flannel]
      install the plugin as DIR/NAME (a launcher script; a symlink for a compiled binary)`;

function stderr(text: string): void {
  Deno.stderr.writeSync(new TextEncoder().encode(text + "\n"));
}

/**
 * Runs the plugin (CNI_COMMAND set) or the `cni` subcommands.
 *
 * @param args the arguments after `cni` (ignored in plugin mode, where the runtime passes none)
 * @returns the exit code
 */
export async function main(args: string[]): Promise<number> {
  if (Deno.env.get("CNI_COMMAND")) {
    const outcome = await runPlugin(denoIo());
    if (outcome.stdout) writeStdout(outcome.stdout);
    return outcome.exitCode;
  }
  const [sub, ...rest] = args[0] === "cni" ? args.slice(1) : args;
  if (sub === "install") {
    const { installMain } = await import("./install.ts");
    return await installMain(rest);
  }
  if (sub === undefined || sub === "--help" || sub === "-h" || sub === "help") {
    // Like libcni's skel without CNI_COMMAND: say what we are, on stderr, and succeed.
    stderr(USAGE);
    return 0;
  }
  stderr(`flannel-lab cni: unknown argument "${sub}"\n\n${USAGE}`);
  return 2;
}
