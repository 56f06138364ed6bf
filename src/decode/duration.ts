// Durations as Istio reads them: Go's time.ParseDuration syntax (`1.5s`, `500ms`,
// `1m30s`, `1h`, `0`), which also covers protobuf JSON's `1.500s`.

const UNIT_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  "µs": 1e-3,
  "μs": 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

const PART = /([0-9]*(?:\.[0-9]*)?)(ns|us|µs|μs|ms|s|m|h)/y;

/** Milliseconds (fractions kept), or null when the text is not a non-negative duration. */
export function parseDuration(text: string): number | null {
  const s = text.trim();
  if (s === "0") return 0;
  if (s === "") return null;
  let total = 0;
  let at = 0;
  while (at < s.length) {
    PART.lastIndex = at;
    const m = PART.exec(s);
    if (m === null || m[1] === "" || m[1] === ".") return null;
    total += Number(m[1]) * UNIT_MS[m[2]!]!;
    at = PART.lastIndex;
  }
  return total;
}

/**
 * The longest wait a timer can make: setTimeout fires after 1 ms for anything above
 * 2^31-1 ms (~24.8 days), so a `timeout: 1000h` meant as "practically none" ended
 * every request at once with a 504.
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** parseDuration for a configuration field a timer waits on: longer durations are served as MAX_TIMER_MS (~24.8 days). */
export function parseTimerDuration(text: string): number | null {
  const ms = parseDuration(text);
  return ms === null ? null : Math.min(ms, MAX_TIMER_MS);
}
