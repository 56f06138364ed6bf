// In front of node:http2 (GANGWAY_H2=node): a request carrying `host` more than
// once. Bun's node:http2 resets such a stream (PROTOCOL_ERROR) before gangway sees
// it, where gangway's own codec serves it as Envoy does (`:authority` routes and
// every `host` is dropped; without `:authority` the first `host` is the
// authority). So the client's bytes pass through this filter on their way to the
// session: every header block is decoded here too (HPACK state must be followed),
// and a block with a repeated `host` loses the later ones before node:http2 reads
// it. Only fields that leave the dynamic table as it was are cut (indexed fields
// and literals not indexed), so node:http2's table stays the client's; a block
// whose extra `host` was added to the table is passed on as it came. Anything
// unexpected (a frame between HEADERS and its CONTINUATION, a header frame past
// the frame size, an HPACK error, a block past the bound below) switches the filter
// off for the connection and node:http2 gets the bytes as they are (it reports
// the error): nothing it would refuse is changed into something it accepts.
import { CONTINUATION, END_HEADERS, FRAME_HEAD, frameLength, HEADERS, MIN_MAX_FRAME, PADDED, PREFACE_LEN, PRIORITY_FLAG, u31 } from "./h2/frames.ts";
import { HpackDecoder } from "./h2/hpack-decoder.ts";
import { HpackError } from "./h2/hpack-error.ts";

/** Header block bytes held while its frames arrive, past which the filter gives up (node:http2 bounds it too). */
const MAX_HELD = 256 * 1024;

export class RepeatedHostFilter {
  private prefaceLeft = PREFACE_LEN;
  private off = false;
  /** A frame header split across reads. */
  private head = Buffer.alloc(FRAME_HEAD);
  private headHave = 0;
  /** Payload bytes of a frame passed through as they come. */
  private passLeft = 0;
  /** The header frame being read (its header and payload), and how much of its payload is missing. */
  private frame: Buffer | null = null;
  private frameHave = 0;
  /** The frames of the header block in progress, as received, and its fragments. */
  private held: Buffer[] = [];
  private heldBytes = 0;
  private fragments: Buffer[] = [];
  /** The block's first frame: its stream, END_STREAM flag, priority bytes (or null). */
  private blockStream = 0;
  private blockFlags = 0;
  private priority: Buffer | null = null;
  private readonly decoder = new HpackDecoder();
  private readonly names: string[] = [];
  private readonly starts: number[] = [];
  private readonly emit = (name: string): void => {
    this.names.push(name);
    this.starts.push(this.decoder.fieldStart);
  };

  /** What one read sends on, in order: given to `to` as one Buffer (node:http2 then reads it in one go, as it would the read). */
  private pieces: Buffer[] = [];

  constructor(private readonly to: (b: Buffer) => void) {}

  private out(b: Buffer): void {
    if (b.length > 0) this.pieces.push(b);
  }

  /** Bytes from the client. */
  feed(b: Buffer): void {
    if (this.off) return this.to(b);
    this.scan(b);
    const p = this.pieces;
    if (p.length === 0) return;
    this.pieces = [];
    this.to(p.length === 1 ? p[0]! : Buffer.concat(p));
  }

  private scan(b: Buffer): void {
    let i = 0;
    if (this.prefaceLeft > 0) {
      i = Math.min(this.prefaceLeft, b.length);
      this.prefaceLeft -= i;
    }
    // b[from, i) goes out as it came (the preface, frames passed through), sent in runs
    let from = 0;
    let partial = b.length; // where a frame header cut by the end of this read starts
    while (i < b.length) {
      if (this.passLeft > 0) {
        const n = Math.min(this.passLeft, b.length - i);
        this.passLeft -= n;
        i += n;
        continue;
      }
      if (this.frame !== null) {
        const f = this.frame;
        const n = Math.min(f.length - this.frameHave, b.length - i);
        b.copy(f, this.frameHave, i, i + n);
        this.frameHave += n;
        i += n;
        from = i;
        if (this.frameHave === f.length) {
          this.frame = null;
          this.headerFrame(f);
          if (this.off) return this.out(b.subarray(i));
        }
        continue;
      }
      // a frame header; its first `had` bytes came in an earlier read (kept in this.head, not sent)
      const had = this.headHave;
      const at = i;
      const n = Math.min(FRAME_HEAD - had, b.length - i);
      b.copy(this.head, had, i, i + n);
      this.headHave += n;
      i += n;
      if (this.headHave < FRAME_HEAD) {
        partial = at;
        break;
      }
      this.headHave = 0;
      const h = this.head;
      const len = frameLength(h, 0);
      const type = h[3]!;
      const headerType = type === HEADERS || type === CONTINUATION;
      if (headerType || this.held.length > 0 || had > 0) {
        if (at > from) this.out(b.subarray(from, at));
        from = i;
      }
      if (headerType) {
        if (len > MIN_MAX_FRAME) return this.giveUp(Buffer.concat([h, b.subarray(i)]));
        const f = Buffer.allocUnsafe(FRAME_HEAD + len);
        h.copy(f, 0);
        this.frameHave = FRAME_HEAD;
        if (len > 0) this.frame = f;
        else {
          this.headerFrame(f);
          if (this.off) return this.out(b.subarray(i));
        }
        continue;
      }
      // a frame inside a header block: a connection error node:http2 reports
      if (this.held.length > 0) return this.giveUp(Buffer.concat([h, b.subarray(i)]));
      if (had > 0) this.out(Buffer.from(h)); // its header began in an earlier read: sent from the copy
      this.passLeft = len;
    }
    if (partial > from) this.out(b.subarray(from, partial));
  }

