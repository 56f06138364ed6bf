// The hash a request gets for consistent hashing (Envoy's route hash policy,
// which Istio writes from DestinationRule consistentHash): xxHash64 of a
// header value, a cookie value, the client IP, or a query parameter. No value:
// no hash (the pick is then random, as Envoy's). A cookie policy with a ttl
// and no cookie in the request makes one up, as Envoy does: the hex xxHash64
// of the connection's remote and local addresses, set on the response.
import type { HashKey } from "../snapshot/upstream.ts";
import { xxHash64 } from "./consistent-hash.ts";

export interface HashSource {
  /** Request header by lower-case name; null when absent (several values: joined with `,`). */
  header(name: string): string | null;
  /** Client IP without port (the address policies use). */
  sourceIp: string;
  /** The raw query string, without `?` ("" when none). */
  query: string;
}

/** A cookie's value from a Cookie header (`a=1; b="2"`), quotes removed; null when absent. */
export function cookieValue(cookieHeader: string | null, name: string): string | null {
  if (cookieHeader === null) return null;
  for (const part of cookieHeader.split(";")) {
    const eq = part.indexOf("=");
    if (eq < 0 || part.slice(0, eq).trim() !== name) continue;
    let v = part.slice(eq + 1).trim();
    if (v.length >= 2 && v.startsWith('"') && v.endsWith('"')) v = v.slice(1, -1);
    return v;
  }
  return null;
}

/** First value of query parameter `name` (percent-decoding left as sent, as Envoy hashes it); null when absent. */
export function queryValue(query: string, name: string): string | null {
  if (query === "") return null;
  for (const part of query.split("&")) {
    const eq = part.indexOf("=");
    const k = eq < 0 ? part : part.slice(0, eq);
    if (k === name) return eq < 0 ? "" : part.slice(eq + 1);
  }
  return null;
}

/** The request's hash, or null when the key is absent from it. */
export function requestHash(key: HashKey, src: HashSource): bigint | null {
  let v: string | null;
  switch (key.kind) {
    case "header":
      v = src.header(key.name);
      break;
    case "cookie":
      v = cookieValue(src.header("cookie"), key.name);
      break;
    case "sourceIp":
      v = src.sourceIp === "" ? null : src.sourceIp;
      break;
    case "query":
      v = queryValue(src.query, key.name);
      break;
  }
  return v === null ? null : xxHash64(v);
}

/**
 * The cookie Envoy makes up for a request without one (cookie policy with a
 * ttl): its value, the hash it stands for, and the `set-cookie` header value
 * (`name="value"; Max-Age=N; Path=p; <attributes>; HttpOnly`, as Envoy's
 * makeSetCookieValue writes it: each attribute `name=value`, or `name` alone).
 */
export function generatedCookie(key: Extract<HashKey, { kind: "cookie" }>, remoteAddress: string, localAddress: string): { value: string; hash: bigint; setCookie: string } {
  const value = xxHash64(remoteAddress + localAddress).toString(16).padStart(16, "0");
  let setCookie = `${key.name}="${value}"; Max-Age=${Math.floor(key.ttlMs / 1000)}`;
  if (key.path !== "") setCookie += `; Path=${key.path}`;
  for (const a of key.attributes ?? []) setCookie += a.value === "" ? `; ${a.name}` : `; ${a.name}=${a.value}`;
  setCookie += "; HttpOnly";
  return { value, hash: xxHash64(value), setCookie };
}
