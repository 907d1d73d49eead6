/**
 * Escaping text for HTML and SVG, shared by the reports and the pictures they embed. Pure.
 *
 * @module
 */

/**
 * Escapes the five characters that are markup in HTML and SVG text and attribute values.
 *
 * @example
 * ```ts
 * import { escapeHtml } from "./escape.ts";
 * console.assert(escapeHtml(`a<b & "c"`) === "a&lt;b &amp; &quot;c&quot;");
 * ```
 */
export function escapeHtml(s: string): string {
  return s.replace(
    /[<>&"']/g,
    (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;", "'": "&#39;" })[c]!,
  );
}
