// Envoy's fault filter as pure decisions (source/extensions/filters/http/fault):
// the delay is decided first (its own draw against its percentage); when it
// fires the request waits (flag DI), then the abort is decided (a second draw);
// an abort answers locally (flag FI, details `fault_filter_abort`, body
// `fault filter abort`). A gRPC abort answers HTTP 200 with the gRPC status.
// Draws are uniform in [0, 1) (Math.random in the workers, fixed in tests) and
// compared per million, as Envoy's FractionalPercent with denominator MILLION.
import type { FaultPolicy } from "../snapshot/types.ts";

export const FAULT_ABORT_BODY = "fault filter abort";

/** Does a fraction `perMillion` of requests include this draw? */
export function drawHits(perMillion: number, draw: number): boolean {
  return perMillion > 0 && Math.floor(draw * 1_000_000) < perMillion;
}

/** Milliseconds to delay the request (0: no delay). */
export function faultDelay(f: FaultPolicy | null | undefined, draw: number): number {
  if (!f || f.delayMs <= 0) return 0;
  return drawHits(f.delayPerMillion, draw) ? f.delayMs : 0;
}

export interface FaultAbort {
  status: number;
  /** gRPC status to answer with (the request is gRPC), or -1. */
  grpcStatus: number;
  /** Extra response headers (the gRPC trailers-only form), lower-case. */
  headers: [string, string][];
  body: string;
}

/** The abort to answer with, or null. `grpcRequest`: the request's content-type is application/grpc*. */
export function faultAbort(f: FaultPolicy | null | undefined, draw: number, grpcRequest: boolean): FaultAbort | null {
  if (!f || f.abortStatus === 0 || !drawHits(f.abortPerMillion, draw)) return null;
  if (f.abortGrpcStatus >= 0 && grpcRequest) {
    // Envoy's local reply for a gRPC request: trailers-only, status in the headers
    return {
      status: 200,
      grpcStatus: f.abortGrpcStatus,
      headers: [
        ["content-type", "application/grpc"],
        ["grpc-status", String(f.abortGrpcStatus)],
        ["grpc-message", FAULT_ABORT_BODY],
      ],
      body: "",
    };
  }
  return { status: f.abortStatus, grpcStatus: -1, headers: [], body: FAULT_ABORT_BODY };
}
