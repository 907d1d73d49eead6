/**
 * Loads the captured kernel replies in this folder (see README.md). Test-only.
 *
 * @module
 */
import { type NetlinkMessage, parseMessages } from "../codec.ts";

/** The raw bytes of each message of a fixture file. */
export function fixtureBytes(name: string): Uint8Array[] {
  const text = Deno.readTextFileSync(new URL(name, import.meta.url));
  return text.split("\n").filter(Boolean).map((line) =>
    new Uint8Array(line.match(/../g)!.map((h) => parseInt(h, 16)))
  );
}

/** The decoded messages of a fixture file. */
export function fixture(name: string): NetlinkMessage[] {
  return fixtureBytes(name).flatMap((b) => parseMessages(b));
}

/** Every fixture's messages' bytes, for seeding fuzzers. */
export function allFixtureBytes(): Uint8Array[] {
  const names = [
    "link_dump.hex",
    "addr_dump.hex",
    "route_dump.hex",
    "neigh_dump.hex",
    "fdb_dump.hex",
    "error_eexist.hex",
    "error_enetunreach_extack.hex",
    "error_enodev.hex",
    "ack.hex",
  ];
  return names.flatMap(fixtureBytes);
}
