// Mirrored copies of a request (a route's mirror/mirrors), fire-and-forget:
// each copy opens its own connection to an endpoint of the mirror's cluster,
// writes the request head and the (buffered, ≤ MIRROR_BODY_LIMIT) body, and
// closes the connection at the first answer byte, on error, or after
// MIRROR_TIMEOUT_MS. Nothing of it reaches the client or its exchange; at most
// MIRROR_MAX_IN_FLIGHT copies are open per worker (more are dropped, never queued).
import type { MirrorPolicy } from "../../src/snapshot/types.ts";
import { MIRROR_MAX_IN_FLIGHT, shadowAuthority } from "../../src/traffic/mirror.ts";
import type { Generation } from "./clusters.ts";
import type { UpstreamConn, UpstreamUser } from "./upstream-conn.ts";
import type { ProxyVersion } from "../proxy-header-out.ts";

/** A copy still waiting for its answer after this long is closed. */
export const MIRROR_TIMEOUT_MS = 30_000;

let inFlight = 0;

/** Copies open now (for tests and metrics). */
export function mirrorsInFlight(): number {
  return inFlight;
}

class MirrorCopy implements UpstreamUser {
  private conn: UpstreamConn | null = null;
  private done = false;
  private readonly timer: ReturnType<typeof setTimeout>;

  constructor(
    private readonly head: Buffer,
    private readonly body: Uint8Array[],
  ) {
    inFlight++;
    this.timer = setTimeout(() => this.end(), MIRROR_TIMEOUT_MS);
  }

  start(conn: UpstreamConn): void {
    this.conn = conn;
  }

  onUpstreamOpen(conn: UpstreamConn): void {
    if (this.done) return conn.destroy();
    conn.write(this.head);
    for (const b of this.body) conn.write(b);
  }
  onUpstreamData(): void {
    this.end(); // the mirror answered: what it says does not matter
  }
  onUpstreamDrain(): void {}
  onUpstreamClose(): void {
    this.conn = null;
    this.end();
  }

  private end(): void {
    if (this.done) return;
    this.done = true;
    inFlight--;
    clearTimeout(this.timer);
    const c = this.conn;
    this.conn = null;
    c?.destroy();
  }
}

/** The request head for a mirror: the upstream head with the mirror's Host (unchanged by default). */
function mirrorHead(upHead: Buffer, authority: string): Buffer {
  const shadow = shadowAuthority(authority);
  if (shadow === authority) return upHead;
  // latin1 text of the bytes round-trips them exactly; the authority is ASCII (validAuthority)
  const text = upHead.toString("latin1").replace(/\r\nhost:[^\r]*\r\n/i, `\r\nhost: ${shadow}\r\n`);
  return Buffer.from(text, "latin1");
}

/**
 * Send a copy of the request to each mirror (in `gen`, the generation the
 * request was decided in). `upHead`: the head as sent upstream.
 */
export function sendMirrors(
  gen: Generation,
  mirrors: MirrorPolicy[],
  upHead: Buffer,
  authority: string,
  body: Uint8Array[],
  /** The client: a mirror cluster with proxyProtocol gets its PROXY header, as the request's own cluster would. */
  client: { proxyHeader(version: ProxyVersion): Buffer } | null = null,
): void {
  let head: Buffer | null = null;
  for (const m of mirrors) {
    if (inFlight >= MIRROR_MAX_IN_FLIGHT) return;
    const rt = gen.clusters.get(m.cluster);
    const pool = rt?.pick() ?? null;
    if (pool === null) continue;
    head ??= mirrorHead(upHead, authority);
    const copy = new MirrorCopy(head, body);
    const pv = client === null ? undefined : rt!.cluster.upstream?.proxyProtocol;
    copy.start(pool.connect(copy, "", pv === undefined ? null : client!.proxyHeader(pv)));
  }
}