  /** Stop filtering: what is held, then `rest`, goes out as it came; so does everything after. */
  private giveUp(rest: Buffer): void {
    this.off = true;
    for (const f of this.held) this.out(f);
    this.held = [];
    this.fragments = [];
    if (rest.length > 0) this.out(rest);
  }

  /** A whole HEADERS or CONTINUATION frame `f`. */
  private headerFrame(f: Buffer): void {
    const type = f[3]!;
    const flags = f[4]!;
    const id = u31(f, 5);
    let s = FRAME_HEAD;
    let e = f.length;
    if (type === HEADERS) {
      if (this.held.length > 0) return this.giveUp(f);
      if (flags & PADDED) {
        if (e - s < 1) return this.giveUp(f);
        const pad = f[s]!;
        s++;
        e -= pad;
      }
      this.priority = null;
      if (flags & PRIORITY_FLAG) {
        this.priority = f.subarray(s, s + 5);
        s += 5;
      }
      if (e < s) return this.giveUp(f);
      this.blockStream = id;
      this.blockFlags = flags;
    } else if (this.held.length === 0 || id !== this.blockStream) return this.giveUp(f);
    this.held.push(f);
    this.heldBytes += f.length;
    this.fragments.push(f.subarray(s, e));
    if (this.heldBytes > MAX_HELD) return this.giveUp(Buffer.alloc(0));
    if (flags & END_HEADERS) this.block();
  }

  /** The header block is whole: out as it came, or without its repeated hosts. */
  private block(): void {
    const held = this.held;
    const block = this.fragments.length === 1 ? this.fragments[0]! : Buffer.concat(this.fragments);
    this.held = [];
    this.heldBytes = 0;
    this.fragments = [];
    this.names.length = 0;
    this.starts.length = 0;
    try {
      this.decoder.decode(block, 0, block.length, this.emit, Infinity);
    } catch (err) {
      if (!(err instanceof HpackError)) throw err;
      this.held = held;
      return this.giveUp(Buffer.alloc(0));
    }
    const cut = this.hostsToCut(block);
    if (cut === null) {
      for (const f of held) this.out(f);
      return;
    }
    const parts: Buffer[] = [];
    let from = 0;
    for (const k of cut) {
      const st = this.starts[k]!;
      const en = k + 1 < this.starts.length ? this.starts[k + 1]! : block.length;
      if (st > from) parts.push(block.subarray(from, st));
      from = en;
    }
    if (from < block.length) parts.push(block.subarray(from));
    this.writeBlock(Buffer.concat(parts));
  }

  /**
   * The `host` fields to cut (indices, in order), or null to pass the block as it came: the
   * first is kept, the later ones cut when that leaves the dynamic table alone; with
   * `:authority` (which alone routes) a first one that was indexed is kept instead.
   */
  private hostsToCut(block: Buffer): number[] | null {
    const names = this.names;
    let hosts: number[] | null = null;
    let authority = false;
    for (let k = 0; k < names.length; k++) {
      if (names[k] === "host") (hosts ??= []).push(k);
      else if (names[k] === ":authority") authority = true;
    }
    if (hosts === null || hosts.length < 2) return null;
    // a literal with incremental indexing (01xxxxxx) added an entry: it must stay
    const indexed = hosts.filter((k) => (block[this.starts[k]!]! & 0xc0) === 0x40);
    if (indexed.length > 1) return null;
    const keep = indexed.length === 1 ? indexed[0]! : hosts[0]!;
    if (keep !== hosts[0] && !authority) return null; // the authority would be a later host than gangway's codec takes
    return hosts.filter((k) => k !== keep);
  }

  /** `block` as HEADERS (+ CONTINUATION) frames of the held block's stream, flags and priority, unpadded. */
  private writeBlock(block: Buffer): void {
    const pri = this.priority;
    let at = 0;
    let first = true;
    do {
      const room = MIN_MAX_FRAME - (first && pri !== null ? 5 : 0);
      const n = Math.min(room, block.length - at);
      const last = at + n >= block.length;
      const payload = first && pri !== null ? 5 + n : n;
      const f = Buffer.allocUnsafe(FRAME_HEAD + payload);
      f[0] = payload >>> 16;
      f[1] = (payload >>> 8) & 0xff;
      f[2] = payload & 0xff;
      f[3] = first ? HEADERS : CONTINUATION;
      f[4] = (first ? this.blockFlags & ~(PADDED | END_HEADERS) : 0) | (last ? END_HEADERS : 0);
      f.writeUInt32BE(this.blockStream, 5);
      let p = FRAME_HEAD;
      if (first && pri !== null) p += pri.copy(f, p);
      block.copy(f, p, at, at + n);
      this.out(f);
      at += n;
      first = false;
    } while (at < block.length);
  }
}
