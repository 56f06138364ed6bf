// The CUSTOM action's HTTP call, as Envoy's ext_authz filter makes it to an
// Istio `envoyExtAuthzHttp` provider: the request's method, pathPrefix + path,
// Host, the headers the provider includes, Content-Length 0 and no body. 200 →
// allowed (headersToUpstreamOnAllow copied to the upstream request); another
// status → denied with that status, body and headersToDownstreamOnDeny; an
// error, a timeout or a 5xx → statusOnError (403), or allowed when failOpen.
import { matchesAny } from "./matchers.ts";
import type { ExtAuthzProvider } from "./types.ts";

export interface ExtAuthzRequest {
  method: string;
  authority: string;
  /** Path with query, as received (normalized). */
  target: string;
  /** Every request header as [lower-case name, value]. */
  headers: [string, string][];
}

export type ExtAuthzResult =
  | { allow: true; upstream: [string, string][]; error: string }
  | { allow: false; status: number; body: string; headers: [string, string][]; error: string };

/** Headers of a denial the gateway frames itself. */
const FRAMING = new Set(["content-length", "content-type", "transfer-encoding", "connection", "keep-alive", "date", "server", "host"]);

/** The request the provider receives (exported for tests and explain). */
export function checkRequestHeaders(p: ExtAuthzProvider, req: ExtAuthzRequest): [string, string][] {
  const out: [string, string][] = [["host", req.authority]];
  if (p.includeRequestHeadersInCheck.length > 0) {
    for (const [n, v] of req.headers) {
      if (n === "host" || n === "content-length") continue;
      if (matchesAny(p.includeRequestHeadersInCheck, n)) out.push([n, v]);
    }
  }
  for (const [n, v] of p.includeAdditionalHeadersInCheck) out.push([n.toLowerCase(), v]);
  out.push(["content-length", "0"]);
  return out;
}

/** Ask the provider at `endpoint` (`host:port`). Never throws. */
export async function checkExtAuthz(p: ExtAuthzProvider, endpoint: string, req: ExtAuthzRequest): Promise<ExtAuthzResult> {
  const onError = (error: string): ExtAuthzResult =>
    p.failOpen ? { allow: true, upstream: [], error } : { allow: false, status: p.statusOnError, body: "", headers: [], error };
  if (endpoint === "") return onError("no endpoint");
  let res: Response;
  let body: string;
  try {
    // inside the try: a value fetch refuses (bytes it cannot send) is an error, not a throw
    const headers = new Headers();
    for (const [n, v] of checkRequestHeaders(p, req)) headers.append(n, v);
    const method = req.method === "CONNECT" ? "GET" : req.method;
    res = await fetch(`http://${endpoint}${p.pathPrefix}${req.target}`, {
      method,
      headers,
      body: method === "GET" || method === "HEAD" ? undefined : "",
      redirect: "manual",
      decompress: false,
      signal: AbortSignal.timeout(Math.max(1, p.timeoutMs)),
    } as RequestInit);
    body = req.method === "HEAD" ? "" : await res.text();
  } catch (err) {
    return onError(err instanceof Error ? err.name === "TimeoutError" ? "timeout" : err.message : String(err));
  }
  // Envoy counts a 5xx from the authorization service as an error, not a denial
  if (res.status >= 500) return onError(`HTTP ${res.status}`);
  const got: [string, string][] = [];
  res.headers.forEach((v, n) => got.push([n.toLowerCase(), v]));
  if (res.status === 200) {
    const upstream = p.headersToUpstreamOnAllow.length === 0 ? [] : got.filter(([n]) => n !== "host" && matchesAny(p.headersToUpstreamOnAllow, n));
    return { allow: true, upstream, error: "" };
  }
  const down = got.filter(([n]) => !FRAMING.has(n) && (p.headersToDownstreamOnDeny.length === 0 || matchesAny(p.headersToDownstreamOnDeny, n)));
  return { allow: false, status: res.status, body, headers: down, error: "" };
}
