// Opens N keep-alive client connections to 127.0.0.1:PORT (TLS when tls=1), sends one
// GET on each, waits for each response head, then keeps them all open and idle for
// HOLD seconds after that (or until killed) and exits. Prints "ready OK FAILED" once every
// connection has answered or failed. Bounded: at most 256 connects in flight, a 60 s cap
// on the opening phase. Loopback only. Used by bench/issue15-memory.sh.
// Usage: bun bench/idle-conns.ts PORT [n=10000] [tls=0] [hold=30]
import type { Socket } from "bun";

const port = Number(process.argv[2]);
const n = Number(process.argv[3] ?? 10_000);
const tls = process.argv[4] === "1";
const hold = Number(process.argv[5] ?? 30);
const request = "GET / HTTP/1.1\r\nHost: bench.local\r\n\r\n";
const sockets: Socket[] = [];
let ok = 0;
let failed = 0;
let inFlight = 0;
let started = 0;

function settle(good: boolean): void {
  if (good) ok++;
  else failed++;
  inFlight--;
  pump();
}

function open(): void {
  started++;
  inFlight++;
  let answered = false;
  Bun.connect({
    hostname: "127.0.0.1",
    port,
    tls: tls ? { rejectUnauthorized: false } : undefined,
    socket: {
      open(s) {
        sockets.push(s);
        s.write(request);
      },
      data(_s, chunk) {
        if (!answered && chunk.includes("\r\n\r\n")) {
          answered = true;
          settle(true);
        }
      },
      close() {
        if (!answered) {
          answered = true;
          settle(false);
        }
      },
      connectError() {
        answered = true;
        settle(false);
      },
    },
  }).catch(() => {
    if (!answered) {
      answered = true;
      settle(false);
    }
  });
}

let reported = false;
function pump(): void {
  while (started < n && inFlight < 256) open();
  if (!reported && ok + failed === n) {
    reported = true;
    console.log(`ready ${ok} ${failed}`);
    setTimeout(() => process.exit(0), hold * 1000);
  }
}

setTimeout(() => {
  if (!reported) console.log(`ready ${ok} ${failed} (opening phase cut at 60 s)`), (reported = true);
}, 60_000).unref();
// every connection is kept open until the process exits (that is the point): the cap on the whole run
setTimeout(() => process.exit(0), (60 + hold) * 1000);
pump();
