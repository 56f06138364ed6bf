// The server side of one HTTP/2 connection in gangway's own codec: bytes in
// → frames → streams, with the connection's state kept here (RFC 9113): the
// client preface, both sides' SETTINGS, PING, GOAWAY, both flow-control
// windows, the stream table, header blocks (HEADERS + CONTINUATION, HPACK
// decoded as one block) and the protocol errors each frame can earn. A
// request's fields go to the handler (h2/conn.ts) with its ServerStream;
// responses come back as calls on that stream and leave as frames through
// the sending half (send.ts) into the connection's output buffer (out.ts),
// written once per turn.
//
// Connection errors send GOAWAY with their code and close; stream errors
// reset the stream only. Frames for a stream already closed (reset by us, or
// done) are dropped, as frames in flight after a RST_STREAM must be (§5.1),
// though DATA still counts against the connection window and header blocks
// are still decoded (the HPACK table must stay in step).
import type { IncomingHttpHeaders } from "node:http2";
import type { RawConn } from "../h2-duplex.ts";
import * as F from "./frames.ts";
import { HpackDecoder, HpackError } from "./hpack.ts";
import { requestFieldsOk, requestHeaders } from "./request-fields.ts";
import { SessionSend } from "./send.ts";
import { ServerStream } from "./stream.ts";
import { trailersOverLimit } from "./trailer-limits.ts";

/** What we announce. */
export const MAX_CONCURRENT = 128;
export const MAX_HEADER_LIST = 64 * 1024;
/** Our stream and connection receive windows: large enough that uploads and h2load are not window-bound. */
export const STREAM_WINDOW = 1024 * 1024;
export const CONN_WINDOW = 16 * 1024 * 1024;
/** Our SETTINGS_MAX_FRAME_SIZE (the default): a bigger frame is a FRAME_SIZE_ERROR. */
const MAX_FRAME = F.MIN_MAX_FRAME;
/** A header block (HEADERS + CONTINUATION) past this many bytes, or frames, closes the connection: a CONTINUATION flood cannot grow memory. */
const MAX_BLOCK_BYTES = 2 * MAX_HEADER_LIST;
const MAX_BLOCK_FRAMES = 64;
/** Streams the client reset before their response was done, above which (and half of all streams) the connection is closed (CVE-2023-44487). */
const PREMATURE_RESETS = 100;
// Frames that carry nothing yet cost us work, bounded as Envoy's HTTP/2 protocol constraints (with
// its defaults); past a bound the connection ends with GOAWAY ENHANCE_YOUR_CALM:
/** DATA, HEADERS or CONTINUATION frames in a row with no payload (padding aside) and no END_STREAM (max_consecutive_inbound_frames_with_empty_payload). */
const EMPTY_IN_A_ROW = 1;
/** PRIORITY frames per header block received, plus this many (max_inbound_priority_frames_per_stream). */
const PRIORITY_PER_STREAM = 100;
/** WINDOW_UPDATE frames per DATA frame sent (max_inbound_window_update_frames_per_data_frame_sent); also 2 per header block received, and 1. */
const WINDOW_UPDATES_PER_DATA = 10;
/** Ranges of skipped stream ids kept (clients open ids in order; past this many skips, a skipped id counts as closed). */
const SKIPS_KEPT = 32;

const OUR_SETTINGS = F.settingsFrame([
  [F.S_MAX_CONCURRENT_STREAMS, MAX_CONCURRENT],
  [F.S_INITIAL_WINDOW_SIZE, STREAM_WINDOW],
  [F.S_MAX_HEADER_LIST_SIZE, MAX_HEADER_LIST],
  [F.S_ENABLE_PUSH, 0],
]);
const PREFACE_BYTES = Buffer.from(F.PREFACE, "latin1");

/** Who takes the requests. */
export interface SessionHandler {
  /**
   * A request's fields names/values [0, n) (checked, malformed ones never come here; the arrays are
   * the session's scratch, read before returning); `endStream`: no body follows.
   */
  onRequest(s: ServerStream, names: readonly string[], values: readonly string[], n: number, endStream: boolean): void;
  /** The header list was larger than we announce: answer it (431). */
  onTooLarge(s: ServerStream): void;
}

// decoded fields of the block being read (one block at a time on a thread)
const names: string[] = [];
const values: string[] = [];
let fieldCount = 0;
function emit(name: string, value: string): void {
  names[fieldCount] = name;
  values[fieldCount++] = value;
}

