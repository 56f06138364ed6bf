// DeadlineQueue (workers/deadline-queue.ts): items expire in order at their deadline, cancelled
// ones never, one timer armed at a time (for the earliest item still wanted), tickets stay valid
// across the queue's compaction; then with real timers.
import { describe, expect, test } from "bun:test";
import { DeadlineQueue, NO_TICKET } from "../../workers/deadline-queue.ts";

/** A clock and timers moved by hand. */
function manual() {
  let now = 0;
  let next: { f: () => void; at: number } | null = null;
  let armed = 0;
  const timers = {
    set(f: () => void, ms: number) {
      if (next !== null) throw new Error("two timers armed");
      next = { f, at: now + ms };
      armed++;
      return 1 as unknown as ReturnType<typeof setTimeout>;
    },
    clear() {
      next = null;
    },
  };
  return {
    clock: () => now,
    timers,
    armed: () => armed,
    pending: () => next !== null,
    /** Move the clock to `t`, running the timer when it is due. */
    advance(t: number) {
      while (next !== null && next.at <= t) {
        now = next.at;
        const f = next.f;
        next = null;
        f();
      }
      now = t;
    },
  };
}

describe("DeadlineQueue", () => {
  test("items expire at their deadline, in order; cancelled ones never", () => {
    const m = manual();
    const out: string[] = [];
    const q = new DeadlineQueue<string>(100, (s) => out.push(`${s}@${m.clock()}`), (e) => out.push(`err ${e}`), m.clock, m.timers);
    const a = q.add("a");
    m.advance(10);
    const b = q.add("b");
    m.advance(20);
    q.add("c");
    q.cancel(b);
    m.advance(99);
    expect(out).toEqual([]);
    m.advance(100);
    expect(out).toEqual(["a@100"]);
    m.advance(200);
    expect(out).toEqual(["a@100", "c@120"]);
    expect(q.pending).toBe(0);
    expect(m.pending()).toBe(false); // nothing left: no timer
    q.cancel(a); // already expired: nothing
    q.cancel(NO_TICKET);
    expect(out).toEqual(["a@100", "c@120"]);
  });

  test("one timer at a time; a cancelled head moves it to the next item wanted", () => {
    const m = manual();
    const out: number[] = [];
    const q = new DeadlineQueue<number>(50, (n) => out.push(n), () => {}, m.clock, m.timers);
    const t = [];
    for (let i = 0; i < 10; i++) {
      t.push(q.add(i));
      m.advance(m.clock() + 1);
    }
    expect(m.armed()).toBe(1);
    for (let i = 0; i < 9; i++) q.cancel(t[i]!);
    m.advance(200);
    expect(out).toEqual([9]);
    expect(m.armed()).toBe(2); // at the first deadline, then once for item 9
  });

  test("an expiry that throws is reported and the others still expire", () => {
    const m = manual();
    const out: string[] = [];
    const q = new DeadlineQueue<string>(5, (s) => {
      if (s === "bad") throw new Error("boom");
      out.push(s);
    }, (e) => out.push(`reported ${(e as Error).message}`), m.clock, m.timers);
    q.add("bad");
    q.add("good");
    m.advance(10);
    expect(out).toEqual(["reported boom", "good"]);
  });

  test("tickets stay right across compaction (thousands waiting, most cancelled)", () => {
    const m = manual();
    const out: number[] = [];
    const q = new DeadlineQueue<number>(1000, (n) => out.push(n), () => {}, m.clock, m.timers);
    const tickets: number[] = [];
    for (let i = 0; i < 5000; i++) {
      tickets.push(q.add(i));
      if (i % 10 === 0) m.advance(m.clock() + 1);
    }
    // keep every 997th, cancel the rest, in an order unlike the adds
    for (let i = 4999; i >= 0; i--) if (i % 997 !== 0) q.cancel(tickets[i]!);
    m.advance(m.clock() + 100); // nothing due yet
    expect(out).toEqual([]);
    const later = q.add(-1);
    m.advance(m.clock() + 1000);
    expect(out).toEqual([0, 997, 1994, 2991, 3988, 4985, -1]);
    q.cancel(later);
    // after compaction and reset, old tickets cancel nothing new
    const n = q.add(7);
    for (const t of tickets) q.cancel(t);
    m.advance(m.clock() + 2000);
    expect(out.at(-1)).toBe(7);
    expect(n).toBeGreaterThan(tickets.at(-1)!);
  });

  test("clear: nothing expires after it", () => {
    const m = manual();
    const out: number[] = [];
    const q = new DeadlineQueue<number>(10, (n) => out.push(n), () => {}, m.clock, m.timers);
    q.add(1);
    q.clear();
    m.advance(100);
    expect(out).toEqual([]);
    expect(q.pending).toBe(0);
  });

  test("real timers: the wanted items expire, the cancelled do not", async () => {
    const out: number[] = [];
    const q = new DeadlineQueue<number>(20, (n) => out.push(n), () => {});
    const t1 = q.add(1);
    q.add(2);
    await Bun.sleep(5);
    q.add(3);
    q.cancel(t1);
    for (let i = 0; i < 200 && out.length < 2; i++) await Bun.sleep(5);
    expect(out).toEqual([2, 3]);
    expect(q.pending).toBe(0);
  });
});
