// `explain`: the traffic policies of the route a request hits — timeout,
// retry policy, fault, mirrors, CORS — one line each, as the worker applies them.
import type { Route, Snapshot, StringMatch } from "../snapshot/types.ts";

/** The route a trace chose, found by its route table, virtual host and index; null when none. */
export function chosenRoute(s: Snapshot, routeTable: string | null, virtualHost: string | null, index: number): Route | null {
  if (routeTable === null || virtualHost === null || index < 0) return null;
  for (const l of s.listeners) {
    const tables = [l.routeTable, ...(l.tls?.chains.map((c) => c.routeTable) ?? [])];
    for (const t of tables) {
      if (t === null || t.name !== routeTable) continue;
      const vh = t.virtualHosts.find((v) => v.name === virtualHost);
      if (vh !== undefined && index < vh.routes.length) return vh.routes[index]!;
    }
  }
  return null;
}

function pct(perMillion: number): string {
  return `${perMillion / 10_000}%`;
}

function origin(m: StringMatch): string {
  return m.kind === "regex" ? `regex ${m.source}` : `${m.kind} ${m.value}`;
}

/** Lines `timeout: …`, `retries: …`, `fault: …`, `mirror: …`, `cors: …` for a route. */
export function describePolicies(r: Route): string[] {
  const out: string[] = [];
  const fwd = r.action.kind === "forward";
  if (fwd) out.push(`timeout:       ${r.timeoutMs > 0 ? `${r.timeoutMs}ms (whole response, 504 UT)` : "none"}`);
  if (fwd) {
    const p = r.retry;
    if (!p) out.push("retries:       none (attempts: 0)");
    else {
      const on = [...p.retryOn.filter((c) => c !== "retriable-status-codes" || p.retriableStatusCodes.length === 0), ...p.retriableStatusCodes.map(String)];
      const parts = [`${p.numRetries} retr${p.numRetries === 1 ? "y" : "ies"} on ${on.join(",")}`];
      if (p.perTryTimeoutMs > 0) parts.push(`per try ${p.perTryTimeoutMs}ms`);
      if (p.retryPreviousHosts) parts.push("another endpoint each time");
      parts.push(`back-off ${p.backoffBaseMs}-${p.backoffMaxMs}ms`);
      out.push(`retries:       ${parts.join(", ")}${p.isDefault ? " (Istio's default policy)" : ""}`);
    }
  }
  const f = r.fault;
  if (f) {
    const parts: string[] = [];
    if (f.delayMs > 0) parts.push(`delay ${f.delayMs}ms for ${pct(f.delayPerMillion)}`);
    if (f.abortStatus > 0) parts.push(`abort ${f.abortGrpcStatus >= 0 ? `grpc-status ${f.abortGrpcStatus}` : f.abortStatus} for ${pct(f.abortPerMillion)}`);
    out.push(`fault:         ${parts.join(", ")}`);
  }
  for (const m of r.mirrors ?? []) out.push(`mirror:        ${m.cluster} for ${pct(m.perMillion)} (fire-and-forget, Host unchanged)`);
  const c = r.cors;
  if (c) {
    const parts = [`origins ${c.allowOrigins.map(origin).join(", ") || "(none)"}`];
    if (c.allowMethods !== "") parts.push(`methods ${c.allowMethods}`);
    if (c.allowHeaders !== "") parts.push(`headers ${c.allowHeaders}`);
    if (c.exposeHeaders !== "") parts.push(`expose ${c.exposeHeaders}`);
    if (c.maxAge !== "") parts.push(`max-age ${c.maxAge}`);
    if (c.allowCredentials) parts.push("credentials");
    parts.push(c.forwardNotMatchingPreflights ? "other preflights forwarded" : "other preflights answered without CORS headers");
    out.push(`cors:          ${parts.join("; ")}`);
  }
  return out;
}
