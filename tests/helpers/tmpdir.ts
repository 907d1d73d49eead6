/** A temporary directory removed on dispose. */
export async function tempDir(prefix = "flannel-lab-test-"): Promise<{ path: string } & AsyncDisposable> {
  const path = await Deno.makeTempDir({ prefix });
  return {
    path,
    async [Symbol.asyncDispose]() {
      await Deno.remove(path, { recursive: true }).catch(() => {});
    },
  };
}

/** A unique short name for test namespaces and labs: `flt` + 6 hex digits. */
export function uniqueName(prefix = "flt"): string {
  return prefix +
    crypto.getRandomValues(new Uint8Array(3)).reduce((s, b) => s + b.toString(16).padStart(2, "0"), "");
}
