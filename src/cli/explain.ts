// `gateway explain --config DIR --host H --path P [--port N] [--header k=v] [--method M]
// [--sni S] [--alpn P,...]`: one request walked through the compiled snapshot, every decision printed.
import { UsageError, type Options } from "./args.ts";
import { formatFinding, loadAndBuild } from "../primary/pipeline.ts";
import { REPLIES } from "../dispatch/replies.ts";
import { trace, type TraceResult } from "../trace.ts";
import type { Endpoint } from "../snapshot/types.ts";
import { JwksCache } from "../security/jwks-cache.ts";
import { explainSecurity, formatSecurity } from "../security/explain.ts";
import { normalizePath } from "../route/normalize-path.ts";
import { chosenRoute, describePolicies } from "./explain-policy.ts";

function one(o: Options, name: string): string | undefined {
  return o.extra.get(name)?.at(-1);
}

/**
 * `--alpn`: the protocols the ClientHello offers, comma separated or the flag
 * repeated, in order (`--alpn ""`: a hello offering none). Not given: not
 * known, and a filter chain's ALPN condition (AUTO_PASSTHROUGH's) is not applied.
 */
export function alpnList(values: string[] | undefined): string[] | undefined {
  if (values === undefined) return undefined;
  const out: string[] = [];
  for (const v of values) {
    for (const p of v.split(",")) {
      const name = p.trim();
      if (name === "") continue;
      if (Buffer.byteLength(name) > 255) throw new UsageError(`explain: --alpn protocol names are at most 255 bytes, got ${Buffer.byteLength(name)}`);
      out.push(name);
    }
  }
  return out;
}

/** `locality r1/z1, priority 1[, locality weight 70]` of an endpoint of a locality-balanced cluster. */
export function endpointLocality(e: Endpoint): string {
  const w = e.localityWeight === undefined ? "" : `, locality weight ${e.localityWeight}`;
  return `locality ${e.locality ?? "-"}, priority ${e.priority ?? 0}${w}`;
}

export function formatTrace(t: TraceResult, policies: string[] = []): string {
  const lines: string[] = [];
  lines.push(`listener:      ${t.listener ?? "(none)"}`);
  if (t.chain !== null) lines.push(`filter chain:  ${t.chain}`);
  if (t.routeTable !== null) lines.push(`route table:   ${t.routeTable}`);
  if (t.listener !== null) lines.push(`virtual host:  ${t.virtualHost ?? "(none)"}`);
  for (const c of t.considered) lines.push(`  route ${c.index} ${c.name} (${c.source}): ${c.matched ? "MATCH" : "no"} — ${c.reason}`);
  if (t.route !== null) lines.push(`route:         ${t.route}`);
  for (const d of t.destinations) {
    // locality load balancing at work (priorities, locality weights): each endpoint's locality, priority and weight too
    const byLocality = d.endpoints.some((e) => (e.priority ?? 0) > 0 || e.localityWeight !== undefined);
    const eps = d.endpoints.map((e) => `${e.address}:${e.port}${byLocality ? ` (${endpointLocality(e)})` : ""}`).join(", ") || "(no endpoints)";
    lines.push(`destination:   ${d.cluster} weight ${d.weight} → ${eps}`);
  }
  lines.push(...policies);
  if (t.reply !== null) {
    const r = REPLIES[t.reply];
    lines.push(`local reply:   ${r.code} (flag ${r.flag}, details ${r.details})`);
  }
  lines.push(`result:        ${t.status === 0 ? "-" : t.status} ${t.outcome}: ${t.reason}`);
  return lines.join("\n") + "\n";
}

export async function explainCommand(o: Options): Promise<number> {
  const host = one(o, "--host");
  const path = one(o, "--path") ?? "/";
  if (host === undefined) throw new UsageError("explain: --host is required");
  const portStr = one(o, "--port") ?? "80";
  if (!/^\d+$/.test(portStr)) throw new UsageError("explain: --port is a number");
  const headers: Record<string, string> = {};
  for (const h of o.extra.get("--header") ?? []) {
    const i = h.search(/[=:]/);
    if (i <= 0) throw new UsageError(`explain: --header expects k=v, got "${h}"`);
    headers[h.slice(0, i).trim().toLowerCase()] = h.slice(i + 1).trim();
  }
  const built = loadAndBuild(o, 1);
  if (!built.ok) {
    for (const e of built.errors) process.stderr.write(formatFinding(e) + "\n");
    return 1;
  }
  const sni = one(o, "--sni");
  const alpn = alpnList(o.extra.get("--alpn"));
  const scheme = one(o, "--scheme"); // default: https on a TLS port, else http (what the worker sees)
  const request = {
    port: Number(portStr),
    host,
    path,
    method: one(o, "--method") ?? "GET",
    headers,
    ...(scheme !== undefined ? { scheme } : {}),
    pathNormalization: o.pathNormalization,
    ...(sni !== undefined ? { sni } : {}),
    ...(alpn !== undefined ? { alpn } : {}),
  };
  const t = trace(built.snapshot, request);
  // RequestAuthentication / AuthorizationPolicy: keys of jwksUri fetched as the gateway would
  const sec = built.snapshot.security;
  await new JwksCache().fill(sec);
  const port = Number(portStr);
  // the path the workers check: normalized as routed (a path they refuse with 400 is not checked)
  const q = path.indexOf("?");
  const checked = normalizePath(q < 0 ? path : path.slice(0, q), o.pathNormalization);
  const security = checked === null ? null : await explainSecurity(
    sec,
    {
      method: one(o, "--method") ?? "GET",
      authority: host,
      path: q < 0 ? checked : checked + path.slice(q),
      headers,
      scheme: one(o, "--scheme") ?? "http",
      port: o.portMap.get(port) ?? port,
      sourceIp: one(o, "--source-ip") ?? "127.0.0.1",
      principal: (one(o, "--principal") ?? "").replace(/^spiffe:\/\//, ""),
      sni: sni ?? "",
    },
    Math.floor(Date.now() / 1000),
  );
  // a verified token: the workers choose the route again with its claims and header changes
  const after = security?.authn == null ? null : trace(built.snapshot, { ...request, authn: security.authn });
  // the chosen route's traffic policies (timeout, retries, fault, mirrors, CORS)
  const final = after ?? t;
  const route = chosenRoute(built.snapshot, final.routeTable, final.virtualHost, final.routeIndex);
  if (o.extra.get("-o")?.at(-1) === "json") {
    const policies = route === null ? {} : { timeoutMs: route.timeoutMs, retryPolicy: route.retry ?? null, fault: route.fault ?? null, mirrors: route.mirrors ?? [], cors: route.cors ?? null };
    const out = { ...t, ...(route === null ? {} : { policies }), ...(security === null ? {} : { security }), ...(after === null ? {} : { afterAuthentication: after }) };
    process.stdout.write(JSON.stringify(out, null, 2) + "\n");
    return 0;
  }
  let text = formatTrace(t, after === null && route !== null ? describePolicies(route) : []);
  if (security !== null) text += formatSecurity(security).join("\n") + "\n";
  if (after !== null) text += "after authentication (the route chosen again with the token's claims and headers):\n" + formatTrace(after, route === null ? [] : describePolicies(route));
  process.stdout.write(text);
  return 0;
}
