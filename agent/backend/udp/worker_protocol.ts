/**
 * Messages and shared memory between the udp proxy's main-thread handle (`udp/proxy.ts`) and its data-path
 * worker (`udp/worker.ts`). Separate from the worker module, whose top level installs the worker's handler.
 *
 * @module
 */
import type { UdpPeerRoute } from "./routes.ts";

/** Indexes into the shared control array (Int32): stop request, route updates posted but not yet applied. */
export const CONTROL = { STOP: 0, PENDING: 1 } as const;

/** The first message: descriptors and shared memory. */
export interface WorkerInit {
  readonly type: "init";
  readonly tunFd: number;
  readonly sockFd: number;
  /** eventfd the worker polls besides the TUN and the socket: signalled on every command and on stop. */
  readonly ctlFd: number;
  readonly port: number;
  readonly tunAddr: number;
  /** Datagrams per system call. */
  readonly batch: number;
  /** Use UDP GSO for sends and UDP GRO for receives (see `MmsgIo`). */
  readonly offload: boolean;
  /** Float64 counters, indexed by `STAT`. */
  readonly stats: SharedArrayBuffer;
  /** Int32 flags, indexed by {@linkcode CONTROL}. */
  readonly control: SharedArrayBuffer;
  readonly routes: readonly UdpPeerRoute[];
}

/** Later messages from the main thread. */
export type WorkerCommand = { readonly type: "routes"; readonly routes: readonly UdpPeerRoute[] };

/** Messages to the main thread. */
export type WorkerEvent =
  | { readonly type: "log"; readonly message: string; readonly fields: Record<string, unknown> }
  | { readonly type: "stopped" }
  | { readonly type: "error"; readonly message: string };
