/**
 * `NLDEBUG=1` logs one line per netlink message sent (`>`) or received (`<`) to stderr; `NLDEBUG=2` adds the
 * payload in hex. The idea is mdlayher/netlink's `NLDEBUG`.
 *
 * @module
 */
import { decodeError, parseMessages } from "./codec.ts";
import { NLMSG_ERROR } from "./consts.ts";
import { errnoName } from "./errors.ts";

const TYPE_NAMES: Record<number, string> = {
  1: "NLMSG_NOOP",
  2: "NLMSG_ERROR",
  3: "NLMSG_DONE",
  4: "NLMSG_OVERRUN",
  16: "RTM_NEWLINK",
  17: "RTM_DELLINK",
  18: "RTM_GETLINK",
  19: "RTM_SETLINK",
  20: "RTM_NEWADDR",
  21: "RTM_DELADDR",
  22: "RTM_GETADDR",
  24: "RTM_NEWROUTE",
  25: "RTM_DELROUTE",
  26: "RTM_GETROUTE",
  28: "RTM_NEWNEIGH",
  29: "RTM_DELNEIGH",
  30: "RTM_GETNEIGH",
};

let level: number | undefined;

/** The NLDEBUG level (0 when unset or when env access is not granted). */
export function debugEnabled(): number {
  if (level === undefined) {
    try {
      level = Number(Deno.env.get("NLDEBUG") ?? 0) || 0;
    } catch {
      level = 0;
    }
  }
  return level;
}

/** Logs each message of a datagram. */
export function debugMessages(dir: string, datagram: Uint8Array): void {
  const enc = new TextEncoder();
  let text = "";
  try {
    for (const m of parseMessages(datagram)) {
      const h = m.header;
      let line = `nl ${dir} ${TYPE_NAMES[h.type] ?? h.type} len=${h.len} flags=0x${
        h.flags.toString(16)
      } seq=${h.seq} pid=${h.pid}`;
      if (h.type === NLMSG_ERROR) {
        const e = decodeError(m);
        line += e.error === 0 ? " ack" : ` error=${errnoName(-e.error)}`;
        if (e.extack.message) line += ` extack="${e.extack.message}"`;
      }
      if (debugEnabled() >= 2) {
        line += " " + Array.from(m.payload, (b) => b.toString(16).padStart(2, "0")).join("");
      }
      text += line + "\n";
    }
  } catch (e) {
    text += `nl ${dir} undecodable datagram (${datagram.length} bytes): ${e}\n`;
  }
  Deno.stderr.writeSync(enc.encode(text));
}
