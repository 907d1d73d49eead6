/**
 * libc and kernel constants for sockets, descriptors, `poll`, `eventfd`, namespaces and errno, spelled as in the
 * uapi and glibc headers (Linux x86_64/arm64 values). The one place they are declared: the netlink library and
 * the udp data path both take them from here.
 *
 * @example Flags for a raw netlink socket
 * ```ts
 * import { SOCK_CLOEXEC, SOCK_RAW } from "./consts.ts";
 * const type = SOCK_RAW | SOCK_CLOEXEC;
 * ```
 *
 * @module
 */

// linux/socket.h: address families (rtnetlink messages carry them too)
export const AF_UNSPEC = 0;
export const AF_INET = 2;
export const AF_BRIDGE = 7;
export const AF_INET6 = 10;
export const AF_NETLINK = 16;

// sys/socket.h
export const SOCK_DGRAM = 2;
export const SOCK_RAW = 3;
export const SOCK_CLOEXEC = 0x80000;
export const SOCK_NONBLOCK = 0x800;
export const SOL_SOCKET = 1;
export const SO_SNDBUF = 7;
export const SO_RCVBUF = 8;
export const SO_SNDBUFFORCE = 32;
export const SO_RCVBUFFORCE = 33;
export const MSG_TRUNC = 0x20;
export const MSG_DONTWAIT = 0x40;

// fcntl.h, sched.h
export const O_RDONLY = 0;
export const O_RDWR = 2;
export const O_NONBLOCK = 0x800;
export const O_CLOEXEC = 0x80000;
export const CLONE_NEWNET = 0x40000000;

// sys/eventfd.h, poll.h
export const EFD_CLOEXEC = 0x80000;
export const EFD_NONBLOCK = 0x800;
export const POLLIN = 0x1;
export const POLLOUT = 0x4;
export const POLLERR = 0x8;
export const POLLHUP = 0x10;

// asm-generic/errno-base.h, errno.h: the values code branches on (errno.ts names them all)
export const EPERM = 1;
export const EINTR = 4;
export const EIO = 5;
export const EBADF = 9;
export const EAGAIN = 11;
export const EINVAL = 22;
export const ENOPROTOOPT = 92;
export const EOPNOTSUPP = 95;
export const ENOBUFS = 105;
