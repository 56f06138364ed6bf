// Local replies to gRPC requests, as Envoy's sendLocalReply shapes them: a
// gRPC client reads the status from `grpc-status`, not from the HTTP status,
// so the reply is HTTP 200 "Trailers-Only": content-type application/grpc,
// grpc-status mapped from the HTTP status (Envoy's Grpc::Utility::
// httpToGrpcStatus, after grpc's http-grpc-status-mapping.md), and the body
// text as a percent-encoded grpc-message; no body.
//
// Envoy's mapping, checked in its source: 400 → 13 INTERNAL, 401 → 16
// UNAUTHENTICATED, 403 → 7 PERMISSION_DENIED, 404 → 12 UNIMPLEMENTED, 429,
// 502, 503, 504 → 14 UNAVAILABLE (so a timeout is UNAVAILABLE, not
// DEADLINE_EXCEEDED), anything else → 2 UNKNOWN.

/** Envoy's Grpc::Common::hasGrpcContentType: `application/grpc`, `application/grpc+proto`, `application/grpc;...` (not grpc-web). */
export function isGrpcContentType(ct: string | undefined): boolean {
  if (ct === undefined) return false;
  const v = ct.toLowerCase();
  if (!v.startsWith("application/grpc")) return false;
  const rest = v.charAt("application/grpc".length);
  return rest === "" || rest === "+" || rest === ";";
}

export function httpToGrpcStatus(status: number): number {
  switch (status) {
    case 400:
      return 13;
    case 401:
      return 16;
    case 403:
      return 7;
    case 404:
      return 12;
    case 429:
    case 502:
    case 503:
    case 504:
      return 14;
    default:
      return 2;
  }
}

/** gRPC's percent-encoding of grpc-message: printable ASCII except `%` as is, everything else %XX of its UTF-8 bytes (bytes as they are when given bytes). */
export function grpcMessageEncode(s: string | Uint8Array): string {
  let out = "";
  for (const b of typeof s === "string" ? Buffer.from(s, "utf8") : s) {
    out += b >= 0x20 && b <= 0x7e && b !== 0x25 ? String.fromCharCode(b) : "%" + b.toString(16).toUpperCase().padStart(2, "0");
  }
  return out;
}

/**
 * The header lines (CRLF-terminated) of a Trailers-Only reply for `status` and
 * body text `body`. A gRPC-Web request's reply has the same headers with the
 * gRPC-Web content-type (Envoy's grpc_web filter rewrites the local reply's):
 * a browser client reads grpc-status from the headers of a Trailers-Only
 * response.
 */
export function grpcReplyHeaders(status: number, body: string, grpcStatus = httpToGrpcStatus(status), contentType = "application/grpc"): string {
  let h = "content-type: " + contentType + "\r\ngrpc-status: " + grpcStatus + "\r\n";
  if (body !== "") h += "grpc-message: " + grpcMessageEncode(body) + "\r\n";
  return h;
}
