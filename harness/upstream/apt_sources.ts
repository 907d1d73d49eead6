/**
 * Which Debian mirror this machine's apt uses, read from its sources files (one-line `.list` and deb822
 * `.sources`). Pure: the caller reads the files. The node image is built from the same mirror, so the project
 * names no mirror host of its own.
 *
 * @module
 */

/** One apt sources file: its path (only `*.list` and `*.sources` count, like apt) and its text. */
export interface SourcesFile {
  readonly path: string;
  readonly text: string;
}

/** One `deb` entry. */
export interface AptSource {
  readonly uri: string;
  readonly suites: readonly string[];
  readonly components: readonly string[];
}

/**
 * Parses apt sources files into their enabled `deb` (binary) entries, in file order.
 *
 * @example
 * ```ts
 * import { parseAptSources } from "./apt_sources.ts";
 * const entries = parseAptSources([{ path: "/etc/apt/sources.list", text: "deb http://mirror/debian bookworm main" }]);
 * ```
 */
export function parseAptSources(files: readonly SourcesFile[]): AptSource[] {
  const out: AptSource[] = [];
  for (const file of files) {
    if (file.path.endsWith(".list")) out.push(...parseOneLine(file.text));
    else if (file.path.endsWith(".sources")) out.push(...parseDeb822(file.text));
  }
  return out;
}

function parseOneLine(text: string): AptSource[] {
  const out: AptSource[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.replace(/#.*/, "").trim();
    // deb [ option=value ... ] uri suite [component ...]
    const m = /^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)(.*)$/.exec(line);
    if (!m) continue;
    out.push({ uri: m[1]!, suites: [m[2]!], components: (m[3] ?? "").trim().split(/\s+/).filter(Boolean) });
  }
  return out;
}

function parseDeb822(text: string): AptSource[] {
  const out: AptSource[] = [];
  const paragraphs = text.split(/\n\s*\n/);
  for (const paragraph of paragraphs) {
    const fields = new Map<string, string>();
    let last: string | undefined;
    for (const raw of paragraph.split("\n")) {
      if (raw.startsWith("#")) continue;
      if (/^\s/.test(raw) && last) { // continuation line
        fields.set(last, `${fields.get(last)} ${raw.trim()}`);
        continue;
      }
      const m = /^([A-Za-z0-9-]+):\s*(.*)$/.exec(raw);
      if (!m) continue;
      last = m[1]!.toLowerCase();
      fields.set(last, m[2]!.trim());
    }
    const words = (key: string) => (fields.get(key) ?? "").split(/\s+/).filter(Boolean);
    if (!words("types").includes("deb")) continue;
    if ((fields.get("enabled") ?? "yes").toLowerCase() === "no") continue;
    for (const uri of words("uris")) {
      out.push({ uri, suites: words("suites"), components: words("components") });
    }
  }
  return out;
}

/**
 * The mirror to debootstrap `suite` from: the first enabled `deb` entry that serves `suite` with the `main`
 * component.
 *
 * @returns the mirror URI without a trailing slash, or `undefined` when no entry serves the suite
 */
export function debianMirror(files: readonly SourcesFile[], suite: string): string | undefined {
  const entry = parseAptSources(files).find((s) => s.suites.includes(suite) && s.components.includes("main"));
  return entry?.uri.replace(/\/+$/, "");
}
