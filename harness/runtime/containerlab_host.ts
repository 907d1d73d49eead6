/**
 * The host's side of a containerlab lab: the host paths bind-mounted into every node (the project, Deno and its
 * cache, the lab directory), and what containerlab leaves on the host when a lab's containers are gone but its
 * destroy never finished (the `/etc/hosts` block, the ssh config file, dangling `/run/netns` links).
 *
 * @module
 */

/**
 * The bind mounts every node gets, at the host's paths: the project (read-only: mod.ts, and under `.tools/`
 * Deno's real binary and upstream flanneld), the Deno binary when it lives elsewhere, the Deno cache (npm
 * packages resolve without network) and the lab directory (read-write: logs, subnet.env, etcd's data, the CNI
 * plugin). Missing paths are left out (Docker would create them).
 *
 * @param labDir the harness's lab directory
 * @returns `host:container:mode` strings
 */
export async function projectBinds(labDir: string): Promise<string[]> {
  const root = decodeURIComponent(new URL("../../", import.meta.url).pathname).replace(/\/$/, "");
  const under = (p: string, dir: string) => p === dir || p.startsWith(`${dir}/`);
  const exists = async (p: string) => await Deno.stat(p).then(() => true, () => false);
  const out: string[] = [`${root}:${root}:ro`];
  const deno = await Deno.realPath(Deno.execPath()).catch(() => Deno.execPath());
  const denoDir = deno.slice(0, deno.lastIndexOf("/"));
  if (!under(deno, root) && await exists(denoDir)) out.push(`${denoDir}:${denoDir}:ro`);
  const env = Deno.env.toObject();
  const cache = env["DENO_DIR"] ??
    (env["XDG_CACHE_HOME"]
      ? `${env["XDG_CACHE_HOME"]}/deno`
      : env["HOME"]
      ? `${env["HOME"]}/.cache/deno`
      : "");
  if (cache && !under(cache, root) && await exists(cache)) {
    out.push(`${await Deno.realPath(cache)}:${cache}:ro`);
  }
  out.push(`${await Deno.realPath(labDir)}:${labDir}:rw`);
  return out;
}

/**
 * Removes what containerlab leaves on the host for a lab whose containers are already gone: the
 * `/etc/hosts` block, the ssh config file, and `/run/netns` links that point at no process any more. Only
 * dangling links whose name contains `-<lab>-` are touched, so another lab's live namespaces are never removed.
 *
 * @param lab the lab name
 * @returns the removed netns link names
 */
export async function removeHostLeftovers(lab: string): Promise<string[]> {
  const removed: string[] = [];
  const entries: Deno.DirEntry[] = [];
  try {
    for await (const e of Deno.readDir("/run/netns")) entries.push(e);
  } catch { /* no /run/netns: nothing to remove */ }
  for (const e of entries) {
    if (!e.isSymlink || !e.name.includes(`-${lab}-`)) continue;
    const path = `/run/netns/${e.name}`;
    const target = await Deno.readLink(path).catch(() => "");
    if (target && await Deno.stat(target).then(() => true, () => false)) continue;
    await Deno.remove(path).catch(() => {});
    removed.push(e.name);
  }
  const hosts = await Deno.readTextFile("/etc/hosts").catch(() => undefined);
  if (hosts !== undefined) {
    const kept = removeHostsBlock(hosts, lab);
    if (kept !== hosts) await Deno.writeTextFile("/etc/hosts", kept);
  }
  await Deno.remove(`/etc/ssh/ssh_config.d/clab-${lab}.conf`).catch(() => {});
  return removed;
}

/**
 * `/etc/hosts` without containerlab's block for a lab. Pure.
 *
 * @param hosts the file's text
 * @param lab the lab name
 * @returns the text without the lab's `CLAB-<lab>-START` … `CLAB-<lab>-END` block (unchanged when it has none)
 * @example
 * ```ts
 * import { removeHostsBlock } from "./containerlab_host.ts";
 * const hosts = "127.0.0.1 localhost\n###### CLAB-a-START ######\n172.20.20.2 clab-a-n1\n###### CLAB-a-END ######\n";
 * console.assert(removeHostsBlock(hosts, "a") === "127.0.0.1 localhost\n");
 * ```
 */
export function removeHostsBlock(hosts: string, lab: string): string {
  const lines = hosts.split("\n");
  const start = lines.indexOf(`###### CLAB-${lab}-START ######`);
  const end = lines.indexOf(`###### CLAB-${lab}-END ######`);
  if (start < 0 || end < start) return hosts;
  return [...lines.slice(0, start), ...lines.slice(end + 1)].join("\n");
}
