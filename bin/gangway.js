#!/usr/bin/env node
// `npx gangway ...` (the package's bin): runs the gateway, src/main.ts, on the Bun that
// `npm ci` installed (node_modules/bun), so it works without Bun on PATH. Signals are
// passed on (SIGHUP reloads, SIGTERM drains); the exit code is the gateway's.
import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import { constants } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
let bun = "bun";
try {
  bun = join(dirname(createRequire(import.meta.url).resolve("bun/package.json")), "bin", "bun.exe");
} catch {
  // no node_modules/bun: a Bun on PATH, if any
}
const child = spawn(bun, [join(root, "src", "main.ts"), ...process.argv.slice(2)], { stdio: "inherit" });
for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"]) process.on(sig, () => child.kill(sig));
child.on("error", (e) => {
  process.stderr.write(`gangway: cannot run Bun (${bun}): ${e.message}; run npm ci in ${root} first\n`);
  process.exit(1);
});
child.on("exit", (code, signal) => process.exit(code ?? 128 + (constants.signals[signal] ?? 0)));
