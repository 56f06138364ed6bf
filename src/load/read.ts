// Reads configuration directories and mounted secret volumes into memory.
// The only file-system code of the control plane; everything after is pure.
import { closeSync, lstatSync, openSync, readdirSync, readFileSync, readlinkSync, readSync, realpathSync, statSync } from "node:fs";
import { join } from "node:path";
import type { Finding } from "../snapshot/types.ts";
import { Codes } from "../model/codes.ts";

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
  /** Dangling symlinks (GW0008) and files a folder layout does not take (GW0003): read around, reported as Warnings. */
  warnings: Finding[];
  /** Each `--config` argument and the files read below it (GW0007 when they yield no resource). */
  roots: { root: string; files: string[] }[];
}

const CONFIG_EXT = /\.(ya?ml|json)$/i;

/**
 * The largest configuration or secret file read (8 MiB; a ConfigMap or Secret holds
 * at most 1 MiB). A bigger file is an Error naming it, not read: parsing a 50 MB file
 * took ~1.5 GB of memory.
 */
export const MAX_FILE_BYTES = 8 * 1024 * 1024;

/**
 * Each file's text of the last read, by path, for a primary that reads the same
 * files on every reload. A file is read again every time, whole, into one reused
 * buffer, and compared byte for byte with its text of last time (encoded into the
 * same buffer): when equal, that text is the file's text (the very same string, so
 * the decode cache and the digests compare it at once) and nothing is allocated.
 * No stat is trusted (a same-size write within one mtime tick, a `..data` swap, a
 * file replaced by an editor are all seen: the bytes differ). Reading 11 MB of
 * files into new strings cost ~45 ms per reload at 10,000 VirtualServices, most of
 * it the garbage collection those allocations set off in a large heap.
 */
export class FileTexts {
  private last = new Map<string, string>();
  private next = new Map<string, string>();
  private buf = Buffer.allocUnsafe(1 << 16);

  /** Starts a read of the files: those not read again before `end` are forgotten. */
  begin(): void {
    this.next = new Map();
  }

  end(): void {
    this.last = this.next;
    this.next = new Map();
  }

  /**
   * readFileSync(path, "utf8") (`strict`: decodeText's verdict), or the text of last time when
   * the bytes are the same. Throws as readFileSync does.
   */
  read(path: string, size: number, strict = false): string | { where: string } {
    const fd = openSync(path, "r");
    let n = 0;
    try {
      if (this.buf.length < 2 * size + 5) this.grow(2 * size + 5); // the file, one byte to see its end, and room to compare (below)
      for (;;) {
        // read to the end, whatever size said (the file may have grown since)
        if (n === this.buf.length) this.grow(2 * n);
        const r = readSync(fd, this.buf, n, this.buf.length - n, null);
        if (r === 0) break;
        n += r;
      }
    } finally {
      closeSync(fd);
    }
    const prev = this.last.get(path) ?? this.next.get(path);
    let text: string | undefined;
    if (prev !== undefined && prev.length <= n) {
      // a string's UTF-8 encoding is at least as long as the string, and decoding it gives the string back;
      // 4 bytes to spare: an encoding longer than n writes more than n bytes (write stops before a character that does not fit)
      if (this.buf.length < 2 * n + 4) this.grow(2 * n + 4);
      const m = this.buf.write(prev, n, "utf8");
      if (m === n && this.buf.compare(this.buf, n, 2 * n, 0, n) === 0) text = prev;
    }
    if (text === undefined) {
      const d = strict ? decodeText(this.buf.subarray(0, n)) : this.buf.toString("utf8", 0, n);
      if (typeof d !== "string") return d;
      text = d;
    }
    this.next.set(path, text);
    return text;
  }

  private grow(size: number): void {
    const b = Buffer.allocUnsafe(size);
    this.buf.copy(b);
    this.buf = b;
  }
}

/**
 * The file's text, or an Error finding when it is above MAX_FILE_BYTES or unreadable.
 * `strict` (configuration files): the bytes must be UTF-8, or UTF-16 with its byte
 * order mark (YAML allows it; Windows PowerShell's `>` writes it); anything else is
 * an Error naming the first bad byte, not text with U+FFFD where the bytes were.
 */
