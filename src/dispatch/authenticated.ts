// The request as the router sees it after RequestAuthentication: at a gateway
// Istio's jwt_authn clears Envoy's route cache, so the route is chosen again
// with the headers jwt_authn set (outputClaimToHeaders, outputPayloadToHeader)
// or removed (those names when no claim fills them, the token unless
// forwardOriginalToken) and with the verified payload, which
// `@request.auth.claims` matches read. Pure.
import type { DispatchRequest } from "./decision.ts";

/** `req` with the header changes applied (a `set` name replaces every value) and `claims`. */
export function authenticatedRequest(
  req: DispatchRequest,
  set: readonly [string, string][],
  remove: readonly string[],
  claims: Record<string, unknown> | null,
): DispatchRequest {
  return {
    port: req.port,
    host: req.host,
    authority: req.authority,
    path: req.path,
    query: req.query,
    method: req.method,
    scheme: req.scheme,
    claims,
    header(name: string): string | undefined {
      for (let i = set.length - 1; i >= 0; i--) if (set[i]![0].toLowerCase() === name) return set[i]![1];
      for (let i = 0; i < remove.length; i++) if (remove[i]!.toLowerCase() === name) return undefined;
      return req.header(name);
    },
  };
}

/** Does applying `set`/`remove` (or the claims) change what a route could see of `req`? */
export function authnChangesRequest(req: DispatchRequest, set: readonly [string, string][], remove: readonly string[], claims: Record<string, unknown> | null): boolean {
  if (claims !== null || set.length > 0) return true;
  for (let i = 0; i < remove.length; i++) if (req.header(remove[i]!.toLowerCase()) !== undefined) return true;
  return false;
}
