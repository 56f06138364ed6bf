// The primary's JWKS fetcher, doing what istiod does for a gateway: fetch
// each `jwksUri` (http/https), cache it, inline the keys into the snapshot,
// refresh periodically (Istio: every 20 min) and republish when they change.
// A URI that cannot be fetched keeps its last good keys; with none, its
// provider is marked unavailable and that issuer's tokens fail (401), as
// Istio's stand-in key makes them.
import type { Snapshot } from "../snapshot/types.ts";
import { readJwks } from "./jwks.ts";
import type { JwtProvider, SecurityConfig } from "./types.ts";

/** Istio's PILOT_JWT_PUB_KEY_REFRESH_INTERVAL default. */
export const JWKS_REFRESH_MS = 20 * 60 * 1000;
/** Istio's default jwksUri fetch timeout. */
const FETCH_TIMEOUT_MS = 5000;

interface Entry {
  /** The keys ("": none yet); `error` why there are none. */
  text: string;
  error: string;
  timeoutMs: number;
  /** The last fetch failed (the last good keys, if any, still serve). */
  failing: boolean;
}

export type Fetcher = (url: string, timeoutMs: number) => Promise<string>;

/** A JWKS larger than this is refused (a few keys take a few KiB). */
export const MAX_JWKS_BYTES = 1 << 20;

export const httpFetcher: Fetcher = async (url, timeoutMs) => {
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(new DOMException("The operation timed out.", "TimeoutError")), timeoutMs);
  try {
    const res = await fetch(url, { signal: ctl.signal, redirect: "follow" });
    if (res.status !== 200) throw new Error(`HTTP ${res.status}`);
    const declared = Number(res.headers.get("content-length") ?? "0");
    if (declared > MAX_JWKS_BYTES) throw new Error(`larger than ${MAX_JWKS_BYTES} bytes`);
    return await boundedText(res, ctl);
  } finally {
    clearTimeout(timer);
  }
};

/**
 * The body as text, read piece by piece and abandoned past MAX_JWKS_BYTES: a
 * body without Content-Length (chunked, or closed-delimited) that never ends
 * would otherwise be buffered whole until the timeout (measured: 773 MB in
 * 3 s from a loopback server).
 */
async function boundedText(res: Response, ctl: AbortController): Promise<string> {
  if (res.body === null) return "";
  const parts: Uint8Array[] = [];
  let size = 0;
  const reader = res.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > MAX_JWKS_BYTES) {
      ctl.abort();
      throw new Error(`larger than ${MAX_JWKS_BYTES} bytes`);
    }
    parts.push(value);
  }
  return new TextDecoder().decode(Buffer.concat(parts));
}

/** Istio refuses a body that is not a JWKS (`keys` must be a list). */
function checkJwks(text: string): string {
  try {
    const v = JSON.parse(text);
    if (typeof v !== "object" || v === null || !Array.isArray(v.keys)) return "not a JWKS (no keys list)";
  } catch {
    return "not JSON";
  }
  return "";
}

export class JwksCache {
  private entries = new Map<string, Entry>();

  constructor(
    private readonly fetcher: Fetcher = httpFetcher,
    private readonly log: (level: "info" | "warn", msg: string, fields: Record<string, unknown>) => void = () => {},
  ) {}

  private async fetchOne(uri: string, timeoutMs: number): Promise<boolean> {
    const prev = this.entries.get(uri);
    let text = "";
    let error = "";
    try {
      text = await this.fetcher(uri, timeoutMs);
      error = checkJwks(text);
    } catch (err) {
      error = err instanceof Error ? (err.name === "TimeoutError" ? "timeout" : err.message) : String(err);
    }
    if (error !== "") {
      this.log("warn", "JWKS fetch failed", { uri, error, keeping: prev !== undefined && prev.text !== "" ? "last good keys" : "none: tokens of this issuer are refused" });
      if (prev !== undefined && prev.text !== "") {
        prev.failing = true;
        return false; // keep the last good keys
      }
      this.entries.set(uri, { text: "", error, timeoutMs, failing: true });
      return prev === undefined || prev.error !== error;
    }
    this.entries.set(uri, { text, error: "", timeoutMs, failing: false });
    if (prev === undefined || prev.text !== text) {
      const { keys, problems } = readJwks(text);
      this.log(problems.length > 0 ? "warn" : "info", "JWKS fetched", { uri, keys: keys.length, ...(problems.length > 0 ? { ignored: problems.join("; ") } : {}) });
    }
    return prev === undefined || prev.text !== text;
  }

  private uriProviders(sec: SecurityConfig | undefined): JwtProvider[] {
    return sec === undefined ? [] : sec.providers.filter((p) => p.jwksUri !== "");
  }

  /** Inline the keys of every jwksUri of `sec`, fetching the ones not cached yet (mutates: call before publishing). */
  async fill(sec: SecurityConfig | undefined): Promise<void> {
    const missing = new Map<string, number>();
    for (const p of this.uriProviders(sec)) if (!this.entries.has(p.jwksUri)) missing.set(p.jwksUri, p.timeoutMs || FETCH_TIMEOUT_MS);
    await Promise.all([...missing].map(([uri, t]) => this.fetchOne(uri, t)));
    for (const p of this.uriProviders(sec)) {
      const e = this.entries.get(p.jwksUri)!;
      p.jwks = e.text;
      p.jwksError = e.error;
    }
  }

  /**
   * Fetch every URI `sec` uses again (`onlyMissing`: only those without keys); true when
   * some keys changed. URIs no longer used are forgotten.
   */
  async refresh(sec: SecurityConfig | undefined, onlyMissing = false): Promise<boolean> {
    const used = new Map<string, number>();
    for (const p of this.uriProviders(sec)) used.set(p.jwksUri, p.timeoutMs || FETCH_TIMEOUT_MS);
    for (const uri of [...this.entries.keys()]) {
      if (!used.has(uri)) this.entries.delete(uri);
      else if (onlyMissing && this.entries.get(uri)!.text !== "") used.delete(uri);
    }
    const changed = await Promise.all([...used].map(([uri, t]) => this.fetchOne(uri, t)));
    return changed.some(Boolean);
  }

  /** Some URI `sec` uses has no keys (its first fetch failed): its issuer's tokens are refused until one succeeds. */
  missing(sec: SecurityConfig | undefined): boolean {
    return this.uriProviders(sec).some((p) => this.entries.get(p.jwksUri)?.text === "");
  }

  /** The last fetch of some URI `sec` uses failed. */
  failing(sec: SecurityConfig | undefined): boolean {
    return this.uriProviders(sec).some((p) => this.entries.get(p.jwksUri)?.failing === true);
  }

  /** A copy of `s` with the cached keys inlined and the given version (the snapshot stays immutable). */
  withKeys(s: Snapshot, version: number): Snapshot {
    if (s.security === undefined) return { ...s, version };
    const providers = s.security.providers.map((p) => {
      const e = p.jwksUri === "" ? undefined : this.entries.get(p.jwksUri);
      return e === undefined ? p : { ...p, jwks: e.text, jwksError: e.error };
    });
    return { ...s, version, security: { ...s.security, providers } };
  }
}
