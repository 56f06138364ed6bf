// The stream deadline of a forwarded gRPC request (src/upstream/grpc-timeout.ts):
// a timer from the request's start that ends the exchange with Envoy's
// max_stream_duration reply (gRPC DEADLINE_EXCEEDED) or, once the response
// started, a reset.
import { grpcDeadlineMs } from "../../src/upstream/grpc-timeout.ts";
import { isGrpcContentType } from "../../src/upstream/grpc-reply.ts";
import { reportError } from "../context.ts";
import type { RequestHead } from "./parse-request.ts";

export interface DeadlineUser {
  readonly head: RequestHead;
  /** ms since the exchange started (performance.now() at its start). */
  readonly t0: number;
  onDeadline(): void;
  abortOnError(): void;
}

function fire(u: DeadlineUser): void {
  try {
    u.onDeadline();
  } catch (err) {
    reportError("grpc deadline", err);
    u.abortOnError();
  }
}

/** A timer for the request's grpc-timeout (capped by `routeTimeoutMs` when > 0), or null when it is not gRPC or has none. */
export function startGrpcDeadline(u: DeadlineUser, routeTimeoutMs: number): ReturnType<typeof setTimeout> | null {
  const h = u.head;
  if (!isGrpcContentType(h.header("content-type"))) return null;
  const ms = grpcDeadlineMs(h.header("grpc-timeout"), routeTimeoutMs);
  if (ms <= 0) return null;
  return setTimeout(fire, Math.max(0, ms - (performance.now() - u.t0)), u);
}
