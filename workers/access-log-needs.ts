// What the sinks of an access-log configuration read of a response beyond the
// record's fields: the response headers to keep (%RESP(X)%, CEL
// response.headers['x']) and whether trailers are kept (%TRAILER(X)%, CEL
// response.trailers['x']); gRPC status (%GRPC_STATUS%, CEL
// response.grpc_status) needs both grpc-status places. Worked out once per
// configuration, so an exchange keeps nothing when no sink asks. `tls`: some
// sink reads the downstream TLS connection (its facts are then read at the
// handshake, while the socket is there: a TCP session's line, or a request's
// after the client left, is written once it is gone).
import { OPS, type CelNode, type JsonNode, type LogFormat, type Part } from "../src/snapshot/access-log.ts";

const RESP = OPS.indexOf("RESP");
const TRAILER = OPS.indexOf("TRAILER");
const GRPC_STATUS = OPS.indexOf("GRPC_STATUS");
const GRPC_STATUS_NUMBER = OPS.indexOf("GRPC_STATUS_NUMBER");

export interface LogNeeds {
  /** Response header names to keep (lower case); empty: none. */
  respNames: string[];
  trailers: boolean;
  tls: boolean;
}

const TLS_OPS = new Set(OPS.filter((o) => o.startsWith("DOWNSTREAM_TLS_") || o.startsWith("DOWNSTREAM_PEER_") || (o.startsWith("DOWNSTREAM_LOCAL_") && o.endsWith("_SAN")) || o === "DOWNSTREAM_LOCAL_SUBJECT").map((o) => OPS.indexOf(o)));
const TLS_ATTRS = /^connection\.(tls_version|subject_|uri_san_|dns_san_|sha256_)/;

/** The record's own field, never kept from the head. */
const FROM_RECORD = "x-envoy-upstream-service-time";

type Flags = { trailers: boolean; tls: boolean };

function parts(ps: Part[], n: Set<string>, t: Flags): void {
  for (const p of ps) {
    if (typeof p === "string") continue;
    if (TLS_OPS.has(p.op)) t.tls = true;
    if (p.op === RESP) for (const h of p.names) if (h !== FROM_RECORD) n.add(h);
    if (p.op === TRAILER) t.trailers = true;
    if (p.op === GRPC_STATUS || p.op === GRPC_STATUS_NUMBER) {
      n.add("grpc-status");
      t.trailers = true;
    }
  }
}

function json(j: JsonNode, n: Set<string>, t: Flags): void {
  if (j.k === "fmt") parts(j.parts, n, t);
  else if (j.k === "obj") for (const v of j.vals) json(v, n, t);
}

function cel(c: CelNode, n: Set<string>, t: Flags): void {
  switch (c.k) {
    case "respHeader":
      if (c.name !== FROM_RECORD) n.add(c.name);
      return;
    case "trailer":
      t.trailers = true;
      return;
    case "attr":
      if (TLS_ATTRS.test(c.name)) t.tls = true;
      if (c.name === "response.grpc_status") {
        n.add("grpc-status");
        t.trailers = true;
      }
      return;
    case "not":
    case "neg":
      return cel(c.x, n, t);
    case "and":
    case "or":
    case "cmp":
      cel(c.a, n, t);
      return cel(c.b, n, t);
    case "in":
      cel(c.a, n, t);
      for (const x of c.list) cel(x, n, t);
      return;
    case "call":
      cel(c.target, n, t);
      return cel(c.arg, n, t);
    case "cond":
      cel(c.c, n, t);
      cel(c.a, n, t);
      return cel(c.b, n, t);
  }
}

export function logNeeds(sinks: { format: LogFormat; filter: CelNode | null }[]): LogNeeds {
  const n = new Set<string>();
  const t: Flags = { trailers: false, tls: false };
  for (const s of sinks) {
    if (s.format.kind === "text") parts(s.format.parts, n, t);
    else if (s.format.kind === "json") json(s.format.root, n, t);
    if (s.filter !== null) cel(s.filter, n, t);
  }
  return { respNames: [...n], trailers: t.trailers, tls: t.tls };
}
