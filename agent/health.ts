/**
 * The healthz listener: `/healthz` and `/readyz` exactly as flanneld answers them, plus `/status` (JSON: our
 * lease, the backend and the peers with their per-peer state) and `/metrics` (Prometheus text), which upstream
 * lacks.
 *
 * @module
 */
import type { Logger } from "../cli/log.ts";

/** What the listener reports; read on every request. */
export interface HealthSource {
  ready(): boolean;
  status(): unknown;
  /** Prometheus exposition text; `/metrics` answers 404 without it. */
  metrics?(): string;
}

const TEXT = { "content-type": "text/plain; charset=utf-8" };

/** Routes a request; exported for tests. */
export function handleHealth(request: Request, source: HealthSource): Response {
  const path = new URL(request.url).pathname;
  switch (path) {
    case "/healthz":
      return new Response("flanneld is running", { headers: TEXT });
    case "/readyz":
      return source.ready()
        ? new Response("flanneld is ready", { headers: TEXT })
        : new Response("flanneld is not ready yet", { status: 503, headers: TEXT });
    case "/status":
      return Response.json(source.status(), {
        headers: { "content-type": "application/json" },
      });
    case "/metrics":
      if (source.metrics) {
        return new Response(source.metrics(), {
          headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8" },
        });
      }
      return new Response("404 page not found\n", { status: 404, headers: TEXT });
    default:
      return new Response("404 page not found\n", { status: 404, headers: TEXT });
  }
}

/** Starts the listener on `ip:port`; dispose it to stop (3 s grace, as upstream). */
export function serveHealth(
  ip: string,
  port: number,
  source: HealthSource,
  logger: Logger,
): AsyncDisposable & { readonly port: number } {
  const server = Deno.serve({
    hostname: ip,
    port,
    onListen: ({ hostname, port }) => logger.info("Serving healthz", { address: `${hostname}:${port}` }),
  }, (request) => handleHealth(request, source));
  return {
    port: server.addr.port,
    async [Symbol.asyncDispose]() {
      await Promise.race([server.shutdown(), new Promise((r) => setTimeout(r, 3000))]);
    },
  };
}
