// Watches configuration and secret directories and calls back, debounced, when
// anything below them may have changed. Two sources: fs.watch (fast) on each
// directory, and on its parent for the directory's own entry only (renamed over,
// or a `..data` swap when `--config` names a file of a mounted volume), and a
// periodic stat fingerprint of the directories (a safety net for events fs.watch
// misses, e.g. a directory replaced under a watch). Other writes in the parent (an
// access log beside the config folder) are ignored: each one used to re-read and
// re-parse the whole configuration. Latest wins: events during a reload schedule
// one more reload, never a queue. A run the callback reports as not done (false: a
// transient failure, such as the process being out of file descriptors) is run again at
// the next poll, though nothing looks changed: `--config FILE` is fingerprinted by a
// stat, which needs no descriptor, so the edit that failed to load would not show again.
import { watch, type FSWatcher, readdirSync, statSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { outOfDescriptors } from "./descriptors.ts";

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
  /** Called for an event in a parent folder that does not concern the watched entry (tests, debugging). */
  onIgnored?: (parent: string, name: string) => void;
  /**
   * What the caller read: `watchPrint(dirs, files)` taken before its own first read of the
   * files. When the same print differs as the watch starts (a file written between that
   * read and the watch), the callback runs once, as for a change seen later.
   */
  baseline?: { print: string | null; files: string[] };
}

/** The digest of `dirs` and single `files` (fingerprint, fileStamp); null while out of descriptors (it cannot tell). */
export function watchPrint(dirs: string[], files: string[]): string | null {
  try {
    return dirs.map((d) => fingerprint(d).join("\n")).join("\n--\n") + "\n--\n" + files.map(fileStamp).join("\n");
  } catch (err) {
    if (outOfDescriptors(err)) return null;
    throw err;
  }
}

/**
 * Does an event named `name` in the parent of `target` concern `target`? Only its own
 * entry (renamed, replaced, removed) and the kubelet's `..data` swap do; an unnamed
 * event might be anything, so it counts.
 */
export function concernsTarget(target: string, name: string | null): boolean {
  if (name === null || name === "") return true;
  return name === basename(target) || name === "..data";
}

function fileStamp(p: string): string {
  try {
    const st = statSync(p);
    return `${p}:${st.ino}:${st.size}:${st.mtimeMs}`;
  } catch {
    return `?${p}`;
  }
}

/**
 * A cheap digest of names, sizes, mtimes and inodes below `dir` (following links), or of
 * `dir` itself when it is a file. Throws when a folder cannot be listed for want of
 * descriptors (outOfDescriptors): that is no change of the files.
 */
export function fingerprint(dir: string, acc: string[] = [], depth = 0): string[] {
  if (depth > 16) return acc;
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (err) {
    if (outOfDescriptors(err)) throw err;
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

export function watchDirs(dirs: string[], onChange: () => Promise<boolean | void> | boolean | void, opts: WatchOptions = {}): Watcher {
  const debounceMs = opts.debounceMs ?? 100;
  const maxWaitMs = opts.maxWaitMs ?? 1000;
  const pollMs = opts.pollMs ?? 1000;
  const watchers: FSWatcher[] = [];
  let timer: ReturnType<typeof setTimeout> | null = null;
  let running = false;
  let again = false;
  let closed = false;
  /** The digest of everything watched; null while the process is out of descriptors (it cannot tell). */
  const print = (): string | null => watchPrint(dirs, opts.files?.() ?? []);
  let last = print() ?? "";

  const run = async (): Promise<void> => {
    if (closed) return;
    if (running) {
      again = true;
      return;
    }
    running = true;
    try {
      last = print() ?? "";
      if ((await onChange()) === false) last = ""; // not done: the next poll runs it again
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

  const listen = (target: string, recursive: boolean, onEvent: (name: string | null) => void): FSWatcher | null => {
    try {
      const w = watch(target, { recursive }, (_event, name) => onEvent(name === null || name === undefined ? null : String(name)));
      w.on("error", () => {});
      return w;
    } catch {
      return null; // not watchable (gone, permissions): the poll still covers it
    }
  };
  const own = new Map<string, FSWatcher | null>();
  /** Watch `d` itself (again: a folder renamed over or a swapped symlink is a new inode to watch). */
  const watchOwn = (d: string): void => {
    own.get(d)?.close();
    own.set(d, listen(d, true, () => schedule()));
  };
  for (const d of dirs) {
    watchOwn(d);
    // the parent, shallow, for the directory's own entry: catches it being renamed over
    const parent = dirname(d);
    const w = listen(parent, false, (name) => {
      if (!concernsTarget(d, name)) return opts.onIgnored?.(parent, name!);
      if (!closed) watchOwn(d);
      schedule();
    });
    if (w !== null) watchers.push(w);
  }

  const base = opts.baseline;
  if (base !== undefined && (base.print === null || watchPrint(dirs, base.files) !== base.print)) schedule();

  const poll = setInterval(() => {
    if (running || timer !== null) return;
    const now = print();
    if (now !== null && now !== last) schedule(); // out of descriptors: asked again at the next poll
  }, pollMs);

  return {
    close() {
      closed = true;
      clearInterval(poll);
      if (timer !== null) clearTimeout(timer);
      for (const w of watchers) w.close();
      for (const w of own.values()) w?.close();
    },
  };
}
