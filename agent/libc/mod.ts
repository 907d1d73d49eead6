/**
 * libc over Deno FFI, shared by the netlink library (`agent/netlink/`) and the udp proxy's data path
 * (`agent/backend/udp/`): one symbol table, errno-checked wrappers, the socket/descriptor/errno constants, and
 * the per-thread network namespace switch.
 *
 * - `ffi.ts`: the symbols ({@linkcode lib}), {@linkcode OsError}, {@linkcode check}, socket options, `open`
 * - `netns.ts`: {@linkcode withNetns}, {@linkcode currentNetnsInode}
 * - `consts.ts`: `AF_*`, `SOCK_*`, `SO_*`, `MSG_*`, `O_*`, `EFD_*`, `POLL*`, errno values
 * - `errno.ts`: {@linkcode errnoName}
 *
 * A folder of its own, not part of netlink, so the udp proxy's Worker loads these few files rather than the whole
 * rtnetlink library. It imports nothing else from the project.
 *
 * @example Open a UDP socket inside another namespace
 * ```ts ignore
 * import { AF_INET, check, lib, SOCK_CLOEXEC, SOCK_DGRAM, withNetns } from "./mod.ts";
 * const fd = withNetns("lab1", () => check("socket", lib().socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)));
 * ```
 *
 * @module
 */
export * from "./consts.ts";
export { errnoName } from "./errno.ts";
export {
  check,
  closeQuietly,
  cstr,
  errno,
  getIntOpt,
  lib,
  type Libc,
  openRaw,
  OsError,
  setIntOpt,
  trySetIntOpt,
} from "./ffi.ts";
export { currentNetnsInode, withNetns } from "./netns.ts";
