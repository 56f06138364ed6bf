// When the primary fetches jwksUri keys again (src/security/jwks-schedule.ts): the
// refresh interval while fetches succeed; retries 1 s apart after a load left a URI
// without keys; 1 min then doubling (up to the interval) while fetches fail.
import { describe, expect, test } from "bun:test";
import { JWKS_RETRIES, JwksSchedule } from "../../src/security/jwks-schedule.ts";

const MIN = 60_000;

describe("JwksSchedule", () => {
  test("fetches that succeed: the refresh interval every time", () => {
    const s = new JwksSchedule(20 * MIN);
    for (let i = 0; i < 3; i++) expect(s.next(false, false)).toEqual({ ms: 20 * MIN, missingOnly: false });
  });

  test("a URI without keys after a load: 7 retries 1 s apart of that URI alone, then the failure backoff", () => {
    const s = new JwksSchedule(20 * MIN);
    expect(s.missing()).toEqual({ ms: 1000, missingOnly: true });
    for (let i = 0; i < JWKS_RETRIES; i++) expect(s.next(true, true)).toEqual({ ms: 1000, missingOnly: true });
    expect(s.next(true, true)).toEqual({ ms: MIN, missingOnly: false });
    expect(s.next(true, true)).toEqual({ ms: 2 * MIN, missingOnly: false });
  });

  test("keys fetched during the retries: back to the refresh interval", () => {
    const s = new JwksSchedule(20 * MIN);
    s.missing();
    expect(s.next(true, true).ms).toBe(1000);
    expect(s.next(false, false)).toEqual({ ms: 20 * MIN, missingOnly: false });
    expect(s.next(true, true)).toEqual({ ms: MIN, missingOnly: false }); // the retries were used up by the success
  });

  test("failing fetches (last good keys kept): 1 min, then doubling up to the refresh interval, reset by a success", () => {
    const s = new JwksSchedule(20 * MIN);
    expect([1, 2, 3, 4, 5, 6].map(() => s.next(false, true).ms)).toEqual([MIN, 2 * MIN, 4 * MIN, 8 * MIN, 16 * MIN, 20 * MIN]);
    expect(s.next(false, false).ms).toBe(20 * MIN);
    expect(s.next(false, true).ms).toBe(MIN);
  });

  test("a refresh interval shorter than the retry and failure delays bounds them", () => {
    const s = new JwksSchedule(300);
    expect(s.missing().ms).toBe(300);
    expect(s.next(false, true).ms).toBe(300);
    expect(s.next(false, true).ms).toBe(300);
  });
});
