// Reads configuration directories and mounted secret volumes into memory.
// The only file-system code of the control plane; everything after is pure.
import { readdirSync, readFileSync, realpathSync, statSync } from "node:fs";
import { join } from "node:path";
import type { Finding } from "../snapshot/types.ts";

export interface LoadedFile {
  path: string;
  text: string;
}

export interface LoadedSecret {
  name: string;
  /** The folder it was read from. */
  path: string;
  data: Record<string, string>;
}

export interface LoadedInput {
  files: LoadedFile[];
  secrets: LoadedSecret[];
  /** Directories or files that could not be read. */
  errors: Finding[];
}

const CONFIG_EXT = /\.(ya?ml|json)$/i;

function readError(path: string, err: unknown): Finding {
  const msg = err instanceof Error ? err.message : String(err);
  return { code: "GW0001", level: "Error", message: `cannot read ${path}: ${msg}`, file: path };
}

/** Sorted names in `dir` without hidden ones (`..data` and friends); [] and an error when unreadable. */
function visibleEntries(dir: string, errors: Finding[]): string[] {
  try {
    return readdirSync(dir)
      .filter((n) => !n.startsWith("."))
      .sort();
  } catch (err) {
    errors.push(readError(dir, err));
    return [];
  }
}

function isFile(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

/** `--config FILE` (as `kubectl apply -f FILE`): that file, whatever its extension. */
function readConfigFile(path: string, out: LoadedFile[], errors: Finding[]): void {
  try {
    out.push({ path, text: readFileSync(path, "utf8") });
  } catch (err) {
    errors.push(readError(path, err));
  }
}

/**
 * Every `*.yaml|*.yml|*.json` below `dir`, recursively, sorted by path. Hidden
 * entries are skipped; Kubernetes volume layouts (`file -> ..data/file`) are
 * read through their visible symlinks, so a `..data` swap shows new content.
 */
export function readConfigDir(dir: string, out: LoadedFile[], errors: Finding[], seen = new Set<string>()): void {
  let real: string;
  try {
    real = realpathSync(dir);
  } catch (err) {
    errors.push(readError(dir, err));
    return;
  }
  if (seen.has(real)) return; // symlink loop
  seen.add(real);
  for (const name of visibleEntries(dir, errors)) {
    const path = join(dir, name);
    let st;
    try {
      st = statSync(path); // follows symlinks
    } catch {
      continue; // dangling link mid-swap: the next scan sees the new state
    }
    if (st.isDirectory()) {
      readConfigDir(path, out, errors, seen);
    } else if (st.isFile() && CONFIG_EXT.test(name)) {
      readConfigFile(path, out, errors);
    }
  }
}

/** `DIR/<secret-name>/<key>`: one folder per Secret, one file per key. */
export function readSecretsDir(dir: string, out: LoadedSecret[], errors: Finding[]): void {
  for (const name of visibleEntries(dir, errors)) {
    const path = join(dir, name);
    try {
      if (!statSync(path).isDirectory()) continue;
      const data: Record<string, string> = {};
      for (const key of readdirSync(path).sort()) {
        if (key.startsWith(".")) continue;
        const kp = join(path, key);
        try {
          if (statSync(kp).isFile()) data[key] = readFileSync(kp, "utf8");
        } catch {
          // dangling during a volume swap
        }
      }
      out.push({ name, path, data });
    } catch (err) {
      errors.push(readError(path, err));
    }
  }
}

export function readInput(configDirs: string[], secretsDir: string | null): LoadedInput {
  const files: LoadedFile[] = [];
  const secrets: LoadedSecret[] = [];
  const errors: Finding[] = [];
  for (const dir of configDirs) {
    if (isFile(dir)) readConfigFile(dir, files, errors);
    else readConfigDir(dir, files, errors);
  }
  if (secretsDir !== null) readSecretsDir(secretsDir, secrets, errors);
  return { files, secrets, errors };
}
