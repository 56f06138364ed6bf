// Correctness + raw loopback speed of bench/ceiling-splice-ffi.ts, no TLS, no wrk: a
// client uploads U MB then half-closes; the backend, on that FIN, answers N MB then
// closes. Checks every byte arrives both ways through the half-close; prints ms per round.
// Usage: MODE=js|splice [SR_COPY=1] [HANDOFF=bytes] bun bench/ceiling-splice-ffi-check.ts [N MB=50] [U MB=10] [rounds=5]
import { join } from "node:path";

const [nMB = 50, uMB = 10, rounds = 5] = process.argv.slice(2).map(Number);
const N = nMB * 1024 * 1024;
const U = uMB * 1024 * 1024;
interface B { got: number; go?: () => void }
const out = Buffer.alloc(N, 7);
const back = Bun.listen<B>({
  allowHalfOpen: true,
  hostname: "127.0.0.1",
  port: 0,
  socket: {
    open(s) {
      s.data = { got: 0 };
    },
    data(s, b) {
      s.data.got += b.length;
    },
    end(s) {
      if (s.data.got !== U) console.log(`BAD: backend got ${s.data.got} of ${U}`);
      let off = 0;
      s.data.go = () => {
        while (off < N) {
          const n = s.write(out.subarray(off));
          off += n;
          if (n === 0) return;
        }
        s.end();
      };
      s.data.go();
    },
    drain(s) {
      s.data.go?.();
    },
  },
});
const free = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
const port = free.port;
free.stop(true);
const relay = Bun.spawn([process.execPath, join(import.meta.dir, "ceiling-splice-ffi.ts"), String(port), String(back.port)], { stdout: "inherit", stderr: "inherit" });
await Bun.sleep(500);
const up = Buffer.alloc(U, 1);
const times: number[] = [];
let bad = 0;
for (let round = 0; round < rounds; round++) {
  const t0 = performance.now();
  await new Promise<void>((res) => {
    let got = 0;
    let off = 0;
    Bun.connect<{ go: () => void }>({
      allowHalfOpen: true,
      hostname: "127.0.0.1",
      port,
      socket: {
        open(s) {
          s.data = {
            go: () => {
              while (off < U) {
                const n = s.write(up.subarray(off));
                off += n;
                if (n === 0) return;
              }
              s.shutdown();
            },
          };
          s.data.go();
        },
        drain(s) {
          s.data.go();
        },
        data(_s, b) {
          got += b.length;
        },
        close() {
          if (got !== N) {
            bad++;
            console.log(`BAD: client got ${got} of ${N}`);
          }
          times.push(performance.now() - t0);
          res();
        },
      },
    });
  });
}
relay.kill();
back.stop(true);
times.sort((a, b) => a - b);
console.log(`${process.env.MODE ?? "js"}${process.env.SR_COPY ? " copy" : ""}: ${rounds} rounds ${nMB}+${uMB} MB, ${bad} bad, median ${times[times.length >> 1].toFixed(0)} ms (${times.map((t) => t.toFixed(0)).join(" ")})`);
