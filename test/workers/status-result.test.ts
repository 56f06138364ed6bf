// The shared `{kind: "status"}` outlier results (exchange.ts statusResult): one per status, the same
// object each time, and what outlier detection reads of it is the status asked for.
import { describe, expect, test } from "bun:test";
import { statusResult } from "../../workers/http/exchange.ts";

describe("statusResult", () => {
  test.each([100, 200, 204, 404, 500, 502, 503, 504, 599])("%d", (s) => {
    const r = statusResult(s);
    expect(r).toEqual({ kind: "status", status: s });
    expect(statusResult(s)).toBe(r);
  });
  test("different statuses, different objects", () => {
    expect(statusResult(502)).not.toBe(statusResult(503));
  });
});
