/**
 * Network namespace switching for the calling thread, the way vishvananda's `NewHandleAt` does it: sockets and
 * TUN devices are bound to the namespace they were created in, so switching only while creating them is enough.
 *
 * @module
 */
import { check, closeQuietly, cstr, errno, lib, OsError } from "./ffi.ts";
import { CLONE_NEWNET, O_CLOEXEC, O_RDONLY } from "./consts.ts";

/**
 * The inode of the calling thread's network namespace, for asserting that a switch was undone.
 *
 * @returns the inode, or -1 when the platform gives none
 * @example
 * ```ts ignore
 * const before = currentNetnsInode();
 * withNetns("lab1", () => {});
 * assert.equal(currentNetnsInode(), before);
 * ```
 */
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
 *
 * @param netns a name under /run/netns, or a path such as /proc/PID/ns/net
 * @param fn what to run inside it (synchronous)
 * @returns what `fn` returned
 * @throws {OsError} when the namespace cannot be entered or left
 * @example
 * ```ts ignore
 * const fd = withNetns("lab1", () => check("socket", lib().socket(AF_INET, SOCK_DGRAM, 0)));
 * ```
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
