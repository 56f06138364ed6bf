// Circuit-breaker admission as Envoy's connection pool decides it.
import { describe, expect, test } from "bun:test";
import { CircuitBreaker } from "../../src/upstream/circuit-breaker.ts";
import { NO_LIMITS } from "../../src/snapshot/upstream.ts";

const cb = (l: Partial<typeof NO_LIMITS>, state: Partial<Pick<CircuitBreaker, "connections" | "pending" | "active">> = {}) => Object.assign(new CircuitBreaker({ ...NO_LIMITS, ...l }), state);

describe("admit", () => {
  test.each([
    ["no limits, nothing idle: connect", {}, {}, false, "connect"],
    ["no limits, idle at hand: use it", {}, { connections: 5, active: 4 }, true, "use_idle"],
    ["max connections reached: wait (pending)", { maxConnections: 1 }, { connections: 1, active: 1 }, false, "queue"],
    ["max connections and max pending reached: overflow", { maxConnections: 1, maxPendingRequests: 1 }, { connections: 1, active: 1, pending: 1 }, false, "overflow"],
    ["a pending slot is needed even to connect", { maxPendingRequests: 1 }, { pending: 1 }, false, "overflow"],
    ["max requests in flight: overflow even with an idle connection", { maxRequests: 2 }, { connections: 3, active: 2 }, true, "overflow"],
    ["under max requests", { maxRequests: 2 }, { connections: 3, active: 1 }, true, "use_idle"],
  ])("%s", (_n, limits, state, idle, want) => {
    expect(cb(limits, state).admit(idle)).toBe(want as never);
  });

  test("Istio's circuit-breaking task: maxConnections 1, http1MaxPendingRequests 1 → the third concurrent request overflows", () => {
    const b = cb({ maxConnections: 1, maxPendingRequests: 1 });
    expect(b.admit(false)).toBe("connect");
    b.pending++;
    b.connections++;
    b.pending--; // connected
    b.active++;
    expect(b.admit(false)).toBe("queue");
    b.pending++;
    expect(b.admit(false)).toBe("overflow");
    expect(b.overflows.pending).toBe(1);
  });

  test("retries in flight are limited by maxRetries", () => {
    const b = cb({ maxRetries: 1 });
    expect(b.admitRetry()).toBe(true);
    b.retries++;
    expect([b.admitRetry(), b.overflows.retries]).toEqual([false, 1]);
  });
});