export class H2Session extends SessionSend {
  private readonly decoder = new HpackDecoder(4096);
  private connRecv = CONN_WINDOW;
  private connUnacked = 0;
  private prefaceAt = 0;
  /** Under a frame head's bytes, kept for the next read. */
  private rest: Buffer | null = null;
  /** A frame being gathered (its head came, not all its payload): part[0, partAt) so far. */
  private part: Buffer | null = null;
  private partAt = 0;
  // the header block being assembled across CONTINUATION frames
  private contId = 0;
  private contFlags = 0;
  private contParts: Buffer[] = [];
  private contBytes = 0;
  private goawaySent = false;
  /** The last stream id our GOAWAY named: later streams are ignored. */
  private goawayLast = 0;
  private goawayRecv = false;
  private opened = 0;
  private premature = 0;
  /** The client's first SETTINGS came (the preface's last part, §3.4). */
  private prefaceSettings = false;
  /** Stream ids the client skipped over, as [first, last] pairs (at most SKIPS_KEPT pairs): never opened, so a HEADERS naming one is PROTOCOL_ERROR (§5.1.1), not STREAM_CLOSED. */
  private skipped: number[] = [];
  // the inbound constraints' counters
  private emptyRun = 0;
  private blocks = 0;
  private priorities = 0;
  private windowUpdates = 0;

  /**
   * DATA of one stream read in a row (no END_STREAM), handed on together when another frame comes
   * or the read ends (flushData): a body sent as many tiny DATA frames costs one write upstream per
   * read, not one per frame (200 000 one-byte frames took 0.9 s of a worker's CPU).
   */
  private batchSt: ServerStream | null = null;
  private readonly batchBufs: Buffer[] = [];
  private batchLen = 0;

  /** A header block left open (HEADERS without END_HEADERS) this long ends the connection; 0: never. */
  private blockTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(
    raw: RawConn,
    private readonly handler: SessionHandler,
    /** The request head timeout (--request-headers-timeout): how long a header block may stay open across CONTINUATION frames. */
    private readonly headTimeoutMs = 0,
  ) {
    super(raw);
    const out = this.out;
    out.frame(F.SETTINGS, 0, 0, OUR_SETTINGS, F.FRAME_HEAD, OUR_SETTINGS.length);
    out.frame32(F.WINDOW_UPDATE, 0, CONN_WINDOW - F.DEFAULT_WINDOW);
  }

  /** Bytes from the client. */
  feed(b: Buffer): void {
    this.feedFrames(b);
    if (this.batchSt !== null) this.flushData();
  }

  private feedFrames(b: Buffer): void {
    if (this.dead) return;
    let buf = b;
    let p = 0;
    const part = this.part;
    if (part !== null) {
      // the rest of a frame whose head came: into its buffer, each byte copied once
      const n = Math.min(part.length - this.partAt, b.length);
      b.copy(part, this.partAt, 0, n);
      this.partAt += n;
      if (this.partAt < part.length) return;
      this.part = null;
      this.frame(part, 0, part.length - F.FRAME_HEAD);
      p = n;
    } else if (this.rest !== null) {
      buf = Buffer.concat([this.rest, b]); // under 9 bytes kept
      this.rest = null;
    }
    if (this.prefaceAt < F.PREFACE_LEN) {
      while (p < buf.length && this.prefaceAt < F.PREFACE_LEN) {
        if (buf[p++] !== PREFACE_BYTES[this.prefaceAt++]) return this.fail(F.PROTOCOL_ERROR);
      }
    }
    while (!this.dead) {
      const left = buf.length - p;
      if (left < F.FRAME_HEAD) break;
      const len = F.frameLength(buf, p);
      if (len > MAX_FRAME) return this.fail(F.FRAME_SIZE_ERROR);
      if (left < F.FRAME_HEAD + len) break;
      this.frame(buf, p, len);
      p += F.FRAME_HEAD + len;
    }
    if (this.dead || p === buf.length) return;
    const left = buf.length - p;
    if (left < F.FRAME_HEAD) {
      this.rest = buf.subarray(p);
      return;
    }
    // a frame's head without all its payload: a buffer of the frame's size gathers it (a client
    // sending a frame a few bytes at a time costs a copy per byte, not one of all it sent so far)
    const whole = Buffer.allocUnsafe(F.FRAME_HEAD + F.frameLength(buf, p));
    buf.copy(whole, 0, p);
    this.part = whole;
    this.partAt = left;
  }

