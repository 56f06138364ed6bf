// Host / :authority validation (RFC 9110 §7.2: uri-host [":" port]; RFC 3986
// §3.2.2: reg-name or IP-literal). A request whose authority fails gets 400
// before routing, so nothing downstream (routing, a redirect's Location, the
// upstream Host) ever carries spaces, `/`, `\`, `@`, a second colon or a huge value.
import { isIPv6 } from "node:net";

/** Longest host accepted: 255, the DNS limit on a name (RFC 1035 §2.3.4); plus `:` and 5 port digits. */
export const MAX_HOST = 255;

/** reg-name characters: unreserved, sub-delims (`%` is checked as an escape). */
const REG_NAME = new Uint8Array(128);
for (const ch of "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~!$&'()*+,;=") REG_NAME[ch.charCodeAt(0)] = 1;

function isHex(c: number): boolean {
  return (c >= 48 && c <= 57) || ((c | 0x20) >= 97 && (c | 0x20) <= 102);
}

/** `port = *DIGIT` (RFC 3986), at most 65535. `s[from..]` is the text after the colon. */
function validPort(s: string, from: number): boolean {
  const n = s.length - from;
  if (n > 5) return false;
  let v = 0;
  for (let i = from; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return false;
    v = v * 10 + (c - 48);
  }
  return v <= 65535;
}

const IPV_FUTURE = /^v[0-9a-f]+\.[a-z0-9\-._~!$&'()*+,;=:]+$/i;

/** An IPv6 address as RFC 3986 writes it (no zone: RFC 9110 has none in a Host). */
function validIPv6(s: string): boolean {
  return s.indexOf("%") < 0 && isIPv6(s);
}

/**
 * Is `a` a valid Host / :authority value: `reg-name [":" port]` or
 * `"[" IPv6 / IPvFuture "]" [":" port]`? "" is accepted (HTTP/1.0, or a Host
 * sent empty); the caller decides whether a Host is required.
 */
export function validAuthority(a: string): boolean {
  const n = a.length;
  if (n === 0) return true;
  if (n > MAX_HOST + 6) return false; // host, ":", 5 digits: no need to read a 50 KB value

  if (a.charCodeAt(0) === 91 /* [ */) {
    const close = a.indexOf("]");
    if (close < 2 || close > MAX_HOST) return false;
    if (close + 1 < n && (a.charCodeAt(close + 1) !== 58 || !validPort(a, close + 2))) return false;
    const inside = a.slice(1, close);
    return validIPv6(inside) || IPV_FUTURE.test(inside);
  }
  let i = 0;
  for (; i < n; i++) {
    const c = a.charCodeAt(i);
    if (c < 128 && REG_NAME[c] === 1) continue;
    if (c === 37 /* % */ && isHex(a.charCodeAt(i + 1)) && isHex(a.charCodeAt(i + 2))) {
      i += 2;
      continue;
    }
    break;
  }
  if (i === 0 || i > MAX_HOST) return false; // an empty host with a port (":80") is no host
  if (i === n) return true;
  return a.charCodeAt(i) === 58 /* : */ && validPort(a, i + 1);
}

/**
 * The authority with the trailing dot of its host removed (`a.example.com.:80` →
 * `a.example.com:80`), port and case kept; the authority itself when there is none (no new
 * string). Routing takes `a.example.com.` for `a.example.com` (normalizeHost, src/route/lookup.ts),
 * so what compares the authority after it must too: AuthorizationPolicy `hosts`/`notHosts`
 * (compared as sent, a DENY on `a.example.com` was passed by a request routed to that very host
 * with `Host: a.example.com.`) and a route's `authority` / `:authority` match (compared as sent,
 * such a request skipped a route matching `exact: a.example.com` and fell to the next route of the
 * same virtual host). Envoy, which keeps the dot, routes such a request nowhere: 404.
 */
export function withoutHostDot(a: string): string {
  if (a.charCodeAt(0) === 91 /* [ */) return a; // an IPv6 literal: no dot before its port
  const colon = a.lastIndexOf(":");
  const end = colon < 0 ? a.length : colon;
  if (end === 0 || a.charCodeAt(end - 1) !== 46 /* . */) return a;
  return a.slice(0, end - 1) + a.slice(end);
}
