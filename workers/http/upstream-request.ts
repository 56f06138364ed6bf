// The request on its way upstream: its head (built once, with the first try's
// x-envoy-attempt-count), body bytes held while the connection opens, and a
// copy of the body bytes sent, kept up to REPLAY_LIMIT: it goes again on a
// retry (the route's retry policy, or a reused connection found dead) and to
// the mirrors.
import { MIRROR_BODY_LIMIT } from "../../src/traffic/mirror.ts";
import type { UpstreamConn } from "./upstream-conn.ts";

/** Request body bytes held while the upstream connection opens before the client is paused. */
const PENDING_LIMIT = 256 * 1024;
/**
 * Body bytes copied while forwarding; past this, a body that already went
 * upstream is neither retried nor mirrored (as Envoy gives up a retry or a
 * shadow past its buffer limit).
 */
export const REPLAY_LIMIT = MIRROR_BODY_LIMIT;
const NOT_LATIN1 = /[^\x00-\xff]/;
const ATTEMPT_1 = "x-envoy-attempt-count: 1\r\n\r\n";

export class UpstreamRequest {
  /** The request head to send, first try (built by heads-out.ts, attempt count appended by setHead). */
  head = "";
  /** The head is ASCII: written as text without a Buffer. */
  ascii = true;
  private pending: Uint8Array[] | null = null;
  private pendingBytes = 0;
  /** On a reused connection and not answered yet: may be resent once if that connection proves dead. */
  replayable = false;
  private copy: Uint8Array[] | null = null;
  private copyBytes = 0;
  /** Body bytes went upstream that the copy no longer holds: no retry, no mirror. */
  lost = false;

  /** The head as heads-out.ts built it (ending in CRLF CRLF); x-envoy-attempt-count is added here. */
  setHead(head: string, ascii: boolean): void {
    this.head = head.slice(0, -2) + ATTEMPT_1;
    this.ascii = ascii;
  }

  /** The head of try `n` (its x-envoy-attempt-count). */
  headOf(n: number): string {
    return n === 1 ? this.head : this.head.slice(0, -5) + n + "\r\n\r\n";
  }

  /** Keep a body chunk until the connection opens; true when so much is held that the client should wait. */
  hold(chunk: Uint8Array): boolean {
    (this.pending ??= []).push(chunk);
    this.pendingBytes += chunk.length;
    return this.pendingBytes > PENDING_LIMIT;
  }

  /** Forget held bytes (a local reply answered the request). */
  dropPending(): void {
    this.pending = null;
    this.pendingBytes = 0;
  }

  /** The upstream answered: no resend for a dead connection (a retry policy may still send the copy). */
  answered(): void {
    this.replayable = false;
  }

  /** The whole body so far (the copy, then what is held): for mirrors. */
  body(): Uint8Array[] {
    const c = this.copy ?? [];
    return this.pending === null ? c : [...c, ...this.pending];
  }

  /**
   * The connection is open: the head of try `attempt`, then on a retry the
   * copy of what earlier tries sent; then the held chunks. false when the
   * connection did not take everything.
   */
  sendTo(conn: UpstreamConn, retry: boolean, attempt: number): boolean {
    let ok = this.writeHead(conn, attempt);
    if (retry) {
      this.replayable = false;
      const bufs = this.copy;
      if (bufs !== null) for (let i = 0; i < bufs.length; i++) ok = conn.write(bufs[i]!) && ok;
    } else this.replayable = conn.uses > 1 && !this.lost;
    const pending = this.pending;
    if (pending !== null) {
      this.dropPending();
      for (let i = 0; i < pending.length; i++) ok = this.write(conn, pending[i]!) && ok;
    }
    return ok;
  }

  private writeHead(conn: UpstreamConn, attempt: number): boolean {
    if (conn.socket === null) return false;
    const h = this.headOf(attempt);
    if (this.ascii) return conn.out.writeText(conn.socket, h, true);
    return conn.write(Buffer.from(h, NOT_LATIN1.test(h) ? "utf8" : "latin1"));
  }

  /** A body chunk to the open connection (copied while within REPLAY_LIMIT). */
  write(conn: UpstreamConn, b: Uint8Array): boolean {
    if (!this.lost) {
      this.copyBytes += b.length;
      if (this.copyBytes > REPLAY_LIMIT) {
        this.lost = true;
        this.replayable = false;
        this.copy = null;
      } else (this.copy ??= []).push(b);
    }
    return conn.write(b);
  }
}
