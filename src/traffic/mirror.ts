// Request mirroring (Envoy's request_mirror_policies, Istio's mirror/mirrors)
// as pure decisions: which mirrors take this request (one draw each against
// its share), and the Host the copy carries. Current Istio sets
// disable_shadow_host_suffix_append (pilot feature DISABLE_SHADOW_HOST_SUFFIX,
// default true), so the copy keeps the request's Host; older Istio (and Envoy's
// own default) appended `-shadow` to the host part (`a.com:8080` →
// `a.com-shadow:8080`). The copy is fire-and-forget: its answer is read and
// dropped, its failure never reaches the client.
import type { MirrorPolicy } from "../snapshot/types.ts";
import { drawHits } from "./fault.ts";

/** Istio's DISABLE_SHADOW_HOST_SUFFIX default (true): no `-shadow` suffix. */
export const APPEND_SHADOW_SUFFIX = false;

/**
 * Request bodies up to this size are copied to the mirrors; a longer body is
 * not mirrored at all (as Envoy abandons a shadow whose body passes its
 * buffer limit), so a mirror never holds more than this per request.
 */
export const MIRROR_BODY_LIMIT = 64 * 1024;

/** At most this many mirror copies in flight per worker; more are dropped (never queued). */
export const MIRROR_MAX_IN_FLIGHT = 256;

/** The mirrors this request goes to; `draw()` gives a uniform number in [0, 1) per mirror. */
const NO_MIRRORS: MirrorPolicy[] = [];

export function mirrorsFor(mirrors: MirrorPolicy[] | undefined, draw: () => number): MirrorPolicy[] {
  if (mirrors === undefined || mirrors.length === 0) return NO_MIRRORS;
  const out: MirrorPolicy[] = [];
  for (const m of mirrors) if (m.perMillion >= 1_000_000 || drawHits(m.perMillion, draw())) out.push(m);
  return out;
}

/** The Host of the mirrored copy. */
export function shadowAuthority(authority: string, appendSuffix = APPEND_SHADOW_SUFFIX): string {
  if (!appendSuffix || authority === "") return authority;
  // the port stays after the suffix; an IPv6 literal's colons are not a port
  const close = authority.lastIndexOf("]");
  const colon = authority.lastIndexOf(":");
  if (colon > close && authority.indexOf(":") === colon) return authority.slice(0, colon) + "-shadow" + authority.slice(colon);
  if (close >= 0 && colon > close) return authority.slice(0, colon) + "-shadow" + authority.slice(colon);
  return authority + "-shadow";
}
