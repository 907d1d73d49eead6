/**
 * Debian's chromium, the headless browser the HTML report is checked in (a screenshot, and the page's text read
 * back from its DOM). A test tool, installed with apt like docker.io.
 *
 * @module
 */
import { run } from "../../cli/process/mod.ts";
import { ensureDebianPackages, missingDebianPackages } from "./debian.ts";

/** Where Debian puts it. */
export const CHROMIUM = "/usr/bin/chromium";

/** Installs chromium when it is missing; returns its path and version. */
export async function ensureChromium(
  options: { readonly log?: (line: string) => void } = {},
): Promise<{ path: string; version: string; installed: boolean }> {
  const installed =
    (await ensureDebianPackages(["chromium"], options.log ? { log: options.log } : {})).length > 0;
  return { path: CHROMIUM, version: await chromiumVersion() ?? "unknown", installed };
}

/** Whether Debian's chromium package is installed. */
export async function chromiumInstalled(): Promise<boolean> {
  return (await missingDebianPackages(["chromium"])).length === 0;
}

/** `chromium --version`, or undefined when it does not run. */
export async function chromiumVersion(): Promise<string | undefined> {
  const r = await run([CHROMIUM, "--version"], { check: false, timeoutMs: 20_000 }).catch(() => undefined);
  return r?.code === 0 ? r.stdout.trim() : undefined;
}

/**
 * Loads a page in headless chromium: a PNG screenshot and the DOM as the browser built it.
 *
 * @param url the page (`file:///…`)
 * @param png where the screenshot goes
 * @returns the serialized DOM
 */
export async function headless(url: string, png: string, size = "1280,2000"): Promise<string> {
  const common = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--hide-scrollbars",
    `--window-size=${size}`,
  ];
  await run([CHROMIUM, ...common, `--screenshot=${png}`, url], { timeoutMs: 60_000 });
  const dom = await run([CHROMIUM, ...common, "--dump-dom", url], { timeoutMs: 60_000 });
  return dom.stdout;
}
