// Watches configuration and secret directories and calls back, debounced, when
// anything below them may have changed. Two sources: fs.watch (fast) on each
// directory and its parent (atomic renames, `..data` symlink swaps), and a
// periodic stat fingerprint (a safety net for events fs.watch misses, e.g.
// a directory replaced under a watch). Latest wins: events during a reload
// schedule one more reload, never a queue.
import { watch, type FSWatcher, readdirSync, statSync } from "node:fs";
import { dirname, join } from "node:path";

export interface Watcher {
  close(): void;
}

export interface WatchOptions {
  /** Quiet time after the last event before the callback runs (default 100 ms). */
  debounceMs?: number;
  /** The longest events may postpone a pending run (default 1 s). */
  maxWaitMs?: number;
  pollMs?: number;
  /** Single files outside the directories to poll too (certificate files a Gateway names). */
  files?: () => string[];
}

function fileStamp(p: string): string {
  try {
    const st = statSync(p);
    return `${p}:${st.ino}:${st.size}:${st.mtimeMs}`;
  } catch {
    return `?${p}`;
  }
}

/** A cheap digest of names, sizes, mtimes and inodes below `dir` (following links), or of `dir` itself when it is a file. */
export function fingerprint(dir: string, acc: string[] = [], depth = 0): string[] {
  if (depth > 16) return acc;
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    acc.push(depth === 0 ? fileStamp(dir) : `!${dir}`); // `--config FILE`: the file itself
    return acc;
  }
  names.sort();
  for (const name of names) {
    const p = join(dir, name);
    try {
      const st = statSync(p);
      if (st.isDirectory()) {
        // hidden volume folders are reached through their visible links
        if (!name.startsWith(".")) fingerprint(p, acc, depth + 1);
      } else {
        acc.push(`${p}:${st.ino}:${st.size}:${st.mtimeMs}`);
      }
    } catch {
      acc.push(`?${p}`);
    }
  }
  return acc;
}

export function watchDirs(dirs: string[], onChange: () => Promise<void> | void, opts: WatchOptions = {}): Watcher {
  const debounceMs = opts.debounceMs ?? 100;
  const maxWaitMs = opts.maxWaitMs ?? 1000;
  const pollMs = opts.pollMs ?? 1000;
  const watchers: FSWatcher[] = [];
  let timer: ReturnType<typeof setTimeout> | null = null;
  let running = false;
  let again = false;
  let closed = false;
  const print = () =>
    dirs.map((d) => fingerprint(d).join("\n")).join("\n--\n") + "\n--\n" + (opts.files?.() ?? []).map(fileStamp).join("\n");
  let last = print();

  const run = async (): Promise<void> => {
    if (closed) return;
    if (running) {
      again = true;
      return;
    }
    running = true;
    try {
      last = print();
      await onChange();
    } catch {
      // the callback reports its own failures
    } finally {
      running = false;
      if (again && !closed) {
        again = false;
        schedule();
      }
    }
  };

  /** When the pending run was first asked for: events keep postponing it, up to maxWaitMs. */
  let pendingSince = 0;
  const schedule = (): void => {
    if (closed) return;
    const now = Date.now();
    if (timer !== null) {
      // a file written without pause (a log beside the config) must not hold reloads back forever
      if (now - pendingSince >= maxWaitMs) return;
      clearTimeout(timer);
    } else pendingSince = now;
    timer = setTimeout(
      () => {
        timer = null;
        void run();
      },
      Math.min(debounceMs, Math.max(0, pendingSince + maxWaitMs - now)),
    );
  };

  const listen = (target: string, recursive: boolean): void => {
    try {
      const w = watch(target, { recursive }, () => schedule());
      w.on("error", () => {});
      watchers.push(w);
    } catch {
      // not watchable (gone, permissions): the poll still covers it
    }
  };
  for (const d of dirs) {
    listen(d, true);
    // the parent, shallow: catches the directory itself being renamed over
    listen(dirname(d), false);
  }

  const poll = setInterval(() => {
    if (running || timer !== null) return;
    if (print() !== last) schedule();
  }, pollMs);

  return {
    close() {
      closed = true;
      clearInterval(poll);
      if (timer !== null) clearTimeout(timer);
      for (const w of watchers) w.close();
    },
  };
}
