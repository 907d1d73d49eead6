/**
 * libc bindings for the netlink socket, the namespace switch and TUN devices. Internal: the rest of the library
 * goes through the small wrappers below, which turn `-1` into an {@link OsError} carrying errno.
 *
 * errno is per thread, so it is only read right after a failed *synchronous* call on the main thread; the only
 * `nonblocking` call is `poll`, whose own errno is never needed (a failed poll simply re-polls).
 *
 * @module
 */
import { errnoName } from "./errors.ts";

const SYMBOLS = {
  socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
  bind: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  getsockname: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
  setsockopt: { parameters: ["i32", "i32", "i32", "buffer", "u32"], result: "i32" },
  getsockopt: { parameters: ["i32", "i32", "i32", "buffer", "buffer"], result: "i32" },
  sendto: { parameters: ["i32", "buffer", "usize", "i32", "buffer", "u32"], result: "isize" },
  recv: { parameters: ["i32", "buffer", "usize", "i32"], result: "isize" },
  read: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  write: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  close: { parameters: ["i32"], result: "i32" },
  open: { parameters: ["buffer", "i32", "i32"], result: "i32" },
  ioctl: { parameters: ["i32", "u64", "buffer"], result: "i32" },
  setns: { parameters: ["i32", "i32"], result: "i32" },
  eventfd: { parameters: ["u32", "i32"], result: "i32" },
  poll: { parameters: ["buffer", "u64", "i32"], result: "i32", nonblocking: true },
  __errno_location: { parameters: [], result: "pointer" },
} as const;

type Libc = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];
let libc: Libc | undefined;

/** The libc symbols, loaded on first use so that importing the library needs no `--allow-ffi`. */
export function lib(): Libc {
  libc ??= Deno.dlopen("libc.so.6", SYMBOLS).symbols;
  return libc;
}

/** A failed system call: errno number and name, and the call that failed. */
export class OsError extends Error {
  /** errno value. */
  readonly errno: number;
  /** errno name, e.g. "EAGAIN". */
  readonly code: string;
  constructor(call: string, errno: number) {
    super(`Cannot ${call}: ${errnoName(errno)} (errno ${errno})`);
    this.name = "OsError";
    this.errno = errno;
    this.code = errnoName(errno);
  }
}

/** The calling thread's errno. Only meaningful right after a failed synchronous call. */
export function errno(): number {
  const p = lib().__errno_location();
  return p === null ? 0 : new Deno.UnsafePointerView(p).getInt32();
}

/** Throws {@link OsError} when a synchronous call returned a negative value, else returns it as a number. */
export function check(call: string, ret: number | bigint): number {
  const n = Number(ret);
  if (n < 0) throw new OsError(call, errno());
  return n;
}

export const AF_NETLINK = 16;
export const SOCK_RAW = 3;
export const SOCK_DGRAM = 2;
export const SOCK_CLOEXEC = 0x80000;
export const SOCK_NONBLOCK = 0x800;
export const SOL_SOCKET = 1;
export const SO_SNDBUF = 7;
export const SO_RCVBUF = 8;
export const SO_SNDBUFFORCE = 32;
export const SO_RCVBUFFORCE = 33;
export const MSG_DONTWAIT = 0x40;
export const MSG_TRUNC = 0x20;
export const O_RDONLY = 0;
export const O_RDWR = 2;
export const O_NONBLOCK = 0x800;
export const O_CLOEXEC = 0x80000;
export const CLONE_NEWNET = 0x40000000;
export const EFD_CLOEXEC = 0x80000;
export const EFD_NONBLOCK = 0x800;
export const POLLIN = 0x1;
export const POLLOUT = 0x4;
export const POLLERR = 0x8;
export const POLLHUP = 0x10;
export const EAGAIN = 11;
export const EINTR = 4;
export const ENOBUFS = 105;
export const EPERM = 1;

/** A NUL-terminated C string. */
export function cstr(s: string): Uint8Array<ArrayBuffer> {
  const b = new TextEncoder().encode(s);
  const out = new Uint8Array(b.length + 1);
  out.set(b);
  return out;
}

/** Sets an integer socket option. */
export function setIntOpt(fd: number, level: number, name: number, value: number): void {
  const v = new Uint8Array(4);
  new DataView(v.buffer).setInt32(0, value, true);
  check(`setsockopt(${level}, ${name})`, lib().setsockopt(fd, level, name, v, 4));
}

/** Reads an integer socket option. */
export function getIntOpt(fd: number, level: number, name: number): number {
  const v = new Uint8Array(4);
  const len = new Uint8Array(4);
  new DataView(len.buffer).setUint32(0, 4, true);
  check(`getsockopt(${level}, ${name})`, lib().getsockopt(fd, level, name, v, len));
  return new DataView(v.buffer).getInt32(0, true);
}

/** Closes a file descriptor, ignoring errors (used on cleanup paths). */
export function closeQuietly(fd: number): void {
  if (fd >= 0) lib().close(fd);
}

/** The inode of the calling thread's network namespace, for asserting that a switch was undone. */
export function currentNetnsInode(): number {
  return Deno.statSync("/proc/thread-self/ns/net").ino ?? -1;
}

/**
 * Runs `fn` with the calling (main JS) thread switched into the network namespace `netns` (a name under
 * /run/netns, or a path), then switches back. Sockets and TUN devices created inside `fn` stay bound to that
 * namespace for life (vishvananda's `NewHandleAt` technique). `setns` moves only the calling thread, and all of
 * this is synchronous within one JS turn, so nothing else runs on this thread while it is switched.
 *
 * Throws if the thread cannot be switched back: a thread left in the wrong namespace would silently send every
 * later socket of the process there.
 */
export function withNetns<T>(netns: string, fn: () => T): T {
  const path = netns.includes("/") ? netns : `/run/netns/${netns}`;
  const c = lib();
  const self = check(
    "open /proc/thread-self/ns/net",
    c.open(cstr("/proc/thread-self/ns/net"), O_RDONLY | O_CLOEXEC, 0),
  );
  let target = -1;
  try {
    target = check(`open ${path}`, c.open(cstr(path), O_RDONLY | O_CLOEXEC, 0));
    check(`setns ${path}`, c.setns(target, CLONE_NEWNET));
    let result: { value: T } | { error: unknown };
    try {
      result = { value: fn() };
    } catch (error) {
      result = { error };
    }
    // Switch back before anything else can run on this thread, whatever fn did.
    if (c.setns(self, CLONE_NEWNET) < 0) throw new OsError("setns back to the original namespace", errno());
    if ("error" in result) throw result.error;
    return result.value;
  } finally {
    closeQuietly(target);
    closeQuietly(self);
  }
}

/** Opens a file with FFI `open`, returning a raw descriptor (Deno.FsFile hides its fd). */
export function openRaw(path: string, flags: number): number {
  return check(`open ${path}`, lib().open(cstr(path), flags, 0));
}
