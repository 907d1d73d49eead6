/**
 * The libc symbols the project calls over Deno FFI, and the small wrappers that turn `-1` into an
 * {@link OsError} carrying errno. One symbol table serves the netlink socket, TUN devices, the namespace switch
 * and the udp proxy's data path, so each is declared once.
 *
 * errno is per thread, so it is only read right after a failed *synchronous* call on the same thread. The only
 * `nonblocking` symbol is `poll`, which runs on a worker thread of Deno's and whose own errno is never needed (a
 * failed poll simply re-polls); `pollSync` is the same libc function called in place, for code that already runs
 * on a thread of its own (the udp proxy's Worker), where blocking is the point.
 *
 * @module
 */
import { errnoName } from "./errno.ts";

const SYMBOLS = {
  socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
  bind: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  getsockname: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
  setsockopt: { parameters: ["i32", "i32", "i32", "buffer", "u32"], result: "i32" },
  getsockopt: { parameters: ["i32", "i32", "i32", "buffer", "buffer"], result: "i32" },
  sendto: { parameters: ["i32", "buffer", "usize", "i32", "buffer", "u32"], result: "isize" },
  recv: { parameters: ["i32", "buffer", "usize", "i32"], result: "isize" },
  recvmmsg: { parameters: ["i32", "buffer", "u32", "i32", "pointer"], result: "i32" },
  sendmmsg: { parameters: ["i32", "buffer", "u32", "i32"], result: "i32" },
  read: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  write: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  close: { parameters: ["i32"], result: "i32" },
  open: { parameters: ["buffer", "i32", "i32"], result: "i32" },
  ioctl: { parameters: ["i32", "u64", "buffer"], result: "i32" },
  setns: { parameters: ["i32", "i32"], result: "i32" },
  eventfd: { parameters: ["u32", "i32"], result: "i32" },
  poll: { parameters: ["buffer", "u64", "i32"], result: "i32", nonblocking: true },
  pollSync: { name: "poll", parameters: ["buffer", "u64", "i32"], result: "i32" },
  __errno_location: { parameters: [], result: "pointer" },
} as const;

/** The loaded libc symbols. */
export type Libc = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];
let libc: Libc | undefined;

/**
 * The libc symbols, loaded on first use so that importing a module needs no `--allow-ffi` (and per thread: each
 * Worker loads its own).
 *
 * @returns the symbols
 * @example
 * ```ts ignore
 * import { lib } from "./ffi.ts";
 * const fd = lib().eventfd(0, 0);
 * ```
 */
export function lib(): Libc {
  libc ??= Deno.dlopen("libc.so.6", SYMBOLS).symbols;
  return libc;
}

/**
 * A failed system call: errno number and name, and the call that failed.
 *
 * @example
 * ```ts
 * import { OsError } from "./ffi.ts";
 * new OsError("bind UDP 10.0.0.1:8285", 98).code; // "EADDRINUSE"
 * ```
 */
export class OsError extends Error {
  /** errno value. */
  readonly errno: number;
  /** errno name, e.g. "EAGAIN". */
  readonly code: string;
  /**
   * @param call what was attempted, e.g. "open /run/netns/lab1"
   * @param errno the errno it failed with
   */
  constructor(call: string, errno: number) {
    super(`Cannot ${call}: ${errnoName(errno)} (errno ${errno})`);
    this.name = "OsError";
    this.errno = errno;
    this.code = errnoName(errno);
  }
}

/**
 * The calling thread's errno. Only meaningful right after a failed synchronous call.
 *
 * @returns the errno value
 * @example
 * ```ts ignore
 * if (lib().close(fd) < 0) console.error(errno());
 * ```
 */
export function errno(): number {
  const p = lib().__errno_location();
  return p === null ? 0 : new Deno.UnsafePointerView(p).getInt32();
}

