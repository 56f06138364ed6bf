// "did you mean": the closest known name to a misspelt one, as kubectl and
// istioctl suggest. Optimal string alignment distance (Levenshtein plus the
// swap of two neighbours), case-insensitive. editDistance is the one copy;
// the command line (src/cli/args.ts) keeps its own, stricter threshold.

/** Optimal string alignment distance: insertions, deletions, substitutions, adjacent swaps. */
export function editDistance(a: string, b: string): number {
  const n = a.length;
  const m = b.length;
  if (n === 0) return m;
  if (m === 0) return n;
  let prev2 = new Array<number>(m + 1).fill(0);
  let prev = Array.from({ length: m + 1 }, (_, j) => j);
  let cur = new Array<number>(m + 1).fill(0);
  for (let i = 1; i <= n; i++) {
    cur[0] = i;
    for (let j = 1; j <= m; j++) {
      const cost = a.charCodeAt(i - 1) === b.charCodeAt(j - 1) ? 0 : 1;
      let d = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, prev2[j - 2]! + 1);
      cur[j] = d;
    }
    [prev2, prev, cur] = [prev, cur, prev2];
  }
  return prev[m]!;
}

/** The known name closest to `name`, or null when none is close enough to be a typo. */
export function closest(name: string, known: Iterable<string>): string | null {
  const lower = name.toLowerCase();
  const limit = lower.length <= 3 ? 1 : lower.length <= 6 ? 2 : 3;
  let best: string | null = null;
  let bestD = limit + 1;
  for (const k of known) {
    const d = editDistance(lower, k.toLowerCase());
    if (d < bestD) {
      best = k;
      bestD = d;
    }
  }
  return best;
}

/** `; did you mean "x"?` or "". */
export function didYouMean(name: string, known: Iterable<string>): string {
  const c = closest(name, known);
  return c === null || c === name ? "" : `; did you mean ${JSON.stringify(c)}?`;
}