  private frame(b: Buffer, p: number, len: number): void {
    const type = b[p + 3]!;
    const flags = b[p + 4]!;
    const id = F.u31(b, p + 5);
    const s = p + F.FRAME_HEAD;
    const e = s + len;
    if (type !== F.DATA && this.batchSt !== null) this.flushData(); // what came before this frame, first
    if (this.contId !== 0 && type !== F.CONTINUATION) return this.fail(F.PROTOCOL_ERROR);
    if (!this.prefaceSettings) {
      // §3.4: the client's preface ends with a SETTINGS frame (not an ACK); anything else first is PROTOCOL_ERROR
      if (type !== F.SETTINGS || (flags & F.ACK) !== 0) return this.fail(F.PROTOCOL_ERROR);
      this.prefaceSettings = true;
    }
    switch (type) {
      case F.DATA:
        return this.data(b, s, e, flags, id);
      case F.HEADERS:
        return this.headers(b, s, e, flags, id);
      case F.CONTINUATION:
        return this.continuation(b, s, e, flags, id);
      case F.SETTINGS:
        return this.settings(b, s, e, flags, id);
      case F.WINDOW_UPDATE:
        return this.windowUpdate(b, s, len, id);
      case F.RST_STREAM:
        return this.rstStream(len, id);
      case F.PING:
        if (id !== 0) return this.fail(F.PROTOCOL_ERROR);
        if (len !== 8) return this.fail(F.FRAME_SIZE_ERROR);
        if ((flags & F.ACK) === 0) this.out.frame(F.PING, F.ACK, 0, b, s, e);
        return;
      case F.GOAWAY:
        if (id !== 0) return this.fail(F.PROTOCOL_ERROR);
        if (len < 8) return this.fail(F.FRAME_SIZE_ERROR);
        this.goawayRecv = true;
        return this.maybeFinish();
      case F.PRIORITY:
        return this.priority(b, s, len, id);
      case F.PUSH_PROMISE:
        return this.fail(F.PROTOCOL_ERROR);
      default:
        return; // unknown frame types are ignored (§4.1)
    }
  }

  // --- frames in ---

  private data(b: Buffer, s: number, e: number, flags: number, id: number): void {
    if (id === 0 || id > this.lastId) return this.fail(F.PROTOCOL_ERROR);
    const len = e - s;
    this.connRecv -= len;
    if (this.connRecv < 0) return this.fail(F.FLOW_CONTROL_ERROR);
    let ds = s;
    let de = e;
    if ((flags & F.PADDED) !== 0) {
      if (len < 1) return this.fail(F.PROTOCOL_ERROR);
      const pad = b[s]!;
      ds++;
      if (pad > de - ds) return this.fail(F.PROTOCOL_ERROR);
      de -= pad;
    }
    if (this.empty(de === ds && (flags & F.END_STREAM) === 0)) return;
    // DATA gathered for another stream, or for this one before its END_STREAM, is handed on first
    // (it may pause or reset this stream: the branches below see that)
    const batch = this.batchSt;
    if (batch !== null && ((flags & F.END_STREAM) !== 0 || batch.id !== id)) this.flushData();
    const st = this.streams.get(id);
    if (st === undefined) {
      // a stream we reset (or ignored after GOAWAY): its DATA was in flight; any other closed stream: §5.1
      if (!this.droppable(id)) return this.fail(F.STREAM_CLOSED);
      return this.connCredit(len);
    }
    if (st.remoteEnded) {
      this.connCredit(len);
      return this.resetStream(st, F.STREAM_CLOSED);
    }
    st.recvWindow -= len;
    if (st.recvWindow < 0) {
      this.connCredit(len);
      return this.resetStream(st, F.FLOW_CONTROL_ERROR);
    }
    const end = (flags & F.END_STREAM) !== 0;
    if (end) st.remoteEnded = true;
    if (st.sink === null || st.ignoreBody) {
      // nobody reads it (answered at once): the window comes back as it arrives
      this.connCredit(len);
      this.credit(st, len);
    } else if (st.paused || st.inbox !== null) {
      // held until resume(); its window and the connection's are withheld meanwhile (a paused
      // stream's client stops sending, and all the paused streams together hold no more than the
      // connection window)
      if (de > ds) (st.inbox ??= []).push(b.subarray(ds, de));
      else st.inbox ??= [];
      st.unacked += len;
      st.connHeld += len;
      if (end) st.inboxEnd = true;
      return;
    } else if (!end) {
      // gathered with the stream's DATA before it in this read (flushData)
      this.batchSt = st;
      if (de > ds) this.batchBufs.push(b.subarray(ds, de));
      this.batchLen += len;
      return;
    } else {
      this.connCredit(len);
      if (de > ds) st.sink.fromClient(b.subarray(ds, de));
      this.credit(st, len);
      if (!st.isClosed) st.sink.clientEnded();
    }
    if (end) this.remoteEnd(st);
  }

