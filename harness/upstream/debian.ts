/**
 * Debian packages the test tools need (docker.io, debootstrap, a C toolchain for flanneld's udp backend),
 * installed with apt-get by name.
 *
 * @module
 */
import { run } from "../../cli/process/mod.ts";

/** The packages of `names` that dpkg does not list as installed. */
export async function missingDebianPackages(names: readonly string[]): Promise<string[]> {
  const missing: string[] = [];
  for (const name of names) {
    const { code, stdout } = await run(["dpkg-query", "-W", "-f=${Status}", name], { check: false });
    if (code !== 0 || !stdout.includes("install ok installed")) missing.push(name);
  }
  return missing;
}

/**
 * Installs the Debian packages of `names` that are missing (`apt-get update` first, as the wrapper does).
 * Services the packages bring are not started where the host's policy-rc.d forbids it (as here).
 *
 * @returns the packages it installed (empty when all were present)
 * @throws {CommandError} when apt-get fails
 */
export async function ensureDebianPackages(
  names: readonly string[],
  options: { log?: (line: string) => void } = {},
): Promise<string[]> {
  const missing = await missingDebianPackages(names);
  if (missing.length === 0) return [];
  options.log?.(`installing Debian packages: ${missing.join(" ")}`);
  const env = { DEBIAN_FRONTEND: "noninteractive" };
  // Another apt-get may hold the lock (a colleague's wrapper): wait for it rather than fail.
  const lock = ["-o", "DPkg::Lock::Timeout=300"];
  await run(["apt-get", ...lock, "update", "-qq"], { env, timeoutMs: 600_000 });
  await run(["apt-get", ...lock, "install", "-y", "-qq", "--no-install-recommends", ...missing], {
    env,
    timeoutMs: 1_200_000,
  });
  return missing;
}
