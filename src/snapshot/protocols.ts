// Which server protocols are routed as HTTP or terminate TLS: one copy for
// decode/compile (primary) and the workers' listeners.
import type { ServerProtocol } from "./types.ts";

export function isHTTPProtocol(p: ServerProtocol): boolean {
  return p === "HTTP" || p === "HTTP2" || p === "GRPC";
}

export function isTLSProtocol(p: ServerProtocol): boolean {
  return p === "HTTPS" || p === "TLS";
}