  /** Hand on the DATA gathered for one stream (batchSt) as one piece, and give back its windows. */
  private flushData(): void {
    const st = this.batchSt!;
    this.batchSt = null;
    const bufs = this.batchBufs;
    const len = this.batchLen;
    this.batchLen = 0;
    const data = bufs.length === 0 ? null : bufs.length === 1 ? bufs[0]! : Buffer.concat(bufs);
    bufs.length = 0;
    if (this.dead) return;
    this.connCredit(len);
    if (data !== null && st.sink !== null && !st.isClosed) st.sink.fromClient(data);
    this.credit(st, len);
  }

  /** A DATA, HEADERS or CONTINUATION frame: `empty` (no payload, no END_STREAM) too many times in a row ends the connection; true then. */
  private empty(empty: boolean): boolean {
    if (!empty) {
      this.emptyRun = 0;
      return false;
    }
    if (++this.emptyRun <= EMPTY_IN_A_ROW) return false;
    this.fail(F.ENHANCE_YOUR_CALM);
    return true;
  }

  /** PRIORITY carries nothing we use (RFC 9113 §5.3.2), but a bad one is still an error. */
  private priority(b: Buffer, s: number, len: number, id: number): void {
    if (id === 0) return this.fail(F.PROTOCOL_ERROR);
    if (++this.priorities > PRIORITY_PER_STREAM * (1 + this.blocks)) return this.fail(F.ENHANCE_YOUR_CALM);
    // a length other than 5 (§6.3) or a stream depending on itself (§5.3.1): a stream error
    const code = len !== 5 ? F.FRAME_SIZE_ERROR : F.u31(b, s) === id ? F.PROTOCOL_ERROR : F.NO_ERROR;
    if (code === F.NO_ERROR) return;
    const st = this.streams.get(id);
    if (st !== undefined) return this.resetStream(st, code);
    // an idle stream cannot be reset (§6.4 forbids RST_STREAM on it): the error ends the connection
    if (id > this.lastId) return this.fail(code);
    this.out.frame32(F.RST_STREAM, id, code); // a closed one can
  }

  /** Give back `n` bytes of the stream's window (in one WINDOW_UPDATE once half of it is used). */
  private credit(st: ServerStream, n: number): void {
    st.unacked += n;
    if (st.remoteEnded || st.isClosed || st.paused) return;
    if (st.unacked >= STREAM_WINDOW / 2) {
      this.out.frame32(F.WINDOW_UPDATE, st.id, st.unacked);
      st.recvWindow += st.unacked;
      st.unacked = 0;
    }
  }

  /** Give back `n` bytes of the connection's window (in one WINDOW_UPDATE once half of it is used). */
  private connCredit(n: number): void {
    this.connUnacked += n;
    if (this.connUnacked < CONN_WINDOW / 2 || this.dead) return;
    this.out.frame32(F.WINDOW_UPDATE, 0, this.connUnacked);
    this.connRecv += this.connUnacked;
    this.connUnacked = 0;
  }

  /** The connection window a paused stream's kept DATA held goes back (handed on, or dropped with the stream). */
  private releaseHeld(st: ServerStream): void {
    const n = st.connHeld;
    if (n === 0) return;
    st.connHeld = 0;
    this.connCredit(n);
  }

  protected override closeStream(st: ServerStream): void {
    this.releaseHeld(st);
    super.closeStream(st);
  }

  /** The client's END_STREAM was handed on: close if our side is done too. */
  private remoteEnd(st: ServerStream): void {
    if (st.localEnded && !st.isClosed) this.closeStream(st);
  }