function readCapped(path: string, what: string, texts: FileTexts | undefined, strict = false): { text: string } | { error: Finding } {
  try {
    const size = statSync(path).size;
    if (size > MAX_FILE_BYTES) {
      const mib = (n: number) => `${(n / 1048576).toFixed(n < 10 * 1048576 ? 1 : 0)} MiB`;
      const message = `${what} ${path} is ${mib(size)}, above the ${mib(MAX_FILE_BYTES)} limit: not read`;
      return { error: { code: Codes.FileTooLarge, level: "Error", message, file: path } };
    }
    if (texts !== undefined) {
      const t = texts.read(path, size, strict);
      if (typeof t === "string") return { text: t };
      return { error: notUtf8(what, path, t.where) };
    }
    if (!strict) return { text: readFileSync(path, "utf8") };
    const r = decodeText(readFileSync(path));
    if (typeof r === "string") return { text: r };
    return { error: notUtf8(what, path, r.where) };
  } catch (err) {
    return { error: readError(path, err) };
  }
}

function notUtf8(what: string, path: string, where: string): Finding {
  return { code: Codes.ParseError, level: "Error", message: `${what} ${path} is not UTF-8 text: ${where}: not read`, file: path };
}

const UTF8 = new TextDecoder("utf-8", { fatal: true });

/** Bytes → text: UTF-8 (a leading BOM dropped), or UTF-16 LE/BE after its BOM; else where the first bad byte is. */
export function decodeText(b: Uint8Array): string | { where: string } {
  if (b.length >= 2 && ((b[0] === 0xff && b[1] === 0xfe) || (b[0] === 0xfe && b[1] === 0xff))) {
    try {
      return new TextDecoder(b[0] === 0xff ? "utf-16le" : "utf-16be", { fatal: true }).decode(b.subarray(2));
    } catch {
      return { where: `its UTF-16 byte order mark is followed by bytes that are not UTF-16` };
    }
  }
  try {
    return UTF8.decode(b); // drops a UTF-8 BOM
  } catch {
    const at = firstBadUtf8(b);
    let line = 1;
    let start = 0;
    for (let i = 0; i < at; i++) if (b[i] === 0x0a) (line++, (start = i + 1));
    return { where: `byte 0x${b[at]!.toString(16).padStart(2, "0")} at line ${line}, byte ${at - start + 1} of the line, is not part of a UTF-8 character` };
  }
}

/** Offset of the first byte that does not belong to a well-formed UTF-8 sequence (b.length when none). */
function firstBadUtf8(b: Uint8Array): number {
  let i = 0;
  while (i < b.length) {
    const c = b[i]!;
    const n = c < 0x80 ? 1 : c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
    if (n === 0 || i + n > b.length) return i;
    for (let k = 1; k < n; k++) if ((b[i + k]! & 0xc0) !== 0x80) return i;
    // overlong 3/4-byte forms, surrogates, above U+10FFFF
    const c1 = b[i + 1]!;
    if ((c === 0xe0 && c1 < 0xa0) || (c === 0xed && c1 > 0x9f) || (c === 0xf0 && c1 < 0x90) || (c === 0xf4 && c1 > 0x8f)) return i;
    i += n;
  }
  return b.length;
}

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

/**
 * A symlink whose target does not exist: a Warning naming both. Inside a container
 * this is the usual cause of an empty configuration (a folder of links mounted
 * without their targets). Transient only for a key removed from a volume.
 */
function danglingLink(path: string, warnings: Finding[]): void {
  let target: string;
  try {
    if (!lstatSync(path).isSymbolicLink()) return;
    target = readlinkSync(path);
  } catch {
    return; // gone altogether: nothing to report
  }
  warnings.push({
    code: Codes.DanglingSymlink,
    level: "Warning",
    message: `${path} is a symlink to ${target}, which does not exist: skipped (a folder of links mounted into a container without their targets?)`,
    file: path,
  });
}

