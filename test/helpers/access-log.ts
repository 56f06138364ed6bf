// Reading a worker's access log back in tests: the worker writes a line after
// the exchange or session ends, so every read waits, bounded.
import { readFileSync } from "node:fs";

function readLines(file: string): string[] {
  try {
    return readFileSync(file, "utf8").split("\n").filter((l) => l !== "");
  } catch {
    return [];
  }
}

/** Access-log lines matching `pred`, once there are `n` of them (bounded: what there is after `ms`). */
export async function logLines(file: string, pred: (l: string) => boolean = () => true, n = 1, ms = 5000): Promise<string[]> {
  const read = () => readLines(file).filter(pred);
  const end = Date.now() + ms;
  while (read().length < n && Date.now() < end) await Bun.sleep(20);
  return read();
}

/**
 * A reader of `file`'s new lines: each call waits (at most `ms`) for a line
 * after the ones already returned and gives the newest; throws when none comes.
 */
export function logTail(file: string, ms = 3000): () => Promise<string> {
  let seen = 0;
  return async () => {
    const end = Date.now() + ms;
    for (;;) {
      const lines = readLines(file);
      if (lines.length > seen) {
        seen = lines.length;
        return lines[lines.length - 1]!;
      }
      if (Date.now() >= end) throw new Error(`no access-log line in ${file}`);
      await Bun.sleep(20);
    }
  };
}