  private headers(b: Buffer, s: number, e: number, flags: number, id: number): void {
    if (id === 0 || (id & 1) === 0) return this.fail(F.PROTOCOL_ERROR);
    let hs = s;
    let he = e;
    if ((flags & F.PADDED) !== 0) {
      if (he - hs < 1) return this.fail(F.PROTOCOL_ERROR);
      const pad = b[hs++]!;
      if (pad > he - hs) return this.fail(F.PROTOCOL_ERROR);
      he -= pad;
    }
    let selfDependent = false;
    if ((flags & F.PRIORITY_FLAG) !== 0) {
      if (he - hs < 5) return this.fail(F.FRAME_SIZE_ERROR);
      selfDependent = F.u31(b, hs) === id;
      hs += 5;
    }
    if (this.empty(he === hs && (flags & F.END_STREAM) === 0)) return;
    if ((flags & F.END_HEADERS) !== 0) return this.block(id, flags, b, hs, he, selfDependent);
    this.contId = id;
    this.contFlags = flags | (selfDependent ? 0x100 : 0);
    this.contParts = [b.subarray(hs, he)];
    this.contBytes = he - hs;
    // rare (a head over 16 kB, or a client splitting it): a timer, not a check per frame
    if (this.headTimeoutMs > 0) this.blockTimer = setTimeout(this.blockLate, this.headTimeoutMs);
  }

  /** A header block still open at the request head timeout: the HPACK state cannot go on without it, the connection ends. */
  private readonly blockLate = (): void => {
    this.blockTimer = null;
    if (this.contId !== 0) this.fail(F.ENHANCE_YOUR_CALM);
  };

  private stopBlockTimer(): void {
    if (this.blockTimer === null) return;
    clearTimeout(this.blockTimer);
    this.blockTimer = null;
  }

  private continuation(b: Buffer, s: number, e: number, flags: number, id: number): void {
    if (this.contId === 0 || id !== this.contId) return this.fail(F.PROTOCOL_ERROR);
    if (this.empty(e === s)) return;
    this.contBytes += e - s;
    this.contParts.push(b.subarray(s, e));
    if (this.contBytes > MAX_BLOCK_BYTES || this.contParts.length > MAX_BLOCK_FRAMES) return this.fail(F.ENHANCE_YOUR_CALM);
    if ((flags & F.END_HEADERS) === 0) return;
    const block = Buffer.concat(this.contParts, this.contBytes);
    const f = this.contFlags;
    this.stopBlockTimer();
    this.contId = 0;
    this.contParts = [];
    this.contBytes = 0;
    this.block(id, f, block, 0, block.length, (f & 0x100) !== 0);
  }

  /** A complete header block for stream `id`. */
  private block(id: number, flags: number, b: Buffer, s: number, e: number, selfDependent: boolean): void {
    fieldCount = 0;
    this.blocks++;
    let size: number;
    try {
      size = this.decoder.decode(b, s, e, emit, MAX_HEADER_LIST);
    } catch (err) {
      if (err instanceof HpackError) return this.fail(F.COMPRESSION_ERROR);
      throw err;
    }
    const n = fieldCount;
    const endStream = (flags & F.END_STREAM) !== 0;
    const st = this.streams.get(id);
    if (st !== undefined) return this.trailers(st, n, endStream, size);
    if (id <= this.lastId) {
      // a stream we reset: its trailers were in flight; a stream that was open and is closed: STREAM_CLOSED
      // (§5.1); an id the client skipped over, never opened: not above the last one (§5.1.1)
      if (!this.droppable(id)) this.fail(this.wasSkipped(id) ? F.PROTOCOL_ERROR : F.STREAM_CLOSED);
      return;
    }
    const next = this.lastId === 0 ? 1 : this.lastId + 2;
    if (id > next && this.skipped.length < 2 * SKIPS_KEPT) this.skipped.push(next, id - 2);
    this.lastId = id;
    if (this.goawaySent) return; // after GOAWAY no new stream is processed
    this.opened++;
    if (selfDependent) return this.refuse(id, F.PROTOCOL_ERROR);
    if (this.streams.size >= MAX_CONCURRENT) {
      this.premature++;
      this.refuse(id, F.REFUSED_STREAM);
      return this.calm();
    }
    const tooLarge = size > MAX_HEADER_LIST;
    if (!tooLarge && !requestFieldsOk(names, values, n, false)) return this.refuse(id, F.PROTOCOL_ERROR);
    const ns = new ServerStream(this, id, this.peer.initialWindowSize, STREAM_WINDOW);
    this.streams.set(id, ns);
    if (endStream) ns.remoteEnded = true;
    if (tooLarge) this.handler.onTooLarge(ns);
    else this.handler.onRequest(ns, names, values, n, endStream);
  }

