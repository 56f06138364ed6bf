// The trace context fields of a request (b3, x-b3-*, traceparent, tracestate,
// x-client-trace-id), read in one pass over the kinds fields.ts gave them at
// parse: what workers/tracing.ts asks of a request when its trace starts,
// without a scan of every field name per header asked (RequestHead.header).
import { R_TRACE, TRACE_NAMES } from "./fields.ts";
import type { RequestHead } from "./parse-request.ts";

/** The last head read's values by kind − R_TRACE (repeated fields joined with ",", as RequestHead.header joins them). */
const values: (string | undefined)[] = [undefined, undefined, undefined, undefined, undefined, undefined, undefined, undefined];

/** Read `h`'s trace fields; traceField answers for it until the next call. */
export function readTraceFields(h: RequestHead): void {
  values.fill(undefined);
  const kinds = h.kinds;
  const n = h.count;
  for (let k = 0; k < n; k++) {
    const i = kinds[k]! - R_TRACE;
    if (!(i >= 0)) continue; // (a kind past the array: NaN)
    const v = h.value(k);
    const was = values[i];
    values[i] = was === undefined ? v : was + "," + v;
  }
}

/** The value of trace field `name` (lower-case) of the head readTraceFields read last; another name: undefined. */
export function traceField(name: string): string | undefined {
  const i = (TRACE_NAMES as readonly string[]).indexOf(name);
  return i < 0 ? undefined : values[i];
}
