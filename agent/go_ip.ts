/**
 * Addresses read the way upstream flanneld's IP types (`pkg/ip`) read them out of JSON. Pure.
 *
 * Two Go habits decide what is accepted, and neither is `parseIp`'s alone:
 * - a custom `UnmarshalJSON` gets the raw JSON text and trims `"` from both ends, so only a string without
 *   escape sequences can parse ({@linkcode goIpText});
 * - Go's `net.ParseIP` yields one 16-byte form for both families, so `To4` accepts an IPv4-mapped IPv6 address as
 *   IPv4 ({@linkcode parseGoIp4}) and an IPv4 address stored in an IPv6 field becomes its IPv4-mapped form
 *   ({@linkcode parseGoIp6}).
 *
 * @module
 */
import { type Decoded, type GoJsonNode, jsonType } from "./go_json.ts";
import { type IpAddr, parseIp } from "./ip.ts";

/**
 * The text a flannel IP type's `UnmarshalJSON` sees: Go passes the raw JSON and trims `"` from both ends, so
 * only a string without escapes can ever parse; `null` becomes the text `null` (an error) unless `nullable`.
 *
 * @param node The JSON value of an address field.
 * @param nullable Whether the Go field is a pointer, for which `null` means unset.
 * @returns The address text, `undefined` for an allowed `null`, or why the value cannot be an address.
 * @example An escaped slash is still a slash to JSON, but not to Go's IP parser
 * ```ts
 * import { goIpText } from "./go_ip.ts";
 * import { parseGoJson } from "./go_json.ts";
 * const d = goIpText(parseGoJson(`"10.0.0.0\\/8"`), false);
 * console.assert(!d.ok && d.detail === "must be written without escape sequences");
 * ```
 */
export function goIpText(node: GoJsonNode, nullable: boolean): Decoded<string> {
  if (node.kind === "null" && nullable) return { ok: true, value: undefined };
  if (node.kind !== "string") return { ok: false, detail: `must be a string, not ${jsonType(node)}` };
  if (node.raw.includes("\\")) return { ok: false, detail: "must be written without escape sequences" };
  return { ok: true, value: node.value };
}

/**
 * Parses an IPv4 address the way flannel's `ip.ParseIP4` does (Go `net.ParseIP` then `To4`): a dotted quad, or an
 * IPv4-mapped IPv6 address (`::ffff:10.0.0.1`), which Go treats as the same IPv4 address.
 *
 * @param text The address text.
 * @returns The IPv4 address, or `undefined` when the text is not one.
 * @example A mapped address is IPv4 to Go
 * ```ts
 * import { parseGoIp4 } from "./go_ip.ts";
 * console.assert(parseGoIp4("::ffff:10.0.0.1")?.family === 4);
 * console.assert(parseGoIp4("fc00::1") === undefined);
 * ```
 */
export function parseGoIp4(text: string): IpAddr | undefined {
  let addr: IpAddr;
  try {
    addr = parseIp(text);
  } catch {
    return undefined;
  }
  if (addr.family === 4) return addr;
  return addr.value >> 32n === 0xffffn ? { family: 4, value: addr.value & 0xffffffffn } : undefined;
}

/**
 * Go `net.ParseIP` for an `*ip.IP6` field: any address; an IPv4 one becomes its IPv4-mapped IPv6 form.
 *
 * @param text The address text.
 * @returns The IPv6 address, or `undefined` when the text is not an address.
 * @example An IPv4 address in an IPv6 field
 * ```ts
 * import { parseGoIp6 } from "./go_ip.ts";
 * import { formatIp } from "./ip.ts";
 * console.assert(formatIp(parseGoIp6("10.0.0.1")!) === "::ffff:a00:1");
 * ```
 */
export function parseGoIp6(text: string): IpAddr | undefined {
  try {
    const a = parseIp(text);
    return a.family === 6 ? a : { family: 6, value: 0xffff00000000n | a.value };
  } catch {
    return undefined;
  }
}