function isFile(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

/** `--config FILE` (as `kubectl apply -f FILE`): that file, whatever its extension. */
function readConfigFile(path: string, out: LoadedFile[], errors: Finding[], texts?: FileTexts): void {
  const r = readCapped(path, "configuration file", texts, true);
  if ("error" in r) errors.push(r.error);
  else out.push({ path, text: r.text });
}

/**
 * Every `*.yaml|*.yml|*.json` below `dir`, recursively, sorted by path. Hidden
 * entries are skipped; Kubernetes volume layouts (`file -> ..data/file`) are
 * read through their visible symlinks, so a `..data` swap shows new content.
 */
export function readConfigDir(dir: string, out: LoadedFile[], errors: Finding[], seen = new Set<string>(), warnings: Finding[] = [], texts?: FileTexts): void {
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
      danglingLink(path, warnings);
      continue;
    }
    if (st.isDirectory()) {
      readConfigDir(path, out, errors, seen, warnings, texts);
    } else if (st.isFile() && CONFIG_EXT.test(name)) {
      readConfigFile(path, out, errors, texts);
    }
  }
}

/** `DIR/<secret-name>/<key>`: one folder per Secret, one file per key. A file directly in DIR is a warning. */
export function readSecretsDir(dir: string, out: LoadedSecret[], errors: Finding[], warnings: Finding[] = [], texts?: FileTexts): void {
  for (const name of visibleEntries(dir, errors)) {
    const path = join(dir, name);
    let st;
    try {
      st = statSync(path);
    } catch {
      danglingLink(path, warnings);
      continue;
    }
    try {
      if (!st.isDirectory()) {
        const message = `${path} is a file directly in --secrets-dir: ignored; a Secret's keys are read from DIR/<secret-name>/<key> (a Secret volume's layout), e.g. ${join(dir, "<secret-name>", name)}`;
        warnings.push({ code: Codes.SecretFileOutsideFolder, level: "Warning", message, file: path });
        continue;
      }
      const data: Record<string, string> = {};
      for (const key of readdirSync(path).sort()) {
        if (key.startsWith(".")) continue;
        const kp = join(path, key);
        try {
          if (!statSync(kp).isFile()) continue;
          const r = readCapped(kp, "secret file", texts);
          if ("error" in r) errors.push(r.error);
          else data[key] = r.text;
        } catch {
          danglingLink(kp, warnings);
        }
      }
      out.push({ name, path, data });
    } catch (err) {
      errors.push(readError(path, err));
    }
  }
}

/** The configuration and secrets; `texts` (a primary's, kept between reloads) gives an unchanged file its text of last time. */
export function readInput(configDirs: string[], secretsDir: string | null, texts?: FileTexts): LoadedInput {
  const files: LoadedFile[] = [];
  const secrets: LoadedSecret[] = [];
  const errors: Finding[] = [];
  const warnings: Finding[] = [];
  const roots: LoadedInput["roots"] = [];
  texts?.begin();
  for (const dir of configDirs) {
    const before = files.length;
    if (isFile(dir)) readConfigFile(dir, files, errors, texts);
    else readConfigDir(dir, files, errors, new Set(), warnings, texts);
    roots.push({ root: dir, files: files.slice(before).map((f) => f.path) });
  }
  if (secretsDir !== null) readSecretsDir(secretsDir, secrets, errors, warnings, texts);
  texts?.end();
  return { files, secrets, errors, warnings, roots };
}

/**
 * GW0007: a `--config` argument below which no file yields a resource gangway reads
 * (no file at all, only dangling links, only kinds that are skipped). It serves
 * nothing, yet would report ready: say so.
 */
export function emptyRootFindings(input: LoadedInput, resourceFiles: Iterable<string>): Finding[] {
  const used = new Set(resourceFiles);
  const out: Finding[] = [];
  for (const { root, files } of input.roots) {
    if (files.some((f) => used.has(f))) continue;
    if (input.errors.some((e) => e.file === root)) continue; // unreadable: already an Error
    const why =
      files.length === 0
        ? "no *.yaml, *.yml or *.json file was read"
        : `${files.length} file${files.length === 1 ? "" : "s"} read, no kind gangway serves in ${files.length === 1 ? "it" : "them"}`;
    out.push({ code: Codes.ConfigYieldsNothing, level: "Warning", message: `--config ${root} yields no resources: ${why}`, file: root });
  }
  return out;
}
