// The native relay (native-relay.c, compiled with bun:ffi's cc when a TLS or TCP port opens): a thread of
// this worker with its own epoll that moves a TCP session's bytes once both ends are raw
// sockets and the session relayed RELAY_HANDOFF bytes in JS (1.15× the JS relay's bulk
// rate at 0.69× its CPU per GB, bench/README.md). The thread works on dups of the two fds;
// the Bun sockets stay paused and the session closes them when the pair is over.
// GANGWAY_RELAY=js: never (the pure-Bun relay); a C compile that fails logs one line and
// leaves the JS relay in place. GANGWAY_RELAY_HANDOFF=<bytes> sets the threshold.
import { cc, JSCallback, toArrayBuffer, type Pointer } from "bun:ffi";
import { workerLog } from "../context.ts";

/** Whether GANGWAY_RELAY asks for the native relay (the default) and the platform has it. */
function nativeWanted(): boolean {
  return process.env.GANGWAY_RELAY !== "js" && process.platform === "linux";
}

export const relayOptions = {
  /** Use the native relay (tests switch). */
  native: nativeWanted(),
  /** Bytes a session relays in JS before it is handed over (short sessions never are): a hand-off costs ~50-300 µs of CPU, paid back only by sessions of a few MB (bench/relay-handoff.ts). */
  handoff: Number(process.env.GANGWAY_RELAY_HANDOFF ?? 1024 * 1024),
};

/** Sessions handed to the relay so far (tests). */
export let relayHandoffs = 0;

/** What the relay tells when a pair ends by itself (not after close()). */
export interface RelayOwner {
  /** `err` 0: both directions ended; `side` 0/1: both sent FIN, that one first (0: fd a); 2/3: side - 2 closed (after its FIN) while it was written to, the other may still be open; `err` > 0: an errno on `side`'s fd. */
  onRelayDone(err: number, side: number): void;
}

interface Lib {
  nr_add(a: number, b: number): number;
  nr_close(id: number): void;
  nr_release(id: number): void;
  nr_stop(): void;
}

const MAXPAIRS = 4096; // native-relay.c
let lib: Lib | null = null;
let info: Float64Array | null = null;
let tried = false;
const owners = new Map<number, RelayOwner>();

function done(id: number, err: number, side: number): void {
  const o = owners.get(id);
  owners.delete(id);
  try {
    o?.onRelayDone(err, side);
  } finally {
    lib!.nr_release(id); // after the owner read its final counts
  }
}

function load(): Lib | null {
  tried = true;
  try {
    const { symbols } = cc({
      source: new URL("./native-relay.c", import.meta.url).pathname,
      symbols: {
        nr_start: { args: ["ptr"], returns: "int" },
        nr_stop: { args: [], returns: "void" },
        nr_add: { args: ["int", "int"], returns: "int" },
        nr_close: { args: ["int"], returns: "void" },
        nr_release: { args: ["int"], returns: "void" },
        nr_info: { args: [], returns: "ptr" },
        nr_debug: { args: ["int"], returns: "void" },
      },
    });
    const cb = new JSCallback(done, { args: ["int", "int", "int"], returns: "void", threadsafe: true });
    if (process.env.GANGWAY_RELAY_DEBUG === "1") symbols.nr_debug(1);
    const r = symbols.nr_start(cb.ptr);
    if (r !== 0) throw new Error(`nr_start: errno ${-r}`);
    info = new Float64Array(toArrayBuffer(symbols.nr_info() as Pointer, 0, MAXPAIRS * 4 * 8));
    // a worker that exits (an uncaught error, process.exit) ends its pairs and the callbacks
    // into its JS; Worker.terminate() runs no hook: the drain calls relayStop() before it
    process.on("exit", relayStop);
    return symbols as unknown as Lib;
  } catch (err) {
    workerLog("warn", `native TCP relay unavailable, relaying in JS: ${String((err as Error)?.message ?? err).split("\n")[0]}`);
    return null;
  }
}

/** The relay, compiled and started on first use; null: relay in JS. */
function relay(): Lib | null {
  if (!tried) lib = load();
  return lib;
}

/** Compile and start the relay now (a port that may relay TCP opens): ~10-25 ms once per worker, not during its first bulk session. */
export function relayWarm(): void {
  if (relayOptions.native) relay();
}

/** Hand fds a and b to the relay: its pair id, or -1 (nothing taken: keep relaying in JS). */
export function relayAdd(a: number, b: number, owner: RelayOwner): number {
  if (!relayOptions.native || !(a >= 0) || !(b >= 0)) return -1;
  const l = relay();
  if (l === null) return -1;
  const id = l.nr_add(a, b);
  if (id < 0) return -1;
  owners.set(id, owner);
  relayHandoffs++;
  return id;
}

/** Bytes moved so far by pair `id`: from a to b (dir 0), from b to a (dir 1). */
export function relayBytes(id: number, dir: 0 | 1): number {
  return info![id * 4 + dir]!;
}

/** FINs seen by pair `id`: 1: from a, 2: from b, 4: passed on to b, 8: passed on to a. */
export function relayFins(id: number): number {
  return info![id * 4 + 2]!;
}

/** Whether pair `id`'s socket a (0) or b (1) is closed both ways: its FIN read, ours passed on to it. */
export function relaySideClosed(id: number, side: 0 | 1): boolean {
  const f = info![id * 4 + 2]!;
  return (f & (1 << side)) !== 0 && (f & (4 << (1 - side))) !== 0;
}

/** End pair `id` now (its fds closed on return, its counts final until the next relayAdd); its owner hears nothing more. */
export function relayClose(id: number): void {
  if (!owners.delete(id)) return;
  lib!.nr_close(id);
}

/** Pairs running now (tests). */
export function relayPairs(): number {
  return owners.size;
}

/** The worker goes away: no callback from the thread from now on. */
export function relayStop(): void {
  for (const id of [...owners.keys()]) relayClose(id);
  lib?.nr_stop();
}
