// The request on its way upstream: its head (built once), body bytes held
// while the connection opens, and, while the request is small and went to a
// reused connection, a copy to resend once if that connection proves dead.
import type { UpstreamConn } from "./upstream-conn.ts";

/** Request body bytes held while the upstream connection opens before the client is paused. */
const PENDING_LIMIT = 256 * 1024;
/** A request up to this size is kept to be resent once if a reused connection turns out dead. */
const REPLAY_LIMIT = 64 * 1024;
const NOT_LATIN1 = /[^\x00-\xff]/;

export class UpstreamRequest {
  /** The request head to send (built by heads-out.ts). */
  head = "";
  /** The head is ASCII: written as text without a Buffer. */
  ascii = true;
  private pending: Uint8Array[] | null = null;
  private pendingBytes = 0;
  /** Small enough, on a reused connection, and not answered yet: may be resent once. */
  replayable = false;
  private replayBody: Uint8Array[] | null = null;
  private replayBytes = 0;

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

  /** The upstream answered: never resend. */
  answered(): void {
    this.replayable = false;
    this.replayBody = null;
  }

  /**
   * The connection is open: the head, then on a retry the body copy, else
   * (first try) start keeping one if the connection was reused; then the held
   * chunks. false when the connection did not take everything.
   */
  sendTo(conn: UpstreamConn, retried: boolean): boolean {
    let ok = this.writeHead(conn);
    if (retried) {
      const bufs = this.replayBody;
      this.answered();
      if (bufs !== null) for (let i = 0; i < bufs.length; i++) ok = conn.write(bufs[i]!) && ok;
    } else {
      this.replayable = conn.uses > 1;
      this.replayBytes = this.head.length;
    }
    const pending = this.pending;
    if (pending !== null) {
      this.dropPending();
      for (let i = 0; i < pending.length; i++) ok = this.write(conn, pending[i]!) && ok;
    }
    return ok;
  }

  private writeHead(conn: UpstreamConn): boolean {
    if (conn.socket === null) return false;
    const h = this.head;
    if (this.ascii) return conn.out.writeText(conn.socket, h, true);
    return conn.write(Buffer.from(h, NOT_LATIN1.test(h) ? "utf8" : "latin1"));
  }

  /** A body chunk to the open connection (a copy kept while replayable). */
  write(conn: UpstreamConn, b: Uint8Array): boolean {
    if (this.replayable) {
      this.replayBytes += b.length;
      if (this.replayBytes > REPLAY_LIMIT) this.answered();
      else (this.replayBody ??= []).push(b);
    }
    return conn.write(b);
  }
}