  /** A second header block on an open stream (`size`: its header list size): the request's trailers (they must end it). */
  private trailers(st: ServerStream, n: number, endStream: boolean, size: number): void {
    if (st.remoteEnded) return this.resetStream(st, F.STREAM_CLOSED);
    if (!endStream) return this.resetStream(st, F.PROTOCOL_ERROR);
    // Envoy's max_headers_count (100) and max_request_headers_kb (60) count trailers too: its codec
    // resets the stream (nghttp2: INTERNAL_ERROR). Past MAX_HEADER_LIST the decoder stopped giving
    // fields: over the limit as well (was: the fields before the cut passed on as the trailers).
    if (size > MAX_HEADER_LIST || trailersOverLimit(names, values, n)) return this.resetStream(st, F.INTERNAL_ERROR);
    const t = requestHeaders(names, values, n, true);
    if (t === null) return this.resetStream(st, F.PROTOCOL_ERROR);
    st.remoteEnded = true;
    const sink = st.sink;
    if (sink !== null && !st.ignoreBody) {
      if (st.paused || st.inbox !== null) {
        st.inbox ??= [];
        st.inboxTrailers = t;
        st.inboxEnd = true;
        return;
      }
      sink.clientTrailers(t);
      if (!st.isClosed) sink.clientEnded();
    }
    this.remoteEnd(st);
  }

  /** A stream refused before it had a ServerStream. */
  private refuse(id: number, code: number): void {
    this.out.frame32(F.RST_STREAM, id, code);
    this.rememberReset(id);
  }


  private wasSkipped(id: number): boolean {
    const k = this.skipped;
    for (let i = 0; i < k.length; i += 2) if (id >= k[i]! && id <= k[i + 1]!) return true;
    return false;
  }

  /** Frames for closed stream `id` that are dropped, not errors: we reset it, or it came after our GOAWAY. */
  private droppable(id: number): boolean {
    return this.resetIds.has(id) || (this.goawaySent && id > this.goawayLast);
  }

  private settings(b: Buffer, s: number, e: number, flags: number, id: number): void {
    if (id !== 0) return this.fail(F.PROTOCOL_ERROR);
    if ((flags & F.ACK) !== 0) {
      if (e !== s) this.fail(F.FRAME_SIZE_ERROR);
      return;
    }
    const peer = this.peer;
    const oldWindow = peer.initialWindowSize;
    const oldTable = peer.headerTableSize;
    const err = F.readSettings(b, s, e, peer);
    if (err !== 0) return this.fail(err);
    if (peer.headerTableSize !== oldTable) this.encoder.setMaxTableSize(peer.headerTableSize);
    const delta = peer.initialWindowSize - oldWindow;
    if (delta !== 0) {
      for (const st of this.streams.values()) {
        st.sendWindow += delta;
        if (st.sendWindow > F.MAX_WINDOW) return this.fail(F.FLOW_CONTROL_ERROR);
      }
    }
    this.out.frame(F.SETTINGS, F.ACK, 0, null, 0, 0);
    if (delta > 0) this.pumpAll();
  }

  private windowUpdate(b: Buffer, s: number, len: number, id: number): void {
    if (len !== 4) return this.fail(F.FRAME_SIZE_ERROR);
    const inc = F.u31(b, s);
    if (++this.windowUpdates > 1 + 2 * (this.blocks + WINDOW_UPDATES_PER_DATA * this.dataSent)) return this.fail(F.ENHANCE_YOUR_CALM);
    if (id === 0) {
      if (inc === 0) return this.fail(F.PROTOCOL_ERROR);
      this.connSend += inc;
      if (this.connSend > F.MAX_WINDOW) return this.fail(F.FLOW_CONTROL_ERROR);
      return this.pumpAll();
    }
    if (id > this.lastId) return this.fail(F.PROTOCOL_ERROR);
    const st = this.streams.get(id);
    if (st === undefined) return;
    if (inc === 0) return this.resetStream(st, F.PROTOCOL_ERROR);
    st.sendWindow += inc;
    if (st.sendWindow > F.MAX_WINDOW) return this.resetStream(st, F.FLOW_CONTROL_ERROR);
    this.pump(st);
    this.relieve(st);
  }