/**
 * Throws {@link OsError} when a synchronous call returned a negative value, else returns it as a number.
 *
 * @param call what was attempted, for the error
 * @param ret the call's return value
 * @returns `ret` as a number
 * @throws {OsError} when `ret` is negative
 * @example
 * ```ts ignore
 * const fd = check("eventfd", lib().eventfd(0, EFD_CLOEXEC));
 * ```
 */
export function check(call: string, ret: number | bigint): number {
  const n = Number(ret);
  if (n < 0) throw new OsError(call, errno());
  return n;
}

/**
 * A NUL-terminated C string.
 *
 * @param s the text
 * @returns its UTF-8 bytes and a NUL
 * @example
 * ```ts
 * import { cstr } from "./ffi.ts";
 * cstr("lo").length; // 3
 * ```
 */
export function cstr(s: string): Uint8Array<ArrayBuffer> {
  const b = new TextEncoder().encode(s);
  const out = new Uint8Array(b.length + 1);
  out.set(b);
  return out;
}

/**
 * Sets an integer socket option.
 *
 * @param fd the socket
 * @param level e.g. `SOL_SOCKET`
 * @param name e.g. `SO_RCVBUF`
 * @param value the value
 * @throws {OsError} when the kernel refuses it
 * @example
 * ```ts ignore
 * setIntOpt(fd, SOL_SOCKET, SO_RCVBUF, 1 << 20);
 * ```
 */
export function setIntOpt(fd: number, level: number, name: number, value: number): void {
  check(`setsockopt(${level}, ${name})`, lib().setsockopt(fd, level, name, intBytes(value), 4));
}

/**
 * Sets an integer socket option where a refusal is an answer, not an error (an offload the kernel lacks, a
 * `*FORCE` option without privileges).
 *
 * @param fd the socket
 * @param level e.g. `SOL_UDP`
 * @param name e.g. `UDP_GRO`
 * @param value the value
 * @returns whether the kernel took it
 * @example
 * ```ts ignore
 * const gro = trySetIntOpt(fd, SOL_UDP, UDP_GRO, 1);
 * ```
 */
export function trySetIntOpt(fd: number, level: number, name: number, value: number): boolean {
  return lib().setsockopt(fd, level, name, intBytes(value), 4) === 0;
}

function intBytes(value: number): Uint8Array<ArrayBuffer> {
  const v = new Uint8Array(4);
  new DataView(v.buffer).setInt32(0, value, true);
  return v;
}

/**
 * Reads an integer socket option.
 *
 * @param fd the socket
 * @param level e.g. `SOL_SOCKET`
 * @param name e.g. `SO_RCVBUF`
 * @returns the value
 * @throws {OsError} when the kernel refuses it
 * @example
 * ```ts ignore
 * const bytes = getIntOpt(fd, SOL_SOCKET, SO_RCVBUF);
 * ```
 */
export function getIntOpt(fd: number, level: number, name: number): number {
  const v = new Uint8Array(4);
  const len = new Uint8Array(4);
  new DataView(len.buffer).setUint32(0, 4, true);
  check(`getsockopt(${level}, ${name})`, lib().getsockopt(fd, level, name, v, len));
  return new DataView(v.buffer).getInt32(0, true);
}

/**
 * Closes a file descriptor, ignoring errors (used on cleanup paths). Negative descriptors are skipped.
 *
 * @param fd the descriptor, or -1
 * @example
 * ```ts ignore
 * closeQuietly(fd);
 * ```
 */
export function closeQuietly(fd: number): void {
  if (fd >= 0) lib().close(fd);
}

/**
 * Opens a file with FFI `open`, returning a raw descriptor (Deno.FsFile hides its fd).
 *
 * @param path the file
 * @param flags `O_*` flags
 * @returns the descriptor
 * @throws {OsError} when the open fails
 * @example
 * ```ts ignore
 * const fd = openRaw("/dev/net/tun", O_RDWR | O_CLOEXEC);
 * ```
 */
export function openRaw(path: string, flags: number): number {
  return check(`open ${path}`, lib().open(cstr(path), flags, 0));
}
