// The states of one exchange (an HTTP/1.1 request or an HTTP/2 stream, which
// runs the same Exchange on a child connection) and the transitions between
// them, in one place. Exchange.to() is the only writer of the state; the
// response side (response.ts) reports events to the Exchange, which moves.
//
//   NEW ──decide──▶ CONNECTING ──head written──▶ WAITING ──response head──▶ STREAMING ──body end──▶ DONE
//    │                 ▲    │                      │  │                         │                     │
//    │                 └────┼──── retry (dead ─────┘  └──101──▶ TUNNEL ─────────┼─────────────┐       │
//    │                      │     reused conn)                                 │             ▼       ▼
//    └── local reply ───────┴──── local reply (connect failure, 5xx, timeout) ─┴──────────▶ DONE ─▶ FINISHED
//
// Any state but FINISHED may also go straight to FINISHED (the client went
// away, the request body broke after the response started). A retry (the
// route's retry policy, or a reused connection found dead) goes back to
// CONNECTING from WAITING, or from CONNECTING after a connect failure; a
// retriable response head is dropped before it reaches STREAMING.
import { ExchangeRecord } from "./exchange-record.ts";

export const NEW = 0;
/** Forwarding: waiting for an upstream connection (new, or a retry's). */
export const CONNECTING = 1;
/** The request head is on the upstream connection; no response head yet. */
export const WAITING = 2;
/** The response head went to the client; its body is streaming. */
export const STREAMING = 3;
/** A 101 was passed on: bytes are spliced both ways. */
export const TUNNEL = 4;
/** The response is complete (forwarded or a local reply); the request side may still be reading. */
export const DONE = 5;
/** Logged, counted, handed back to the connection. */
export const FINISHED = 6;

export type ExchangeState = typeof NEW | typeof CONNECTING | typeof WAITING | typeof STREAMING | typeof TUNNEL | typeof DONE | typeof FINISHED;

export const STATE_NAMES = ["new", "connecting", "waiting", "streaming", "tunnel", "done", "finished"] as const;

const bit = (...s: number[]): number => s.reduce((m, x) => m | (1 << x), 0);

/** LEGAL[from] has bit `to` set when from → to is allowed. */
const LEGAL: readonly number[] = [
  /* NEW */ bit(CONNECTING, DONE, FINISHED),
  /* CONNECTING */ bit(CONNECTING, WAITING, DONE, FINISHED),
  /* WAITING */ bit(CONNECTING, STREAMING, TUNNEL, DONE, FINISHED),
  /* STREAMING */ bit(DONE, FINISHED),
  /* TUNNEL */ bit(FINISHED),
  /* DONE */ bit(FINISHED),
  /* FINISHED */ 0,
];

export function legal(from: ExchangeState, to: ExchangeState): boolean {
  return (LEGAL[from]! & (1 << to)) !== 0;
}

/** The state of an exchange and what follows from it; Exchange extends it (and the access-log record). */
export abstract class ExchangeStates extends ExchangeRecord {
  /** Where the exchange is; only to() changes it. */
  state: ExchangeState = NEW;

  protected to(next: ExchangeState): void {
    if (!legal(this.state, next)) throw new Error(`exchange: ${STATE_NAMES[this.state]} → ${STATE_NAMES[next]} is not a legal transition`);
    this.state = next;
  }

  /** The response head went (or is going) to the client. */
  get respStarted(): boolean {
    return this.state >= STREAMING;
  }
  /** Nothing more of the response is to come (complete, tunnelled, or a local reply). */
  get respDone(): boolean {
    return this.state >= TUNNEL;
  }
  get tunnel(): boolean {
    return this.state === TUNNEL;
  }
  get finished(): boolean {
    return this.state === FINISHED;
  }
}
