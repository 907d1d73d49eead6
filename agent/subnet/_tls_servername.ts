/**
 * Lets the etcd client reach `https://<IP>:2379` endpoints.
 *
 * grpc-js passes the endpoint's host as the TLS `servername` (SNI). Node only warns when that is an IP address
 * (RFC 6066 forbids IP addresses in SNI); Deno's `node:tls` refuses it outright, so every TLS connection to an
 * etcd given by IP — the usual way flannel is configured — would fail. Dropping an IP `servername` sends no SNI,
 * and certificate verification still checks the IP against the certificate's subjectAltName (the `host`
 * option), as a test with a wrong CA and with a matching one confirms.
 *
 * @module
 */
import net from "node:net";
import tls from "node:tls";

let installed = false;

/** Patches `tls.connect` once per process. */
export function allowIpEndpointsOverTls(): void {
  if (installed) return;
  installed = true;
  const original = tls.connect;
  const patched = function (this: unknown, ...args: unknown[]) {
    for (const arg of args) {
      if (arg && typeof arg === "object" && !Array.isArray(arg)) {
        const options = arg as { servername?: unknown };
        if (typeof options.servername === "string" && net.isIP(options.servername)) delete options.servername;
      }
    }
    return (original as (...a: unknown[]) => tls.TLSSocket).apply(this, args);
  };
  (tls as { connect: unknown }).connect = patched;
}
