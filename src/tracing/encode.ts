// Finished spans as the collectors take them (pure): Zipkin API v2 JSON (a list
// of spans, timestamps and durations in integer microseconds, as Envoy's
// JsonV2Serializer writes them) and OTLP ExportTraceServiceRequest protobuf
// (written by hand: OTLP/HTTP's body, and OTLP/gRPC's message).

/** A span the gateway finished. Ids are lower-case hex. */
export interface FinishedSpan {
  traceId: string;
  spanId: string;
  /** "" for a root span. */
  parentId: string;
  tracestate: string;
  name: string;
  /** Microseconds since the epoch. */
  startUs: number;
  durationUs: number;
  /** In the order set; a later one of the same name replaces an earlier one. */
  tags: [string, string][];
}

/** Zipkin v2 JSON: the gateway's spans are CLIENT spans (Envoy's egress operation, as istiod sets a gateway's listeners). */
export function zipkinJson(spans: FinishedSpan[], serviceName: string): string {
  const out: unknown[] = [];
  for (const s of spans) {
    const tags: Record<string, string> = {};
    // Envoy's Zipkin span drops empty values (setTag)
    for (const [k, v] of s.tags) if (k !== "" && v !== "") tags[k] = v;
    const o: Record<string, unknown> = { traceId: s.traceId };
    if (s.parentId !== "") o.parentId = s.parentId;
    o.id = s.spanId;
    o.kind = "CLIENT";
    o.name = s.name;
    o.timestamp = Math.round(s.startUs);
    o.duration = Math.max(1, Math.round(s.durationUs));
    o.localEndpoint = { serviceName };
    o.tags = tags;
    out.push(o);
  }
  return JSON.stringify(out);
}

/** A protobuf writer: a growing Buffer. */
class Pb {
  buf = Buffer.allocUnsafe(1024);
  len = 0;
  private room(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const b = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.len + n));
    this.buf.copy(b, 0, 0, this.len);
    this.buf = b;
  }
  varint(v: number): void {
    this.room(10);
    while (v >= 0x80) {
      this.buf[this.len++] = (v & 0x7f) | 0x80;
      v = Math.floor(v / 128);
    }
    this.buf[this.len++] = v;
  }
  tag(field: number, wire: number): void {
    this.varint(field * 8 + wire);
  }
  bytes(field: number, b: Uint8Array): void {
    this.tag(field, 2);
    this.varint(b.length);
    this.room(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }
  string(field: number, s: string): void {
    this.bytes(field, Buffer.from(s, "utf8"));
  }
  fixed64(field: number, v: bigint): void {
    this.tag(field, 1);
    this.room(8);
    this.buf.writeBigUInt64LE(v, this.len);
    this.len += 8;
  }
  /** A nested message written by `f`. */
  message(field: number, f: (w: Pb) => void): void {
    const w = new Pb();
    f(w);
    this.bytes(field, w.buf.subarray(0, w.len));
  }
  done(): Buffer {
    return this.buf.subarray(0, this.len);
  }
}

function keyValue(w: Pb, field: number, k: string, v: string): void {
  // KeyValue{key = 1, value = 2: AnyValue{string_value = 1}}
  w.message(field, (kv) => {
    kv.string(1, k);
    kv.message(2, (av) => av.string(1, v));
  });
}

/** SPAN_KIND_CLIENT */
const KIND_CLIENT = 3;

/** OTLP ExportTraceServiceRequest{resource_spans = 1} with one ResourceSpans (service.name) and one ScopeSpans. */
export function otlpProto(spans: FinishedSpan[], serviceName: string): Buffer {
  const w = new Pb();
  w.message(1, (rs) => {
    // ResourceSpans{resource = 1, scope_spans = 2}; Resource{attributes = 1}
    rs.message(1, (res) => keyValue(res, 1, "service.name", serviceName));
    rs.message(2, (ss) => {
      // ScopeSpans{scope = 1, spans = 2}
      for (const s of spans) {
        ss.message(2, (sp) => {
          // Span{trace_id 1, span_id 2, trace_state 3, parent_span_id 4, name 5, kind 6, start 7, end 8, attributes 9}
          sp.bytes(1, Buffer.from(s.traceId.length === 32 ? s.traceId : "0000000000000000" + s.traceId, "hex"));
          sp.bytes(2, Buffer.from(s.spanId, "hex"));
          if (s.tracestate !== "") sp.string(3, s.tracestate);
          if (s.parentId !== "") sp.bytes(4, Buffer.from(s.parentId, "hex"));
          sp.string(5, s.name);
          sp.tag(6, 0);
          sp.varint(KIND_CLIENT);
          const start = BigInt(Math.round(s.startUs)) * 1000n;
          sp.fixed64(7, start);
          sp.fixed64(8, start + BigInt(Math.max(0, Math.round(s.durationUs))) * 1000n);
          // Envoy's OpenTelemetry span keeps one value per key (setTag overwrites)
          const seen = new Map<string, string>();
          for (const [k, v] of s.tags) if (k !== "") seen.set(k, v);
          for (const [k, v] of seen) keyValue(sp, 9, k, v);
        });
      }
    });
  });
  return w.done();
}

/** A gRPC message frame: not compressed, 4-byte length, the message. */
export function grpcFrame(msg: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(5 + msg.length);
  out[0] = 0;
  out.writeUInt32BE(msg.length, 1);
  out.set(msg, 5);
  return out;
}
