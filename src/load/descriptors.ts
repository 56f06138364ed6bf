// A file operation that failed because the process (EMFILE) or the system (ENFILE)
// is out of file descriptors: the file itself is fine, and a later try will read it.
// The watcher takes such a failed listing as no change; a load that fails so is
// refused and tried again (src/primary/serve.ts).

/** An error (its `code`) or an error's text names EMFILE or ENFILE. */
export function outOfDescriptors(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  if (code === "EMFILE" || code === "ENFILE") return true;
  return /\bE[MN]FILE\b/.test(typeof err === "string" ? err : String(err));
}