  private rstStream(len: number, id: number): void {
    if (len !== 4) return this.fail(F.FRAME_SIZE_ERROR);
    if (id === 0 || id > this.lastId) return this.fail(F.PROTOCOL_ERROR);
    const st = this.streams.get(id);
    if (st === undefined) return;
    if (!st.localEnded || st.queued > 0) this.premature++;
    this.closeStream(st);
    this.calm();
  }

  /**
   * A stream reset by us: one the client's protocol error made us reset before its response was
   * done counts as a premature reset too ("MadeYouReset", CVE-2025-8671: a WINDOW_UPDATE of 0, DATA
   * past the window or the content-length... reset the stream while its exchange goes on upstream,
   * and the client may open another at once, as with its own resets).
   */
  override resetStream(st: ServerStream, code: number): void {
    if (st.isClosed) return;
    const fault = code === F.PROTOCOL_ERROR || code === F.FLOW_CONTROL_ERROR || code === F.STREAM_CLOSED || code === F.FRAME_SIZE_ERROR;
    if (fault && (!st.localEnded || st.queued > 0)) this.premature++;
    super.resetStream(st, code);
    if (fault) this.calm();
  }

  /** Rapid reset (CVE-2023-44487): a client that mostly opens streams to reset them is sent away. */
  private calm(): void {
    if (this.premature >= PREMATURE_RESETS && this.premature * 2 >= this.opened) this.fail(F.ENHANCE_YOUR_CALM);
  }

  // --- streams ---

  /** resume() on a paused stream: hand on what it kept, in a microtask (the exchange is the caller). */
  resumed(st: ServerStream): void {
    if (st.inbox === null) return this.credit(st, 0);
    queueMicrotask(() => this.deliverInbox(st));
  }

  private deliverInbox(st: ServerStream): void {
    const box = st.inbox;
    const sink = st.sink;
    if (box === null || sink === null || st.paused || st.isClosed) return;
    let i = 0;
    while (i < box.length && !st.paused && !st.isClosed) sink.fromClient(box[i++]!);
    if (st.isClosed) {
      st.inbox = null;
      return;
    }
    if (st.paused) {
      // paused again while handing on: the rest waits for the next resume, the window stays withheld
      st.inbox = box.slice(i);
      return;
    }
    st.inbox = null;
    this.credit(st, 0);
    this.releaseHeld(st);
    if (st.inboxEnd) {
      st.inboxEnd = false;
      const t = st.inboxTrailers;
      st.inboxTrailers = null;
      if (t !== null) sink.clientTrailers(t);
      if (!st.isClosed) sink.clientEnded();
      this.remoteEnd(st);
    }
  }

  // --- the connection ---

  /** Graceful GOAWAY: no new streams; the connection ends when the open ones are done. */
  goaway(): void {
    if (this.goawaySent || this.dead) return;
    this.goawaySent = true;
    this.goawayLast = this.lastId;
    this.sendGoaway(F.NO_ERROR);
    this.maybeFinish();
  }


  protected maybeFinish(): void {
    if (this.dead || !(this.goawaySent || this.goawayRecv) || this.streams.size > 0) return;
    this.dead = true;
    this.out.end();
  }

  /** A connection error: GOAWAY with `code`, then close. */
  fail(code: number): void {
    if (this.dead) return;
    this.goawaySent = true;
    this.sendGoaway(code);
    this.dead = true;
    this.rest = this.part = null;
    this.stopBlockTimer();
    this.out.end();
    this.closeAll();
  }

  protected flooded(): void {
    if (this.dead) return;
    this.dead = true;
    this.rest = this.part = null;
    this.stopBlockTimer();
    this.raw.terminate();
    this.closeAll();
  }

  /** The connection closed under us. */
  closed(): void {
    this.dead = true;
    this.rest = this.part = null;
    this.stopBlockTimer();
    this.out.drop();
    this.closeAll();
  }

  private closeAll(): void {
    for (const st of this.streams.values()) this.closeStream(st);
  }

  /** Drain on the connection: write what waited. */
  flush(): void {
    this.out.flush();
  }
}


