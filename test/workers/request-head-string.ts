// The upstream request head as a JS string, as heads-out.ts built it before
// request-head-bytes.ts: the oracle the byte path is compared against in
// request-head-bytes.test.ts (not used by the workers).
import type { HeaderOperations } from "../../src/snapshot/types.ts";
import { R_HOST, R_OTHER, R_REQUEST_ID, R_XFF } from "../../workers/http/fields.ts";
import { type ForwardIds, hasOps, opLines, overridden, requestId } from "../../workers/http/heads-out.ts";
import type { RequestHead } from "../../workers/http/parse-request.ts";

function setIds(ids: ForwardIds, xff: string, rid: string, clientIp: string): void {
  ids.xff = xff === "" ? clientIp : xff + ", " + clientIp;
  ids.requestId = rid === "" ? requestId() : rid;
}

/**
 * The request head for the upstream. `target` is the (possibly rewritten) path
 * with query; `clientIp` is appended to x-forwarded-for. Header lines that pass
 * are copied as received, in runs (spans from the parse); fills `ids`.
 */
export function upstreamRequestHead(
  h: RequestHead,
  target: string,
  authority: string,
  clientIp: string,
  originalPath: string,
  ops: HeaderOperations,
  ids: ForwardIds,
  xfcc = "",
): string {
  let out = h.method + " " + target + " HTTP/1.1\r\n";
  const raw = h.text();
  const sp = h.spans;
  const kinds = h.kinds;
  const keepHost = h.hostHeader !== "" && authority === h.hostHeader;
  let run = -1;
  let xff = "";
  let rid = "";
  const n = h.count;
  const nominated = h.nominated;
  const withOps = hasOps(ops);
  for (let k = 0; k < n; k++) {
    let keep = false;
    switch (kinds[k]) {
      case R_HOST:
        keep = keepHost;
        break;
      case R_XFF:
        xff = xff === "" ? h.value(k) : xff + ", " + h.value(k);
        break;
      case R_REQUEST_ID:
        if (rid === "") rid = h.value(k);
        break;
      case R_OTHER:
        if (nominated === null && !withOps) keep = true;
        else {
          const name = h.name(k).toLowerCase();
          keep = !(nominated !== null && nominated.includes(name)) && !(withOps && overridden(ops, name));
        }
        break;
      // connection, upgrade, expect, content-length, transfer-encoding, hop-by-hop: re-framed or dropped
    }
    if (keep) {
      if (run < 0) run = sp[4 * k]!;
    } else if (run >= 0) {
      out += raw.slice(run, sp[4 * k]!);
      run = -1;
    }
  }
  if (run >= 0) out += raw.slice(run, sp[4 * n]!);
  if (!keepHost) out += "host: " + authority + "\r\n";
  if (withOps) out += opLines(ops);
  setIds(ids, xff, rid, clientIp);
  out += "x-forwarded-for: " + ids.xff + "\r\nx-forwarded-proto: " + h.scheme + "\r\nx-request-id: " + ids.requestId + "\r\n";
  if (originalPath !== "") out += "x-envoy-original-path: " + originalPath + "\r\n";
  if (xfcc !== "") out += "x-forwarded-client-cert: " + xfcc + "\r\n";
  if (h.teTrailers && !(withOps && overridden(ops, "te"))) out += "te: trailers\r\n";
  if (h.chunked) out += "transfer-encoding: chunked\r\n";
  else if (h.contentLength >= 0) out += "content-length: " + h.contentLength + "\r\n";
  if (h.upgrade !== "") out += "connection: upgrade\r\nupgrade: " + h.header("upgrade") + "\r\n";
  return out + "\r\n";
}

